// The wallet area: the balance and statement, the payment PIN (set,
// changed with the old one, or reset when forgotten), top-ups (through the
// server's gateway; the sandbox credits at once), the payment code a till
// scans, a merchant's code to print, and paying a merchant by pasting or
// scanning its code. Money in chats (transfers, red packets) lives in
// chat.js; every payment that leaves the wallet, and a PIN reset, is
// announced here wherever the user is (alerts.js), and a collection that
// needs the buyer's PIN pops up its dialog.

import { h, replace, shortTime } from '../../lib/dom.js';
import { language, t } from '../../lib/i18n.js';
import { confirmationAlert, localTime, merchantOf, paymentAlert, pinResetAlert } from './alerts.js';
import { registerChatExtensions } from './chat.js';
import { MoneyAction } from './money.js';
import { merchantView, payView } from './merchants.js';
import './payment-code.js';
import { WalletState } from './state.js';
import {
  amountField,
  cancelButton,
  failureText,
  moneyText,
  openDialog,
  pinField,
  readAmount,
  readPin,
} from './ui.js';

const PASSWORD_MAX = 1024;

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
class Balance extends HTMLElement {
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

export function balanceElement(session) {
  const element = document.createElement('pz-balance');
  element.session = session;
  element.className = 'balance';
  return element;
}

function walletView(ctx) {
  const { session } = ctx;
  const wallet = walletOf(session);
  const page = h(
    'section',
    { class: 'page wallet-page', 'aria-labelledby': 'wallet-title' },
    h('h1', { id: 'wallet-title' }, t('wallet.title')),
    balanceElement(session),
    pinResetBanner(wallet),
    h(
      'nav',
      { class: 'wallet-links', 'aria-label': t('wallet.links_label') },
      h('a', { class: 'button', href: '#/wallet/code', 'data-testid': 'wallet-code-link' }, t('wallet.code_title')),
      h('a', { class: 'button', href: '#/wallet/pay', 'data-testid': 'wallet-pay-link' }, t('wallet.pay_title')),
      h('a', { class: 'button', href: '#/wallet/merchant', 'data-testid': 'wallet-merchant-link' }, t('wallet.merchant_title')),
    ),
    topUpForm(wallet),
    pinCard(wallet),
    statementSection(wallet),
  );
  return page;
}

function topUpForm(wallet) {
  const action = new MoneyAction();
  const amount = amountField('wallet.amount', { name: 'topup' });
  const error = h('p', { class: 'error', role: 'alert' });
  const done = h('p', { class: 'status', role: 'status' });
  const submit = h('button', { type: 'submit', class: 'primary' }, t('wallet.top_up'));
  const form = h(
    'form',
    { class: 'card wallet-form', 'aria-labelledby': 'topup-title', 'data-testid': 'topup-form' },
    h('h2', { id: 'topup-title' }, t('wallet.top_up_title')),
    h('p', { class: 'hint' }, t('wallet.top_up_hint')),
    amount.element,
    error,
    done,
    submit,
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    error.textContent = '';
    done.textContent = '';
    submit.disabled = true;
    try {
      const minor = readAmount(amount.input);
      const key = action.keyFor(String(minor));
      try {
        await wallet.topUp(key, minor);
        action.settle();
      } catch (failure) {
        action.settle(failure);
        throw failure;
      }
      done.textContent = t('wallet.top_up_done', { amount: moneyText(minor) });
      amount.input.value = '';
    } catch (failure) {
      error.textContent = failureText(failure);
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}

/** Runs `render` now and whenever the PIN's state changes, while `element` is on the page. */
function onPinState(wallet, element, render) {
  const listener = () => {
    if (!element.isConnected && element.dataset.rendered) return wallet.removeEventListener('pin', listener);
    element.dataset.rendered = '1';
    render();
  };
  wallet.addEventListener('pin', listener);
  listener();
  return element;
}

/** While a forgotten PIN's reset waits: no money leaves, and the owner can cancel it. */
function pinResetBanner(wallet) {
  const banner = h('p', { class: 'pin-reset-banner', role: 'status', 'data-testid': 'pin-reset-banner', hidden: true });
  return onPinState(wallet, banner, () => {
    const resetAt = wallet.pin?.resetAt;
    banner.hidden = !resetAt;
    banner.textContent = resetAt ? t('wallet.pin_reset_banner', { time: localTime(resetAt) }) : '';
  });
}

function passwordField() {
  const input = h('input', {
    id: 'pin-password',
    name: 'password',
    type: 'password',
    autocomplete: 'current-password',
    required: true,
    maxlength: PASSWORD_MAX,
    'data-testid': 'pin-password',
  });
  return { input, element: h('div', { class: 'field' }, h('label', { for: 'pin-password' }, t('wallet.password')), input) };
}

/**
 * The payment PIN's card. No PIN yet: set one with the password. A PIN
 * set: change it with the current one, or, forgotten, reset it with the
 * password (the wait is explained before anything is sent).
 */
function pinCard(wallet) {
  const card = h('section', { class: 'card wallet-form pin-card', 'aria-labelledby': 'pin-title', 'data-testid': 'pin-card' });
  const title = h('h2', { id: 'pin-title' }, t('wallet.pin_title'));
  // What the last change came to: kept across the re-render it causes.
  const state = { forgot: false, message: '' };
  const render = () => {
    const pin = wallet.pin;
    if (!pin) return replace(card, title, h('p', { class: 'hint' }, t('wallet.loading')));
    const mode = !pin.set ? 'set' : state.forgot ? 'reset' : 'change';
    const switchTo = (forgot) => {
      state.forgot = forgot;
      state.message = '';
      render();
    };
    replace(card, title, pinStatus(pin), pinForm(wallet, mode, state, switchTo));
  };
  return onPinState(wallet, card, render);
}

function pinStatus(pin) {
  if (pin?.lockedUntil) return h('p', { class: 'hint', 'data-testid': 'pin-locked' }, t('wallet.pin_locked_until', { time: localTime(pin.lockedUntil) }));
  return null;
}

function pinForm(wallet, mode, state, setForgot) {
  const old = mode === 'change' ? pinField('wallet.current_pin') : null;
  const pin = pinField('wallet.new_pin');
  const again = pinField('wallet.repeat_pin');
  const password = mode === 'change' ? null : passwordField();
  const error = h('p', { class: 'error', role: 'alert' });
  const done = h('p', { class: 'status', role: 'status' }, state.message);
  const submit = h('button', { type: 'submit', class: 'primary' }, t(`wallet.pin_submit.${mode}`));
  const other =
    mode === 'change'
      ? h('button', { type: 'button', class: 'link-button', 'data-testid': 'pin-forgot', onclick: () => setForgot(true) }, t('wallet.pin_forgot'))
      : mode === 'reset'
        ? h('button', { type: 'button', class: 'link-button', onclick: () => setForgot(false) }, t('wallet.pin_remembered'))
        : null;
  const form = h(
    'form',
    { class: 'pin-form', 'data-testid': 'pin-form', dataset: { mode } },
    h('p', { class: 'hint' }, t(`wallet.pin_hint.${mode}`)),
    old?.element,
    pin.element,
    again.element,
    password?.element,
    error,
    done,
    h('div', { class: 'form-actions' }, submit, other),
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    error.textContent = '';
    done.textContent = '';
    submit.disabled = true;
    try {
      const current = old ? readPin(old.input) : null;
      const chosen = readPin(pin.input);
      if (again.input.value !== chosen) throw Object.assign(new Error('mismatch'), { catalogKey: 'wallet.pin_mismatch' });
      if (current) {
        await wallet.changePin(current, chosen);
        state.message = t('wallet.pin_changed');
      } else {
        const reset = await wallet.setPin(chosen, password.input.value);
        state.message = reset?.effective_at
          ? t('wallet.pin_reset_started', { time: localTime(reset.effective_at) })
          : t('wallet.pin_done');
      }
      state.forgot = false;
      form.reset();
      done.textContent = state.message;
    } catch (failure) {
      error.textContent = failureText(failure);
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}

function kindText(kind) {
  const key = `wallet.kind.${kind}`;
  const text = t(key);
  return text === key ? kind : text;
}

function statementSection(wallet) {
  const list = h('ul', { class: 'statement', 'aria-labelledby': 'statement-title', 'data-testid': 'statement' });
  const more = h('button', { type: 'button', hidden: true }, t('wallet.load_more'));
  const error = h('p', { class: 'error', role: 'alert' });
  const section = h('section', { class: 'statement-section' }, h('h2', { id: 'statement-title' }, t('wallet.statement')), list, error, more);
  let cursor = null;
  let ticket = 0;

  const row = (entry) =>
    h(
      'li',
      { dataset: { kind: entry.kind, amountMinor: String(entry.amount_minor) } },
      h('span', { class: 'name' }, kindText(entry.kind), h('small', {}, ' ', h('time', { datetime: entry.at }, shortTime(entry.at, language())))),
      h('span', { class: `amount ${entry.amount_minor < 0 ? 'out' : 'in'}` }, moneyText(entry.amount_minor, { signed: true })),
      h('small', { class: 'after' }, t('wallet.balance_after', { amount: moneyText(entry.balance_after_minor) })),
    );

  async function load(older) {
    const mine = (ticket += older ? 0 : 1);
    error.textContent = '';
    try {
      const page = await wallet.statement(older ? cursor : null);
      if (mine !== ticket) return;
      cursor = page.cursor;
      const rows = page.entries.map(row);
      if (older) list.append(...rows);
      else replace(list, rows.length ? rows : h('li', { class: 'empty' }, t('wallet.statement_empty')));
      more.hidden = !cursor;
    } catch (failure) {
      error.textContent = failureText(failure);
    }
  }

  more.addEventListener('click', () => load(true));
  let timer = null;
  // Every movement changes the balance (not every one is logged as a
  // wallet event: an accepted transfer is logged as the transfer's).
  const onBalance = () => {
    if (!section.isConnected) return wallet.removeEventListener('balance', onBalance);
    clearTimeout(timer);
    timer = setTimeout(() => load(false), 150);
  };
  wallet.addEventListener('balance', onBalance);
  load(false);
  return section;
}

function codeView(ctx) {
  const code = document.createElement('pz-payment-code');
  code.wallet = walletOf(ctx.session);
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
  const dialog = openDialog(
    'wallet.confirm_title',
    (close) => {
      const confirm = h('button', { type: 'submit', class: 'primary', 'data-testid': 'confirm-payment' }, t('wallet.confirm_pay'));
      const decline = h('button', { type: 'button', class: 'danger', 'data-testid': 'decline-payment' }, t('wallet.decline'));
      const form = h(
        'form',
        { class: 'dialog-body' },
        h(
          'p',
          { class: 'confirm-amount', 'data-testid': 'confirm-text' },
          t('wallet.confirm_text', { amount: moneyText(payment.amount_minor), name: merchantOf(event) }),
        ),
        pin.element,
        error,
        h('div', { class: 'dialog-actions' }, decline, confirm),
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
          if (failure.code === 'payment_not_pending') decline.replaceWith(cancelButton(close));
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
    { testid: 'confirm-dialog' },
  );
  dialog.dataset.paymentId = paymentId;
}
