// Signing up, logging in (by password or by QR approval from another
// device). These pages work without a session.

import { Api } from '../../lib/api.js';
import { h } from '../../lib/dom.js';
import { has, t } from '../../lib/i18n.js';
import { accounts, deviceName } from '../../lib/session.js';
import './qr-login.js';

export const area = {
  id: 'auth',
  routes: [
    { path: '/login', public: true, view: loginPage },
    { path: '/signup', public: true, view: signupPage },
    { path: '/login/qr', public: true, view: qrPage },
  ],
};

/** A labelled input; the label text comes from the catalog. */
export function field(labelKey, attributes) {
  const id = `f-${attributes.name}`;
  return h(
    'div',
    { class: 'field' },
    h('label', { for: id }, t(labelKey)),
    h('input', { id, required: true, ...attributes }),
  );
}

/** The error line of a form, announced when it changes. */
export function errorLine() {
  return h('p', { class: 'error', role: 'alert', 'aria-live': 'assertive' });
}

/**
 * A failure in the reader's language: the catalog's text for its stable
 * code, never the server's English `detail`; an unknown code is named.
 * @param {{ code?: string, status?: number } | null | undefined} error
 */
export function problemText(error) {
  if (error?.status === 0) return t('error.network');
  const code = error?.code ?? 'unknown';
  return has(`error.${code}`) ? t(`error.${code}`) : t('error.generic', { detail: code });
}

function switcher(ctx) {
  const known = accounts.list();
  if (!ctx.query.get('add') || !known.length) return null;
  return h('p', { class: 'hint' }, h('a', { href: '#/chats' }, t('auth.back_to_app')));
}

function loginPage(ctx) {
  const error = errorLine();
  const form = h(
    'form',
    { class: 'card', 'aria-labelledby': 'login-title' },
    h('h1', { id: 'login-title' }, t('auth.login_title')),
    field('auth.username', { name: 'username', autocomplete: 'username', autocapitalize: 'none' }),
    field('auth.password', { name: 'password', type: 'password', autocomplete: 'current-password' }),
    error,
    h('button', { type: 'submit', class: 'primary' }, t('auth.login')),
    h(
      'p',
      { class: 'links' },
      h('a', { href: '#/login/qr', 'data-testid': 'qr-login-link' }, t('auth.login_by_qr')),
      ' · ',
      h('a', { href: '#/signup' }, t('auth.create_account')),
    ),
    switcher(ctx),
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const data = new FormData(form);
    const button = /** @type {HTMLButtonElement} */ (form.querySelector('button[type=submit]'));
    button.disabled = true;
    error.textContent = '';
    try {
      await logIn(ctx, String(data.get('username')).trim(), String(data.get('password')));
    } catch (failure) {
      error.textContent = failure.status === 401 ? t('error.bad_credentials') : problemText(failure);
    } finally {
      button.disabled = false;
    }
  });
  return form;
}

async function logIn(ctx, username, password) {
  const api = new Api();
  const session = await api.login(username, password, deviceName());
  const me = await new Api(session.token).me();
  ctx.useAccount({ ...me, token: session.token, device_id: session.device_id });
  ctx.navigate(ctx.afterLogin());
}

function signupPage(ctx) {
  const error = errorLine();
  const form = h(
    'form',
    { class: 'card', 'aria-labelledby': 'signup-title' },
    h('h1', { id: 'signup-title' }, t('auth.signup_title')),
    field('auth.username', {
      name: 'username',
      autocomplete: 'username',
      autocapitalize: 'none',
      pattern: '[a-z0-9_.]{3,32}',
      'aria-describedby': 'username-hint',
    }),
    h('p', { class: 'hint', id: 'username-hint' }, t('auth.username_hint')),
    field('auth.display_name', { name: 'display_name', required: false, maxlength: 64 }),
    field('auth.password', {
      name: 'password',
      type: 'password',
      minlength: 8,
      autocomplete: 'new-password',
    }),
    error,
    h('button', { type: 'submit', class: 'primary' }, t('auth.signup')),
    h('p', { class: 'links' }, h('a', { href: '#/login' }, t('auth.have_account'))),
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const data = new FormData(form);
    const username = String(data.get('username')).trim();
    const password = String(data.get('password'));
    const button = /** @type {HTMLButtonElement} */ (form.querySelector('button[type=submit]'));
    button.disabled = true;
    error.textContent = '';
    try {
      await new Api().signup(username, password, String(data.get('display_name')).trim());
      await logIn(ctx, username, password);
    } catch (failure) {
      error.textContent = problemText(failure);
    } finally {
      button.disabled = false;
    }
  });
  return form;
}

function qrPage(ctx) {
  const element = document.createElement('pz-qr-login');
  element.onApproved = async (answer) => {
    const me = await new Api(answer.token).me();
    ctx.useAccount({ ...me, token: answer.token, device_id: answer.device_id });
    ctx.navigate(ctx.afterLogin());
  };
  return element;
}
