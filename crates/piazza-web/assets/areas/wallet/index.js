// The wallet area. Its page is laid out like a wallet app: the balance and
// the four things people do (top up, pay, show the payment code, read the
// statement) first, then the statement itself; the PIN form only while
// there is no PIN (a dialog changes or resets it), top-ups in a dialog.
// Other pages: the payment code a till scans (payment-code.js), paying a
// merchant by scanning or pasting its code and a merchant's own page
// (merchants.js). Money in chats (transfers, red packets) is chat.js;
// every payment that leaves the wallet, and a PIN reset, is announced over
// any page (alerts.js), and a collection that needs the buyer's PIN pops
// up its dialog here.

import { h, icon, replace } from '../../lib/dom.js';
import { formatDateTime, t } from '../../lib/i18n.js';
import { actions, emptyState, listRow, openDialog } from '../../lib/ui.js';
import { confirmationAlert, merchantOf, paymentAlert, pinResetAlert } from './alerts.js';
import { registerChatExtensions } from './chat.js';
import { merchantView, payView } from './merchants.js';
import './payment-code.js';
import { openPinDialog, pinBanners, onPinState, setPinCard } from './pin.js';
import { WalletState } from './state.js';
import { openTopUp } from './topup.js';
import { failureText, moneyText, pinField, readPin } from './ui.js';

/** @param {any} session */
export function walletOf(session) {
  if (!session.state.wallet) session.state.wallet = new WalletState(session);
  return session.state.wallet;
}

registerChatExtensions(walletOf);

export const area = {
  id: 'wallet',
  nav: { label: 'nav.wallet', href: '#/wallet', icon: 'wallet' },
  routes: [
    { path: '/wallet', view: walletView },
    { path: '/wallet/code', view: codeView },
    { path: '/wallet/pay', view: (ctx) => payView(ctx, walletOf(ctx.session)) },
    { path: '/wallet/merchant', view: (ctx) => merchantView(ctx, walletOf(ctx.session)) },
  ],
  attach(session) {
    const wallet = walletOf(session);
    wallet.refresh();
    const current = () => session.state.wallet === wallet;
    wallet.addEventListener('payment', (e) => {
      if (!current()) return;
      if (e.detail.type === 'payment.sent') paymentAlert(e.detail);
      if (e.detail.type === 'payment.confirmation_requested') {
        confirmationAlert(e.detail);
        askConfirmation(wallet, e.detail);
      }
    });
    wallet.addEventListener('pin-event', (e) => {
      if (current() && e.detail.type === 'wallet.pin_reset') pinResetAlert(e.detail);
    });
  },
};

/** The balance, kept current while it is on the page. */
export class Balance extends HTMLElement {
  /** @type {any} the account's session, given before it is connected */ session;
  connectedCallback() {
    this.wallet = this.session.state.wallet;
    this.onBalance = () => this.render();
    this.wallet.addEventListener('balance', this.onBalance);
    this.setAttribute('role', 'status');
    this.setAttribute('aria-live', 'polite');
    this.render();
    this.wallet.refresh();
  }

  disconnectedCallback() {
    this.wallet.removeEventListener('balance', this.onBalance);
  }

  render() {
    const known = this.wallet.balance !== null;
    this.dataset.balanceMinor = known ? String(this.wallet.balance) : '';
    replace(
      this,
      h('span', { class: 'balance-label' }, t('wallet.balance')),
      h('strong', { class: 'balance-amount', 'data-testid': 'wallet-balance' }, known ? moneyText(this.wallet.balance) : '…'),
    );
  }
}
customElements.define('pz-balance', Balance);

/** @param {any} session */
export function balanceElement(session) {
  const element = document.createElement('pz-balance');
  Object.assign(element, { session });
  element.className = 'balance';
  return element;
}

/** One of the wallet's main actions: an icon over a short label. */
function walletAction(iconName, labelKey, testid, target) {
  const content = [h('span', { class: 'wallet-action-icon' }, icon(iconName)), h('span', { class: 'wallet-action-label' }, t(labelKey))];
  return typeof target === 'string'
    ? h('a', { class: 'wallet-action', href: target, 'data-testid': testid }, content)
    : h('button', { type: 'button', class: 'wallet-action', onclick: target, 'data-testid': testid }, content);
}

function walletView(ctx) {
  const { session } = ctx;
  const wallet = walletOf(session);
  const statement = statementSection(wallet);
  const hero = h(
    'section',
    { class: 'wallet-hero', 'aria-labelledby': 'wallet-title' },
    h('h1', { id: 'wallet-title', class: 'sr-only' }, t('wallet.title')),
    balanceElement(session),
    h(
      'nav',
      { class: 'wallet-actions', 'aria-label': t('wallet.links_label') },
      walletAction('plus', 'wallet.action.top_up', 'wallet-topup', () => openTopUp(wallet)),
      walletAction('scan', 'wallet.action.pay', 'wallet-pay-link', '#/wallet/pay'),
      walletAction('qr', 'wallet.action.code', 'wallet-code-link', '#/wallet/code'),
      walletAction('list', 'wallet.action.statement', 'wallet-statement-link', () => {
        statement.scrollIntoView({ behavior: 'smooth', block: 'start' });
        statement.querySelector('h2')?.focus({ preventScroll: true });
      }),
    ),
  );
  return h('div', { class: 'page wallet-page' }, hero, pinBanners(wallet), setPinCard(wallet), walletTools(wallet), statement);
}

/** The less frequent: the PIN (once set) and a merchant's own page. */
function walletTools(wallet) {
  const pin = h(
    'button',
    { type: 'button', class: 'tool', 'data-testid': 'wallet-pin', onclick: () => openPinDialog(wallet) },
    icon('lock'),
    h('span', {}, t('wallet.pin_title')),
  );
  const tools = h(
    'div',
    { class: 'wallet-tools' },
    pin,
    h('a', { class: 'tool', href: '#/wallet/merchant', 'data-testid': 'wallet-merchant-link' }, icon('store'), h('span', {}, t('wallet.merchant_title'))),
  );
  return onPinState(wallet, tools, () => (pin.hidden = !wallet.pin?.set));
}

const KIND_ICONS = {
  topup: 'plus',
  withdrawal: 'back',
  transfer_sent: 'transfer',
  transfer_accepted: 'transfer',
  transfer_declined: 'transfer',
  transfer_expired: 'transfer',
  red_packet_created: 'red-packet',
  red_packet_claimed: 'red-packet',
  red_packet_refunded: 'red-packet',
  merchant_payment: 'store',
  merchant_refund: 'store',
  order_paid: 'cart',
  order_refunded: 'cart',
  order_released: 'store',
};

/** A statement line's kind in words (a kind this client does not know says so). */
function kindText(kind) {
  const key = `wallet.kind.${kind}`;
  const text = t(key);
  return text === key ? t('wallet.kind.other') : text;
}

function statementRow(entry) {
  const parts = listRow({
    avatar: h('span', { class: `statement-icon kind-${KIND_ICONS[entry.kind] ?? 'list'}` }, icon(KIND_ICONS[entry.kind] ?? 'list')),
    title: kindText(entry.kind),
    subtitle: formatDateTime(entry.at),
    trailing: h(
      'span',
      { class: 'statement-amounts' },
      h('span', { class: `amount ${entry.amount_minor < 0 ? 'out' : 'in'}` }, moneyText(entry.amount_minor, { signed: true })),
      h('small', { class: 'after' }, t('wallet.balance_after', { amount: moneyText(entry.balance_after_minor) })),
    ),
    dataset: { kind: entry.kind, amountMinor: String(entry.amount_minor) },
  });
  return parts.item;
}

function statementSection(wallet) {
  const list = h('ul', { class: 'rows-list statement', 'aria-labelledby': 'statement-title', 'data-testid': 'statement' });
  const more = h('button', { type: 'button', hidden: true }, t('wallet.load_more'));
  const error = h('p', { class: 'error', role: 'alert' });
  const section = h(
    'section',
    { class: 'statement-section' },
    h('h2', { id: 'statement-title', class: 'section-title', tabindex: '-1' }, t('wallet.statement')),
    list,
    error,
    actions(more),
  );
  let cursor = null;
  let ticket = 0;

  async function load(older) {
    const mine = (ticket += older ? 0 : 1);
    error.textContent = '';
    try {
      const page = await wallet.statement(older ? cursor : null);
      if (mine !== ticket) return;
      cursor = page.cursor;
      const rows = page.entries.map(statementRow);
      if (older) list.append(...rows);
      else replace(list, rows.length ? rows : emptyState({ iconName: 'list', title: t('wallet.statement_empty'), text: t('wallet.statement_empty_hint') }));
      more.hidden = !cursor;
    } catch (failure) {
      error.textContent = failureText(failure);
    }
  }

  more.addEventListener('click', () => load(true));
  let timer = 0;
  // Every movement changes the balance (not every one is logged as a
  // wallet event: an accepted transfer is logged as the transfer's).
  const onBalance = () => {
    if (!section.isConnected) return wallet.removeEventListener('balance', onBalance);
    clearTimeout(timer);
    timer = window.setTimeout(() => load(false), 150);
  };
  wallet.addEventListener('balance', onBalance);
  load(false);
  return section;
}

function codeView(ctx) {
  const code = document.createElement('pz-payment-code');
  Object.assign(code, { wallet: walletOf(ctx.session) });
  return h(
    'section',
    { class: 'page wallet-page', 'aria-labelledby': 'code-title' },
    h('p', {}, h('a', { href: '#/wallet' }, t('wallet.back'))),
    h('h1', { id: 'code-title' }, t('wallet.code_title')),
    balanceElement(ctx.session),
    code,
  );
}

/** A merchant asked for more than may go without the PIN: the buyer confirms or declines. */
async function askConfirmation(wallet, event) {
  const paymentId = event.payment_id;
  let payment;
  try {
    payment = await wallet.payment(paymentId);
  } catch {
    return;
  }
  if (payment.status !== 'needs_confirmation') return;
  if (document.querySelector(`dialog[data-payment-id="${CSS.escape(paymentId)}"]`)) return;
  const pin = pinField();
  const error = h('p', { class: 'error', role: 'alert' });
  const { dialog } = openDialog({
    title: t('wallet.confirm_title'),
    testid: 'confirm-dialog',
    // Only an explicit choice: a stray click must not drop a payment.
    modalOnly: true,
    body: (close) => {
      const confirm = h('button', { type: 'submit', class: 'primary', 'data-testid': 'confirm-payment' }, t('wallet.confirm_pay'));
      const decline = h('button', { type: 'button', class: 'danger', 'data-testid': 'decline-payment' }, t('wallet.decline'));
      const form = h(
        'form',
        { class: 'dialog-form' },
        h('p', { class: 'confirm-amount' }, moneyText(payment.amount_minor)),
        h('p', { 'data-testid': 'confirm-text' }, t('wallet.confirm_text', { amount: moneyText(payment.amount_minor), name: merchantOf(event) })),
        pin.element,
        error,
        actions(decline, confirm),
      );
      const act = async (call) => {
        error.textContent = '';
        confirm.disabled = decline.disabled = true;
        try {
          await call();
          close();
        } catch (failure) {
          error.textContent = failureText(failure);
          // A payment that lapsed or was decided elsewhere cannot be retried.
          if (failure.code === 'payment_not_pending') decline.replaceWith(h('button', { type: 'button', onclick: close }, t('ui.close')));
        } finally {
          confirm.disabled = decline.disabled = false;
        }
      };
      form.addEventListener('submit', (e) => {
        e.preventDefault();
        act(() => wallet.confirmPayment(paymentId, readPin(pin.input)));
      });
      decline.addEventListener('click', () => act(() => wallet.declinePayment(paymentId)));
      return form;
    },
  });
  dialog.dataset.paymentId = paymentId;
}
