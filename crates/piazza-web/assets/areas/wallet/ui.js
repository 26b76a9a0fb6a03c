// Pieces the wallet's views and chat cards share: money as text, amount and
// PIN fields, and forms in the design system's dialogs.

import { h } from '../../lib/dom.js';
import { actions, openDialog } from '../../lib/ui.js';
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
 * A form in a dialog (the design system's `openDialog`): its fields, an
 * error line, Cancel and the submit button. `submit(close)` runs on
 * submit with the button disabled; what it throws is shown in the error
 * line (its catalog text). Returns what `openDialog` returns.
 * @param {{ title: string, testid: string, fields: (Node | null)[], submitLabel: string,
 *   submit: (close: () => void) => Promise<void>, modalOnly?: boolean, extra?: Node | null,
 *   submitTestid?: string }} options
 */
export function formDialog({ title, testid, fields, submitLabel, submit, modalOnly = false, extra = null, submitTestid = 'dialog-submit' }) {
  return openDialog({
    title,
    testid,
    modalOnly,
    body: (close) => {
      const error = h('p', { class: 'error', role: 'alert' });
      const button = h('button', { type: 'submit', class: 'primary', 'data-testid': submitTestid }, submitLabel);
      const form = h(
        'form',
        { class: 'dialog-form' },
        fields,
        error,
        extra,
        actions(h('button', { type: 'button', onclick: close }, t('ui.cancel')), button),
      );
      form.addEventListener('submit', async (e) => {
        e.preventDefault();
        error.textContent = '';
        button.disabled = true;
        try {
          await submit(close);
        } catch (failure) {
          error.textContent = failureText(failure);
        } finally {
          button.disabled = false;
        }
      });
      return form;
    },
  });
}

/**
 * Money leaving the wallet with the PIN, in a dialog only an explicit
 * choice closes: the amount large, what it pays for (`lines`), the PIN,
 * and `pay(pin)` on submit (its failure is said in the dialog, which
 * stays for another try). What the wallet's own confirmations show,
 * offered to other areas (a shop's order).
 * @param {{ title: string, amountMinor: number, lines: (Node | string | null)[], testid: string,
 *   pay: (pin: string) => Promise<void>, submitLabel?: string }} options
 */
export function pinPaymentDialog({ title, amountMinor, lines, testid, pay, submitLabel = t('wallet.pay') }) {
  const pin = pinField();
  return formDialog({
    title,
    testid,
    modalOnly: true,
    fields: [
      h('p', { class: 'confirm-amount', 'data-testid': 'pin-dialog-amount' }, moneyText(amountMinor)),
      ...lines.map((line) => (typeof line === 'string' ? h('p', {}, line) : line)),
      pin.element,
    ],
    submitLabel,
    submit: async (close) => {
      await pay(readPin(pin.input));
      close();
    },
  });
}
