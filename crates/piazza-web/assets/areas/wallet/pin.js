// The payment PIN on the wallet page: while there is none, a card to set
// one (with the account password); once set, a dialog to change it with
// the current one, or, forgotten, to reset it with the password (the wait
// explained before anything is sent). Banners say when a reset waits or
// wrong PINs locked payments.

import { h } from '../../lib/dom.js';
import { t } from '../../lib/i18n.js';
import { actions, toast } from '../../lib/ui.js';
import { localTime } from './alerts.js';
import { failureText, formDialog, pinField, readPin } from './ui.js';

const PASSWORD_MAX = 1024;

/**
 * Runs `render` now and whenever the PIN's state changes, while `element`
 * is on the page.
 * @param {import('./state.js').WalletState} wallet
 * @param {HTMLElement} element
 * @param {() => void} render
 */
export function onPinState(wallet, element, render) {
  const listener = () => {
    if (!element.isConnected && element.dataset.rendered) return wallet.removeEventListener('pin', listener);
    element.dataset.rendered = '1';
    render();
  };
  wallet.addEventListener('pin', listener);
  listener();
  return element;
}

/**
 * While a forgotten PIN's reset waits no money leaves, and the owner can
 * cancel it; while wrong PINs lock payments, until when.
 * @param {import('./state.js').WalletState} wallet
 */
export function pinBanners(wallet) {
  const reset = h('p', { class: 'banner danger', role: 'status', 'data-testid': 'pin-reset-banner', hidden: true });
  const locked = h('p', { class: 'banner warning', role: 'status', 'data-testid': 'pin-locked', hidden: true });
  const box = h('div', { class: 'pin-banners' }, reset, locked);
  return onPinState(wallet, box, () => {
    const resetAt = wallet.pin?.resetAt;
    reset.hidden = !resetAt;
    reset.textContent = resetAt ? t('wallet.pin_reset_banner', { time: localTime(resetAt) }) : '';
    const lockedUntil = wallet.pin?.lockedUntil;
    locked.hidden = !lockedUntil;
    locked.textContent = lockedUntil ? t('wallet.pin_locked_until', { time: localTime(lockedUntil) }) : '';
  });
}

function passwordField() {
  const input = /** @type {HTMLInputElement} */ (
    h('input', {
      id: 'pin-password',
      name: 'password',
      type: 'password',
      autocomplete: 'current-password',
      required: true,
      maxlength: PASSWORD_MAX,
      'data-testid': 'pin-password',
    })
  );
  return { input, element: h('div', { class: 'field' }, h('label', { for: 'pin-password' }, t('wallet.password')), input) };
}

/** The new PIN typed twice, or throws the catalog's "they differ". */
function readNewPin(pin, again) {
  const chosen = readPin(pin.input);
  if (again.input.value !== chosen) throw Object.assign(new Error('mismatch'), { catalogKey: 'wallet.pin_mismatch' });
  return chosen;
}

/**
 * No PIN yet: the card to set one, on the wallet page itself (nothing
 * leaves the wallet without it). Hidden once a PIN is set.
 * @param {import('./state.js').WalletState} wallet
 */
export function setPinCard(wallet) {
  const pin = pinField('wallet.new_pin');
  const again = pinField('wallet.repeat_pin');
  const password = passwordField();
  const error = h('p', { class: 'error', role: 'alert' });
  const submit = h('button', { type: 'submit', class: 'primary' }, t('wallet.pin_submit.set'));
  const form = h(
    'form',
    { class: 'card pin-set-card', 'aria-labelledby': 'pin-set-title', 'data-testid': 'pin-form', dataset: { mode: 'set' }, hidden: true },
    h('h2', { id: 'pin-set-title' }, t('wallet.pin_set_title')),
    h('p', { class: 'hint' }, t('wallet.pin_hint.set')),
    pin.element,
    again.element,
    password.element,
    error,
    actions(submit),
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    error.textContent = '';
    submit.disabled = true;
    try {
      await wallet.setPin(readNewPin(pin, again), password.input.value);
      /** @type {HTMLFormElement} */ (form).reset();
      toast(t('wallet.pin_done'), { tone: 'success', testid: 'wallet-toast' });
    } catch (failure) {
      error.textContent = failureText(failure);
    } finally {
      submit.disabled = false;
    }
  });
  return onPinState(wallet, form, () => (form.hidden = wallet.pin?.set !== false));
}

/**
 * The PIN set: change it with the current one (a waiting reset is
 * cancelled), or — `forgot` — reset it with the password, after the wait
 * the dialog explains first.
 * @param {import('./state.js').WalletState} wallet
 * @param {{ forgot?: boolean }} [options]
 */
export function openPinDialog(wallet, { forgot = false } = {}) {
  const mode = forgot ? 'reset' : 'change';
  const old = forgot ? null : pinField('wallet.current_pin');
  const pin = pinField('wallet.new_pin');
  const again = pinField('wallet.repeat_pin');
  const password = forgot ? passwordField() : null;
  const switchTo = (wanted) =>
    h(
      'button',
      {
        type: 'button',
        class: 'link-button',
        'data-testid': wanted ? 'pin-forgot' : 'pin-remembered',
        onclick: () => {
          close();
          openPinDialog(wallet, { forgot: wanted });
        },
      },
      t(wanted ? 'wallet.pin_forgot' : 'wallet.pin_remembered'),
    );
  const { dialog, close } = formDialog({
    title: t(`wallet.pin_submit.${mode}`),
    testid: 'pin-dialog',
    fields: [h('p', { class: 'hint' }, t(`wallet.pin_hint.${mode}`)), old?.element ?? null, pin.element, again.element, password?.element ?? null],
    extra: switchTo(!forgot),
    submitLabel: t(`wallet.pin_submit.${mode}`),
    submit: async (closeIt) => {
      const current = old ? readPin(old.input) : null;
      const chosen = readNewPin(pin, again);
      let message;
      if (current) {
        await wallet.changePin(current, chosen);
        message = t('wallet.pin_changed');
      } else {
        const reset = await wallet.setPin(chosen, password?.input.value ?? '');
        message = reset?.effective_at ? t('wallet.pin_reset_started', { time: localTime(reset.effective_at) }) : t('wallet.pin_done');
      }
      closeIt();
      toast(message, { tone: 'success', testid: 'wallet-toast', timeoutMs: 8000 });
    },
  });
  dialog.dataset.mode = mode;
  return dialog;
}
