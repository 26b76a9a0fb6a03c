// Merchants: open one, show its code (static, or with an amount) to print
// or to copy, and see what it took in; and the other side, paying a
// merchant by pasting its code or scanning it with the camera.

import { h, replace } from '../../lib/dom.js';
import { t } from '../../lib/i18n.js';
import { canScan, scanButton } from '../../lib/scanner.js';
import { MoneyAction, parseMajor } from './money.js';
import { amountField, failureText, moneyText, pinField, readAmount, readPin } from './ui.js';

const NAME_MAX = 25;
const CITY_MAX = 15;
/** A pasted code longer than this is not an EMVCo code (they stop at 512). */
const PAYLOAD_MAX = 512;

/** The fields of an EMVCo code that a buyer should see before paying. */
export function readMerchantCode(payload) {
  const text = String(payload ?? '').trim();
  const fields = new Map();
  let at = 0;
  while (at < text.length) {
    const tag = text.slice(at, at + 2);
    const length = text.slice(at + 2, at + 4);
    if (!/^\d\d$/.test(tag) || !/^\d\d$/.test(length)) return null;
    const value = text.slice(at + 4, at + 4 + Number(length));
    if (value.length !== Number(length)) return null;
    fields.set(tag, value);
    at += 4 + Number(length);
  }
  if (!fields.has('59')) return null;
  const amount = fields.has('54') ? parseMajor(fields.get('54')).minor ?? null : null;
  return { name: fields.get('59'), amountMinor: amount };
}

/** The two forms of the merchant page: show a merchant's code, open a merchant. */
function merchantForms() {
  const name = h('input', { id: 'merchant-name', name: 'name', required: true, maxlength: NAME_MAX, autocomplete: 'organization' });
  const city = h('input', { id: 'merchant-city', name: 'city', maxlength: CITY_MAX, autocomplete: 'address-level2' });
  const createForm = h(
    'form',
    { class: 'card wallet-form no-print', 'aria-labelledby': 'merchant-new-title', 'data-testid': 'merchant-form' },
    h('h2', { id: 'merchant-new-title' }, t('wallet.merchant_new')),
    h('div', { class: 'field' }, h('label', { for: 'merchant-name' }, t('wallet.merchant_name')), name),
    h('div', { class: 'field' }, h('label', { for: 'merchant-city' }, t('wallet.merchant_city')), city),
    h('button', { type: 'submit', class: 'primary' }, t('wallet.merchant_create')),
  );
  const picker = h('select', { id: 'merchant-select', name: 'merchant' });
  const amount = amountField('wallet.merchant_amount', { name: 'merchant-amount', required: false });
  const codeForm = h(
    'form',
    { class: 'card wallet-form no-print', 'aria-labelledby': 'merchant-code-title' },
    h('h2', { id: 'merchant-code-title' }, t('wallet.merchant_code')),
    h('div', { class: 'field' }, h('label', { for: 'merchant-select' }, t('wallet.merchant_pick')), picker),
    amount.element,
    h('p', { class: 'hint' }, t('wallet.merchant_amount_hint')),
    h('button', { type: 'submit', class: 'primary', 'data-testid': 'merchant-show-code' }, t('wallet.merchant_show_code')),
  );
  return { name, city, createForm, picker, amount, codeForm };
}

/**
 * The sheet to print (or copy from): the merchant's name, the amount if
 * fixed, its QR code, its text, and what it took in.
 */
function fillSheet(sheet, { merchant, payload, imageUrl, amountMinor }) {
  const payloadText = h('code', { class: 'qr-payload', translate: 'no', 'data-testid': 'merchant-payload' }, payload);
  const copied = h('span', { class: 'status', role: 'status' });
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(payload);
      copied.textContent = t('qr.copied');
    } catch {
      getSelection()?.selectAllChildren(payloadText);
    }
  };
  sheet.hidden = false;
  replace(
    sheet,
    h('h2', { class: 'sheet-name' }, merchant.name),
    amountMinor ? h('p', { class: 'sheet-amount' }, moneyText(amountMinor)) : h('p', { class: 'hint' }, t('wallet.merchant_any_amount')),
    h('img', { class: 'qr merchant-qr', src: imageUrl, alt: t('wallet.merchant_qr_alt', { name: merchant.name }), width: 240, height: 240, 'data-testid': 'merchant-qr' }),
    h('p', { class: 'sheet-payload' }, t('wallet.merchant_payload_label'), ' ', payloadText),
    h(
      'div',
      { class: 'actions no-print' },
      h('button', { type: 'button', onclick: copy }, t('qr.copy')),
      h('button', { type: 'button', class: 'primary', onclick: () => window.print(), 'data-testid': 'merchant-print' }, t('wallet.merchant_print')),
      copied,
    ),
    h('p', { class: 'no-print merchant-balance' }, t('wallet.merchant_balance'), ' ', h('strong', { 'data-testid': 'merchant-balance' }, moneyText(merchant.balance_minor))),
  );
}

export function merchantView(_ctx, wallet) {
  const error = h('p', { class: 'error', role: 'alert' });
  const forms = merchantForms();
  const { name, city, createForm, picker, codeForm } = forms;
  const sheet = h('section', { class: 'card print-area merchant-sheet', 'aria-live': 'polite', hidden: true });
  const page = h(
    'section',
    { class: 'page wallet-page merchant-page', 'aria-labelledby': 'merchant-title' },
    h('p', { class: 'no-print' }, h('a', { href: '#/wallet' }, t('wallet.back'))),
    h('h1', { id: 'merchant-title', class: 'no-print' }, t('wallet.merchant_title')),
    error,
    codeForm,
    sheet,
    createForm,
  );
  /** The code on the sheet: its merchant and its image's blob: URL. */
  const shown = { merchantId: null, imageUrl: null };
  const showCode = () => showMerchantCode(wallet, forms, sheet, error, shown);
  followMerchantBalance(wallet, page, sheet, shown);

  createForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    error.textContent = '';
    try {
      const created = await wallet.createMerchant(name.value.trim(), city.value.trim());
      createForm.reset();
      await fillMerchantPicker(wallet, forms, created.merchant_id);
      picker.value = created.merchant_id;
      await showCode();
    } catch (failure) {
      error.textContent = failureText(failure);
    }
  });
  codeForm.addEventListener('submit', (e) => {
    e.preventDefault();
    showCode();
  });
  fillMerchantPicker(wallet, forms, null).catch((failure) => (error.textContent = failureText(failure)));
  return page;
}

/** The merchants of this browser in the code form's picker (the form hidden when none). */
async function fillMerchantPicker(wallet, { picker, codeForm }, selected) {
  const ids = wallet.merchantIds();
  codeForm.hidden = ids.length === 0;
  const views = await Promise.all(ids.map((id) => wallet.merchant(id).catch(() => null)));
  replace(
    picker,
    views.filter(Boolean).map((view) => h('option', { value: view.merchant_id, selected: view.merchant_id === selected }, view.name)),
  );
}

/** The picked merchant's code (with the amount, if one is typed) on the sheet. */
async function showMerchantCode(wallet, { picker, amount }, sheet, error, shown) {
  error.textContent = '';
  const merchantId = picker.value;
  if (!merchantId) return;
  try {
    const amountMinor = amount.input.value.trim() ? readAmount(amount.input) : null;
    const [merchant, payload, image] = await Promise.all([
      wallet.merchant(merchantId),
      wallet.merchantPayload(merchantId, amountMinor),
      wallet.merchantQrImage(merchantId, amountMinor),
    ]);
    if (shown.imageUrl) URL.revokeObjectURL(shown.imageUrl);
    shown.imageUrl = URL.createObjectURL(image);
    shown.merchantId = merchantId;
    fillSheet(sheet, { merchant, payload: payload.payload, imageUrl: shown.imageUrl, amountMinor });
  } catch (failure) {
    error.textContent = failureText(failure);
  }
}

/** What the till took in, kept current on the sheet while the page is open. */
function followMerchantBalance(wallet, page, sheet, shown) {
  const onPayment = async (e) => {
    if (!page.isConnected) return wallet.removeEventListener('payment', onPayment);
    if (e.detail.merchant_id !== shown.merchantId) return;
    try {
      const merchant = await wallet.merchant(shown.merchantId);
      const line = sheet.querySelector('[data-testid=merchant-balance]');
      if (line) line.textContent = moneyText(merchant.balance_minor);
    } catch {
      // The next payment event tries again.
    }
  };
  wallet.addEventListener('payment', onPayment);
}

/** Pays what the form says, once per definite answer (one idempotency key until then). */
async function pay(wallet, action, { payload, pin, amount, code }) {
  const body = { qr_payload: payload.value.trim(), pin: readPin(pin.input) };
  if (code?.amountMinor == null) body.amount_minor = readAmount(amount.input);
  const key = action.keyFor(JSON.stringify({ ...body, pin: null }));
  try {
    const paid = await wallet.pay(key, body);
    action.settle();
    return { paid, sum: body.amount_minor ?? code?.amountMinor };
  } catch (failure) {
    action.settle(failure);
    throw failure;
  }
}

export function payView(_ctx, wallet) {
  const action = new MoneyAction();
  const parts = {
    payload: payloadInput(),
    preview: h('p', { class: 'pay-preview', role: 'status', 'data-testid': 'pay-preview' }),
    amount: amountField('wallet.amount', { name: 'pay-amount', required: false }),
    pin: pinField(),
    error: h('p', { class: 'error', role: 'alert' }),
    done: h('p', { class: 'status done', role: 'status', 'data-testid': 'pay-done' }),
    submit: h('button', { type: 'submit', class: 'primary', 'data-testid': 'pay-submit' }, t('wallet.pay')),
  };
  const { payload, amount, pin } = parts;
  const scan = scanButton({
    testid: 'pay-scan',
    check: (text) => (readMerchantCode(text) ? null : 'wallet.pay_unknown_code'),
    onCode: (text) => {
      payload.value = text;
      previewCode(parts);
      (amount.element.hidden ? pin.input : amount.input).focus();
    },
  });
  const hint = h('p', { class: 'hint', id: 'pay-hint' }, t('wallet.pay_hint'));
  canScan().then((yes) => yes && (hint.textContent = t('wallet.pay_hint_scan')));
  const form = h(
    'form',
    { class: 'card wallet-form', 'aria-labelledby': 'pay-page-title', 'data-testid': 'pay-form' },
    hint,
    scan,
    h('label', { for: 'pay-payload' }, t('wallet.pay_payload')),
    payload,
    parts.preview,
    amount.element,
    pin.element,
    parts.error,
    parts.done,
    parts.submit,
  );
  payload.addEventListener('input', () => previewCode(parts));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    submitPayment(wallet, action, form, parts);
  });

  return h(
    'section',
    { class: 'page wallet-page', 'aria-labelledby': 'pay-page-title' },
    h('p', {}, h('a', { href: '#/wallet' }, t('wallet.back'))),
    h('h1', { id: 'pay-page-title' }, t('wallet.pay_title')),
    form,
  );
}

/** Where the merchant's code is pasted (or put by the scanner). */
function payloadInput() {
  return h('textarea', {
    id: 'pay-payload',
    name: 'payload',
    rows: 3,
    required: true,
    maxlength: PAYLOAD_MAX,
    autocapitalize: 'none',
    spellcheck: 'false',
    translate: 'no',
    'aria-describedby': 'pay-hint',
  });
}

/**
 * Says whom the pasted code pays (and how much, when the code fixes it,
 * hiding the amount field then); returns the code read, or null.
 */
function previewCode({ payload, preview, amount }) {
  const code = readMerchantCode(payload.value);
  amount.element.hidden = code?.amountMinor != null;
  if (!payload.value.trim()) preview.textContent = '';
  else if (!code) preview.textContent = t('wallet.pay_unknown_code');
  else if (code.amountMinor != null) preview.textContent = t('wallet.pay_preview_fixed', { name: code.name, amount: moneyText(code.amountMinor) });
  else preview.textContent = t('wallet.pay_preview', { name: code.name });
  return code;
}

/** The pay form sent: paid (said, and the form emptied) or the failure said. */
async function submitPayment(wallet, action, form, parts) {
  const { error, done, submit } = parts;
  error.textContent = '';
  done.textContent = '';
  submit.disabled = true;
  try {
    const code = previewCode(parts);
    const { paid, sum } = await pay(wallet, action, { ...parts, code });
    done.textContent = t('wallet.pay_done', { amount: moneyText(sum), name: code?.name ?? '' });
    done.dataset.paymentId = paid.payment_id;
    form.reset();
    previewCode(parts);
  } catch (failure) {
    error.textContent = failureText(failure);
  } finally {
    submit.disabled = false;
  }
}
