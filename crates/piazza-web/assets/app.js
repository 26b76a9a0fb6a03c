// The shell: the router, the account switcher and the registry of areas.
// It knows no area by name; each area brings its routes and nav entry.
//
// An area is `{ id, nav?: {label, href, icon}, menu?: [{label, href}],
// routes: [{ path, view | lazy, public? }], attach?(session) }`. `path` is
// like '/chats/:id'; `view(ctx)` returns the element to show (returning the
// element already shown keeps it, so an area can keep a two-pane layout
// alive across its routes). A screen few visits need gives `lazy: () =>
// import(…).then((m) => m.view)` instead: its module loads on the first
// visit, not before the first paint. `menu` entries go into the account menu. An
// area puts a count on its navigation entry with `session.setBadge(id, n)`;
// the sum of the counts also leads the page title, "(3) Piazza".

import { areas } from './areas/index.js';
import { h, icon, replace } from './lib/dom.js';
import { avatar, setBadge } from './lib/ui.js';
import { initI18n, t, LANGUAGES, language, languageEvents, setLanguage } from './lib/i18n.js';
import { Session, accounts } from './lib/session.js';

const root = document.getElementById('app');
let session = null;
let notice = null;

/** The page an invitation's link asked for before the log-in (sessionStorage). */
const AFTER_LOGIN_KEY = 'piazza.after_login';

const routes = areas.flatMap((area) =>
  area.routes.map((route) => ({
    ...route,
    area,
    segments: route.path.split('/').filter(Boolean),
  })),
);

function match(path) {
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  for (const route of routes) {
    if (route.segments.length !== parts.length) continue;
    const params = {};
    const ok = route.segments.every((segment, i) => {
      if (segment.startsWith(':')) {
        params[segment.slice(1)] = parts[i];
        return true;
      }
      return segment === parts[i];
    });
    if (ok) return { route, params };
  }
  return null;
}

/** The current client-side route: the part of the hash before any '?'. */
function currentPath() {
  const hash = location.hash.replace(/^#/, '') || '/';
  return hash.split('?')[0];
}

export function navigate(path) {
  if (location.hash === `#${path}`) render();
  else location.hash = path;
}

/** Shows a one-line message above the next page (e.g. "you were logged out"). */
export function flash(key) {
  notice = key;
}

/** Starts (or switches to) an account's session. */
/** Where a log-in leads: an invitation's link opened before it, else the chats. */
function afterLogin() {
  const path = sessionStorage.getItem(AFTER_LOGIN_KEY);
  sessionStorage.removeItem(AFTER_LOGIN_KEY);
  return path ?? '/chats';
}

export function useAccount(account) {
  accounts.save(account);
  startSession(account);
}

function startSession(account) {
  if (session) session.stop();
  session = account ? new Session(account, onRevoked) : null;
  if (!session) return;
  for (const area of areas) {
    // One area failing (an API a browser lacks, a bug) must not keep the
    // others, or the session's sync, from starting.
    try {
      area.attach?.(session);
    } catch (error) {
      console.error(`area ${area.id}: attach failed`, error);
    }
  }
  session.addEventListener('status', (/** @type {CustomEvent} */ e) => {
    const dot = root.querySelector('.sync-status');
    if (dot) showStatus(dot, e.detail);
  });
  session.addEventListener('badges', showBadges);
  session.addEventListener('person', (/** @type {CustomEvent} */ e) => {
    // My own name or picture changed (the Me page, or another device):
    // the account button shows it, and this browser remembers the name.
    if (e.detail !== session.me) return;
    const me = session.people.get(session.me);
    session.account.display_name = me.display_name ?? session.account.display_name;
    accounts.save(session.account);
    const button = root.querySelector('.account-button');
    if (button) replace(button, ...accountButtonFace(session.account));
  });
  session.start();
}

/** The account whose deletion this browser asked for, while it is asked. */
let deleting = null;

/** Marks `accountId` as being deleted here (null: no longer), so that its
 * devices' revocation, which may arrive before the answer, is left to
 * `forgetDeletedAccount`. */
export function expectDeletion(accountId) {
  deleting = accountId;
}

/** A revoked or expired device: forget the token and go to the login page now. */
function onRevoked(revoked) {
  if (revoked.account.account_id === deleting) return;
  accounts.remove(revoked.account.account_id);
  if (revoked !== session) return;
  session.stop();
  session = null;
  flash('auth.revoked');
  navigate('/login');
}

/**
 * An account deleted itself: forget it here and say how it comes back.
 */
export function forgetDeletedAccount(accountId) {
  deleting = null;
  accounts.remove(accountId);
  if (session?.account.account_id === accountId) {
    session.stop();
    session = null;
  }
  const next = accounts.current();
  if (!session) startSession(next);
  flash('me.deleted_notice');
  navigate(next ? '/chats' : '/login');
}

/** Logs the current account out of this browser: the device is revoked. */
export async function logOut() {
  if (!session) return;
  const leaving = session;
  leaving.stop();
  try {
    await leaving.api.revokeDevice(leaving.account.device_id);
  } catch {
    // Already revoked or offline: forgetting the token is what matters here.
  }
  accounts.remove(leaving.account.account_id);
  const next = accounts.current();
  session = null;
  startSession(next);
  navigate(next ? '/chats' : '/login');
}

function switchTo(accountId) {
  accounts.setCurrent(accountId);
  startSession(accounts.current());
  navigate('/chats');
}

function render() {
  const path = currentPath();
  const found = match(path);
  if (!found) return navigate(session ? '/chats' : '/login');
  const { route, params } = found;
  if (!route.public && !session) {
    // An invitation's link opened logged out is followed once logged in.
    if (path.startsWith('/join/')) sessionStorage.setItem(AFTER_LOGIN_KEY, path);
    return navigate('/login');
  }
  if (!route.view) {
    route.loading ??= route.lazy().then(
      (view) => (route.view = view),
      (error) => {
        route.loading = null; // offline for a moment: the next visit tries again
        throw error;
      },
    );
    route.loading.then(() => currentPath() === path && render(), () => {});
    return;
  }
  const query = new URLSearchParams(location.hash.split('?')[1] ?? '');
  const context = { session, params, query, navigate, useAccount, logOut, flash, afterLogin };
  if (route.public) {
    renderPublic(route.view(context));
  } else {
    renderShell(route, route.view(context));
  }
  root.removeAttribute('aria-busy');
}

function takeNotice() {
  if (!notice) return null;
  const element = h('p', { class: 'notice', role: 'status' }, t(notice));
  notice = null;
  return element;
}

function renderPublic(view) {
  shell = null;
  root.className = 'app app-public';
  document.title = t('app.name');
  const footer = h('footer', { class: 'public-footer' }, languagePicker('public-language'));
  replace(root, h('main', { class: 'public', id: 'main' }, takeNotice(), view, footer));
}

/** The language select (the account menu, and under the public pages). */
function languagePicker(id) {
  return h(
    'label',
    { class: 'menu-language', for: id },
    t('menu.language'),
    h(
      'select',
      { id, 'data-testid': 'language-select', onchange: (e) => setLanguage(e.target.value) },
      LANGUAGES.map((l) => h('option', { value: l.code, selected: l.code === language(), lang: l.code }, l.name)),
    ),
  );
}

let shell = null;

function renderShell(route, view) {
  if (!shell || shell.account !== session.account.account_id || shell.lang !== language()) {
    shell = buildShell();
    root.className = 'app app-shell';
    replace(root, shell.header, shell.nav, shell.main);
  }
  for (const link of shell.nav.querySelectorAll('a')) {
    if (link.dataset.area === route.area.id) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  // Notices are for the public pages (why you are at the login page).
  notice = null;
  if (shell.main.firstElementChild !== view) replace(shell.main, view);
  root.dataset.area = route.area.id;
  shell.title = route.area.nav ? `${t(route.area.nav.label)} · ${t('app.name')}` : t('app.name');
  showBadges();
}

/** The areas' counts on their navigation entries, and their sum in the title. */
function showBadges() {
  if (!session || !shell) return;
  let total = 0;
  for (const link of shell.nav.querySelectorAll('a[data-area]')) {
    const count = session.badges.get(link.dataset.area) ?? 0;
    total += count;
    setBadge(link.querySelector('.nav-badge'), count, { label: t('nav.unread', { count }) });
  }
  document.title = total ? `(${total > 99 ? '99+' : total}) ${shell.title}` : shell.title;
}

function showStatus(dot, status) {
  dot.dataset.status = status;
  dot.title = t(`sync.${status}`);
  dot.setAttribute('aria-label', dot.title);
}

function buildShell() {
  const me = session.account;
  const menu = accountMenu(me);
  const header = h(
    'header',
    { class: 'topbar' },
    h(
      'a',
      { class: 'brand', href: '#/chats' },
      h('img', { src: '/favicon.svg', alt: '' }),
      h('span', { class: 'brand-name' }, t('app.name')),
    ),
    statusDot(),
    menu,
  );
  const nav = h(
    'nav',
    { class: 'areas', 'aria-label': t('nav.label') },
    areas
      .filter((area) => area.nav)
      .map((area) =>
        h(
          'a',
          { href: area.nav.href, dataset: { area: area.id } },
          icon(area.nav.icon),
          h('span', { class: 'label' }, t(area.nav.label)),
          h('span', { class: 'badge nav-badge', hidden: true }),
        ),
      ),
  );
  const main = h('main', { class: 'view', id: 'main' });
  return { header, nav, main, account: me.account_id, lang: language(), title: t('app.name') };
}

function statusDot() {
  const dot = h('span', { class: 'sync-status', role: 'img' });
  showStatus(dot, session.status);
  return dot;
}

/** My picture and name, on the account menu's button. */
function accountButtonFace(me) {
  return [
    avatar(session, session.people.get(me.account_id) ?? me, { size: 'sm' }),
    h('span', { class: 'account-name' }, me.display_name || me.username),
  ];
}

function accountMenu(me) {
  const panel = h('div', { class: 'menu-panel', role: 'menu', hidden: true, id: 'account-menu' });
  const button = h(
    'button',
    {
      class: 'account-button',
      type: 'button',
      'aria-haspopup': 'menu',
      'aria-expanded': 'false',
      'aria-controls': 'account-menu',
      'data-testid': 'account-menu',
    },
    ...accountButtonFace(me),
  );
  const close = () => {
    panel.hidden = true;
    button.setAttribute('aria-expanded', 'false');
  };
  const item = (label, action, extra = {}) =>
    h('button', { type: 'button', role: 'menuitem', onclick: () => (close(), action()), ...extra }, label);
  const fill = () => {
    const others = accounts.list();
    replace(
      panel,
      h('p', { class: 'menu-heading' }, t('menu.accounts')),
      others.map((account) =>
        item(
          `${account.display_name || account.username} (@${account.username})`,
          () => switchTo(account.account_id),
          account.account_id === me.account_id
            ? { 'aria-current': 'true', class: 'current' }
            : { 'data-switch': account.username },
        ),
      ),
      item(t('menu.add_account'), () => navigate('/login?add=1'), { 'data-testid': 'add-account' }),
      h('hr'),
      areas.flatMap((area) => area.menu ?? []).map((entry) =>
        h('a', { class: 'menu-link', role: 'menuitem', href: entry.href, onclick: close, 'data-testid': entry.testid }, t(entry.label)),
      ),
      languagePicker('menu-language'),
      h('hr'),
      item(t('menu.log_out'), logOut, { 'data-testid': 'log-out' }),
    );
  };
  button.addEventListener('click', () => {
    const opening = panel.hidden;
    if (opening) fill();
    panel.hidden = !opening;
    button.setAttribute('aria-expanded', String(opening));
    if (opening) /** @type {HTMLElement | null} */ (panel.querySelector('[role=menuitem]'))?.focus();
  });
  panel.addEventListener('keydown', (e) => {
    if (e.key === 'Escape') {
      close();
      button.focus();
    }
  });
  const outside = (e) => {
    if (!panel.isConnected) document.removeEventListener('click', outside);
    else if (!panel.hidden && !panel.contains(e.target) && !button.contains(e.target)) close();
  };
  document.addEventListener('click', outside);
  return h('div', { class: 'account-menu' }, button, panel);
}

async function boot() {
  // The catalog and the account's data load side by side: first paint
  // waits for the slower of the two, not for both in turn.
  const catalog = initI18n();
  startSession(accounts.current());
  await catalog;
  window.addEventListener('hashchange', render);
  // A new language redraws the whole page at once: the shell is built
  // again and the current view made afresh, from the new catalog.
  languageEvents.addEventListener('change', () => {
    shell = null;
    render();
  });
  render();
}

boot();
