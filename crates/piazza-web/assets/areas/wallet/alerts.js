// Alerts that money left the wallet, or that the PIN is being reset,
// shown on top of whatever page is open: a merchant collecting from a
// payment code must never go unnoticed (a stolen device token is how a
// wallet gets emptied). They stay until dismissed, so a glance away does
// not miss one; the oldest go once there are too many.

import { h } from '../../lib/dom.js';
import { formatDateTime, languageEvents, t } from '../../lib/i18n.js';
import { moneyText } from './ui.js';

/** Alerts shown at once; older ones are dropped past it. */
const ALERTS_MAX = 4;

/** The alert area, created on first use, outside the shell so pages never replace it. */
function region() {
  let area = document.querySelector('.money-alerts');
  if (!area) {
    area = h('div', { class: 'money-alerts', role: 'region', 'aria-label': t('wallet.alerts_label'), 'data-testid': 'money-alerts' });
    document.body.append(area);
  }
  return area;
}

/**
 * A local date and time for an RFC 3339 string.
 * @param {string} iso
 */
export function localTime(iso) {
  return formatDateTime(iso) || iso;
}

/** What each alert on screen says, told again in a new language. */
const tellers = new WeakMap();

languageEvents.addEventListener('change', () => {
  const area = document.querySelector('.money-alerts');
  if (!area) return;
  area.setAttribute('aria-label', t('wallet.alerts_label'));
  for (const alert of area.children) {
    const tell = tellers.get(alert);
    if (tell) alert.querySelector('p').textContent = tell();
    alert.querySelector('.alert-dismiss')?.setAttribute('aria-label', t('wallet.alert_dismiss'));
  }
});

/**
 * @param {string} kind
 * @param {() => string} tell the alert's text in the language in use
 * @param {Record<string, string>} [dataset]
 */
function show(kind, tell, dataset = {}) {
  const area = region();
  const dismiss = h('button', { type: 'button', class: 'alert-dismiss', 'aria-label': t('wallet.alert_dismiss') }, '×');
  const alert = h('div', { class: `money-alert ${kind}`, role: 'alert', 'data-testid': 'money-alert', dataset }, h('p', {}, tell()), dismiss);
  tellers.set(alert, tell);
  dismiss.addEventListener('click', () => alert.remove());
  area.append(alert);
  while (area.children.length > ALERTS_MAX) area.firstElementChild.remove();
  return alert;
}

/** The merchant's name in an event, or a stand-in for entries logged before it was kept. */
function merchantOf(event) {
  return event.merchant_name || t('wallet.a_merchant');
}

/** A payment left the wallet (a collection by a till, or a code scanned here). */
export function paymentAlert(event) {
  const text = () => t('wallet.alert_paid', { amount: moneyText(event.amount_minor), name: merchantOf(event) });
  return show('paid', text, { type: event.type, paymentId: event.payment_id });
}

/** A merchant asks more than may go without the PIN: the dialog follows, this says who. */
export function confirmationAlert(event) {
  const text = () => t('wallet.alert_asked', { amount: moneyText(event.amount_minor), name: merchantOf(event) });
  return show('asked', text, { type: event.type, paymentId: event.payment_id });
}

/** A forgotten PIN's reset started: money is held until it takes effect. */
export function pinResetAlert(event) {
  const text = () => t('wallet.alert_pin_reset', { time: localTime(event.effective_at) });
  return show('security', text, { type: event.type });
}

export { merchantOf };
