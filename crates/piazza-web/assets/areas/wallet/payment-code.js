// <pz-payment-code>: the one-use code a merchant's till scans, drawn as a
// QR code (by the server) and a Code 128 barcode (here), with its digits.
// A code is valid for a minute and bound to this device; the element asks
// for a new one before it lapses and right after a merchant used it.
// Showing a code takes the payment PIN: the server lets this device leave
// it out for a few minutes after it was typed here, and past that the
// element asks for it again rather than keep it anywhere.

import { h, replace } from '../../lib/dom.js';
import { t } from '../../lib/i18n.js';
import { merchantOf } from './alerts.js';
import { code128cSvg } from './code128.js';
import { failureText, moneyText, pinField, readPin } from './ui.js';

/** Ask for the next code this long before the current one lapses. */
const REFRESH_BEFORE_EXPIRY_MS = 10000;
/** Never sooner than this after the last one (a clock far off the server's). */
const REFRESH_MIN_MS = 5000;
/** A page left open renews its code this many times (about half an hour), then stops. */
const RENEWALS_MAX = 30;

export class PaymentCode extends HTMLElement {
  /** @type {import('./state.js').WalletState} given before it is connected */ wallet;
  connectedCallback() {
    this.alive = true;
    this.renewals = 0;
    this.className = 'card payment-code';
    this.setAttribute('role', 'region');
    this.setAttribute('aria-label', t('wallet.code_title'));
    this.status = h('p', { class: 'status', role: 'status', 'aria-live': 'polite' }, t('wallet.loading'));
    this.figure = h('div', { class: 'code-figure' });
    replace(this, h('p', { class: 'hint' }, t('wallet.code_hint')), this.figure, this.status);
    this.onPayment = (e) => this.paymentEvent(e.detail);
    this.wallet.addEventListener('payment', this.onPayment);
    this.next();
  }

  disconnectedCallback() {
    this.alive = false;
    clearTimeout(this.timer);
    this.wallet.removeEventListener('payment', this.onPayment);
    if (this.imageUrl) URL.revokeObjectURL(this.imageUrl);
  }

  /** The next code: without the PIN first (this device may have typed it lately). */
  async next(pin = null) {
    clearTimeout(this.timer);
    if (!this.alive) return;
    let issued;
    try {
      issued = await this.wallet.paymentCode(pin);
    } catch (error) {
      if (!this.alive) return;
      this.dataset.code = '';
      if (error.code === 'pin_required' || error.code === 'wrong_pin') {
        this.askPin(error.code === 'wrong_pin' ? failureText(error) : '');
        return;
      }
      this.status.textContent = failureText(error);
      this.figure.replaceChildren(this.renewButton());
      return;
    }
    if (!this.alive) return;
    this.show(issued);
    this.renewals += 1;
    if (this.renewals > RENEWALS_MAX) {
      this.timer = setTimeout(() => this.lapse(), Math.max(0, Date.parse(issued.expires_at) - Date.now()));
      return;
    }
    const left = Date.parse(issued.expires_at) - Date.now();
    const delay = Math.max(REFRESH_MIN_MS, (Number.isFinite(left) ? left : 0) - REFRESH_BEFORE_EXPIRY_MS);
    this.timer = setTimeout(() => this.next(), delay);
  }

  show(issued) {
    this.code = issued.code;
    this.dataset.code = issued.code;
    // The server's SVG, as an image from a blob: URL: never markup in this page.
    if (this.imageUrl) URL.revokeObjectURL(this.imageUrl);
    this.imageUrl = URL.createObjectURL(new Blob([issued.qr_svg], { type: 'image/svg+xml' }));
    const grouped = issued.code.replace(/(\d{4})(?=\d)/g, '$1 ');
    replace(
      this.figure,
      h('img', { class: 'qr', src: this.imageUrl, alt: t('wallet.code_qr_alt'), width: 220, height: 220, 'data-testid': 'payment-code-qr' }),
      code128cSvg(issued.code, { label: t('wallet.code_barcode_alt') }),
      h('code', { class: 'code-digits', translate: 'no', 'data-testid': 'payment-code-digits' }, grouped),
    );
    this.status.textContent = t('wallet.code_valid');
  }

  /** The PIN, asked in place of the code; `problem` says why it is asked again. */
  askPin(problem) {
    const pin = pinField();
    const error = h('p', { class: 'error', role: 'alert' }, problem);
    const submit = h('button', { type: 'submit', class: 'primary' }, t('wallet.code_show'));
    const form = h('form', { class: 'code-pin-form', 'data-testid': 'code-pin-form' }, pin.element, error, submit);
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      try {
        const typed = readPin(pin.input);
        submit.disabled = true;
        this.renewals = 0;
        this.next(typed);
      } catch (failure) {
        error.textContent = failureText(failure);
      }
    });
    this.figure.replaceChildren(form);
    this.status.textContent = t('wallet.code_pin_hint');
    pin.input.focus();
  }

  lapse() {
    this.dataset.code = '';
    this.figure.replaceChildren(this.renewButton());
    this.status.textContent = t('wallet.code_expired');
  }

  renewButton() {
    return h(
      'button',
      { type: 'button', class: 'primary', onclick: () => ((this.renewals = 0), this.next()) },
      t('wallet.code_renew'),
    );
  }

  paymentEvent(event) {
    const said = { amount: moneyText(event.amount_minor), name: merchantOf(event) };
    if (event.type === 'payment.sent') {
      this.status.textContent = t('wallet.code_paid', said);
      // The code was used: it cannot pay again, so show a fresh one.
      this.renewals = 0;
      this.next().then(() => {
        if (this.dataset.code) this.status.textContent = t('wallet.code_paid', said);
      });
    } else if (event.type === 'payment.confirmation_requested') {
      this.status.textContent = t('wallet.code_needs_confirmation', said);
    }
  }
}

customElements.define('pz-payment-code', PaymentCode);
