// Pieces the wallet's views and chat cards share: money as text, amount and
// PIN fields, and modal dialogs.

import { h } from '../../lib/dom.js';
import { formatMoney, t } from '../../lib/i18n.js';
import { problemText } from '../auth/index.js';
import { CURRENCY, DECIMALS, isPin, parseMajor } from './money.js';

/**
 * Money for the eye, from integer minor units: "¥12.34", "12,34 ¥";
 * `signed` writes "+" before money in (a statement line).
 * @param {number} minor
 * @param {{ signed?: boolean, currency?: string }} [options]
 */
export function moneyText(minor, { signed = false, currency = CURRENCY } = {}) {
  return formatMoney(minor, { currency, signed, decimals: DECIMALS });
}

let fieldCount = 0;

/** A labelled amount input (text, not type=number: no float parsing, any locale's comma). */
export function amountField(labelKey, { name = 'amount', required = true, value = '' } = {}) {
  fieldCount += 1;
  const inputId = `w-${name}-${fieldCount}`;
  const input = h('input', {
    id: inputId,
    name,
    inputmode: 'decimal',
    autocomplete: 'off',
    required,
    value,
    maxlength: 16,
    placeholder: formatMoney(0, { decimals: DECIMALS }).replace(/[^\d.,]/g, ''),
    'data-testid': `${name}-input`,
  });
  return { input, element: h('div', { class: 'field' }, h('label', { for: inputId }, t(labelKey)), input) };
}

/** The amount typed, in minor units, or throws an Error carrying a catalog key. */
export function readAmount(input) {
  const parsed = parseMajor(input.value);
  if (parsed.error) throw Object.assign(new Error(t(parsed.error)), { catalogKey: parsed.error });
  return parsed.minor;
}

/** A six-digit PIN input: masked, digits only, never autofilled as a password. */
export function pinField(labelKey = 'wallet.pin') {
  fieldCount += 1;
  const inputId = `w-pin-${fieldCount}`;
  const input = h('input', {
    id: inputId,
    name: 'pin',
    type: 'password',
    inputmode: 'numeric',
    autocomplete: 'off',
    pattern: '[0-9]{6}',
    minlength: 6,
    maxlength: 6,
    required: true,
    'data-testid': 'pin-input',
  });
  return { input, element: h('div', { class: 'field' }, h('label', { for: inputId }, t(labelKey)), input) };
}

export function readPin(input) {
  if (!isPin(input.value)) throw Object.assign(new Error(t('wallet.pin_format')), { catalogKey: 'wallet.pin_format' });
  return input.value;
}

/** What to show for a failure: a typed-input error or a problem from the server. */
export function failureText(error) {
  if (error?.catalogKey) return t(error.catalogKey);
  if (error?.status === 0) return t('error.network');
  return problemText(error);
}

/**
 * A modal <dialog> (focus moves in, Escape closes, focus returns to where it
 * was), removed from the page when closed. `build(close)` returns its body.
 */
export function openDialog(titleKey, build, { testid = null, params = {} } = {}) {
  fieldCount += 1;
  const titleId = `dialog-title-${fieldCount}`;
  const opener = document.activeElement;
  const dialog = h('dialog', { class: 'wallet-dialog', 'aria-labelledby': titleId, 'data-testid': testid });
  const close = () => dialog.close();
  dialog.addEventListener('close', () => {
    dialog.remove();
    if (opener?.isConnected) opener.focus();
  });
  dialog.append(h('h2', { id: titleId }, t(titleKey, params)), build(close));
  document.body.append(dialog);
  dialog.showModal();
  return dialog;
}

/** A "Cancel" button for a dialog form. */
export function cancelButton(close) {
  return h('button', { type: 'button', onclick: close }, t('wallet.cancel'));
}
