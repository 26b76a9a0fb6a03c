// Devices: this account's devices, each named by what it is (the browser
// and system, or the CLI, read by the server from its User-Agent and
// worded here in the reader's language), when and from where it was last
// used, this one marked; log any other out. And approving a log-in by QR:
// scan the new device's code with the camera, or paste its text.

import { h, icon, replace } from '../../lib/dom.js';
import { formatDateTime, formatRelative, has, t } from '../../lib/i18n.js';
import { scanButton } from '../../lib/scanner.js';
import { actions, emptyState, listRow, toast } from '../../lib/ui.js';
import { errorLine, problemText } from '../auth/index.js';

const PAYLOAD_PREFIX = 'piazza-login:';

export const area = {
  id: 'devices',
  nav: { label: 'nav.devices', href: '#/devices', icon: 'devices' },
  routes: [
    { path: '/devices', view: devicesView },
    { path: '/approve', view: approveView },
  ],
};

/**
 * @typedef {{ app: string, system: string }} DeviceClient
 * @typedef {{ device_id: string, device_name: string, created_at: string, last_seen_at: string,
 *   current: boolean, user_agent?: string, last_seen_address?: string, client?: DeviceClient }} DeviceView
 */

/**
 * "Chrome on Linux", "Linux 上的 Chrome", "Piazza CLI": a device's program
 * and system from the server's codes, in the reader's language.
 * @param {DeviceClient | undefined | null} client
 * @param {string} fallback said when there are no codes
 */
export function clientName(client, fallback) {
  if (!client) return fallback;
  const app = t(has(`devices.app.${client.app}`) ? `devices.app.${client.app}` : 'devices.app.unknown');
  if (!has(`devices.system.${client.system}`) || client.system === 'unknown') return app;
  return t('devices.client_on', { app, system: t(`devices.system.${client.system}`) });
}

/**
 * The name a person gave the device, or null for the ones clients make up
 * themselves ("Web browser (Linux x86_64)", "Chrome on Linux (QR log-in)"),
 * which say in English what `clientName` says better.
 * @param {DeviceView} device
 */
function chosenName(device) {
  const name = device.device_name;
  if (/^Web browser( \(.*\))?$/.test(name) || / \(QR log-in\)$/.test(name)) return null;
  return name;
}

/** @param {DeviceView} device */
function deviceIcon(device) {
  const system = device.client?.system;
  const name = device.client?.app === 'piazza_cli' ? 'terminal' : system === 'android' || system === 'ios' ? 'phone' : 'laptop';
  return h('span', { class: 'device-icon' }, icon(name));
}

/** A device used within this long is "active now" (the server notes a use once a minute). */
const ACTIVE_MS = 2 * 60 * 1000;

/** @param {DeviceView} device */
function lastUse(device) {
  const active = device.current || Date.now() - Date.parse(device.last_seen_at) < ACTIVE_MS;
  const when = active ? t('devices.active_now') : t('devices.last_used', { when: formatRelative(device.last_seen_at) });
  return device.last_seen_address ? t('devices.used_from', { when, address: device.last_seen_address }) : when;
}

function devicesView(ctx) {
  const { session } = ctx;
  const error = errorLine();
  const list = h('ul', { class: 'rows-list devices', 'aria-label': t('devices.title'), 'data-testid': 'devices' });
  const page = h(
    'section',
    { class: 'page devices-page', 'aria-labelledby': 'devices-title' },
    h(
      'div',
      { class: 'page-heading' },
      h('h1', { id: 'devices-title' }, t('devices.title')),
      h('a', { class: 'button primary', href: '#/approve', 'data-testid': 'approve-link' }, icon('scan'), h('span', {}, t('approve.title'))),
    ),
    h('p', { class: 'hint' }, t('devices.hint')),
    error,
    list,
  );
  /** @param {DeviceView} device */
  const row = (device) => {
    const name = clientName(device.client, device.device_name);
    const chosen = chosenName(device);
    const revoke = h(
      'button',
      {
        type: 'button',
        class: 'danger',
        'aria-label': t('devices.revoke_named', { name: chosen ?? name }),
        onclick: async () => {
          try {
            await session.api.revokeDevice(device.device_id);
            toast(t('devices.revoked', { name: chosen ?? name }), { tone: 'success' });
            refresh();
          } catch (failure) {
            error.textContent = problemText(failure);
          }
        },
      },
      t('devices.revoke'),
    );
    const parts = listRow({
      avatar: deviceIcon(device),
      title: name,
      subtitle: [chosen, lastUse(device)].filter(Boolean).join(' · '),
      trailing: device.current ? h('span', { class: 'tag accent', 'data-testid': 'this-device' }, t('devices.this_device')) : revoke,
      dataset: { deviceId: device.device_id, current: String(device.current) },
    });
    parts.subtitle.title = device.user_agent ?? '';
    parts.subtitle.setAttribute('translate', 'no');
    parts.title.title = t('devices.since', { when: formatDateTime(device.created_at) });
    return parts.item;
  };
  async function refresh() {
    try {
      const answer = await session.api.devices();
      /** @type {DeviceView[]} */
      const devices = answer.devices;
      devices.sort((a, b) => Number(b.current) - Number(a.current) || b.last_seen_at.localeCompare(a.last_seen_at));
      replace(list, devices.length ? devices.map(row) : emptyState({ title: t('devices.none') }));
    } catch (failure) {
      error.textContent = problemText(failure);
    }
  }
  refresh();
  return page;
}

/**
 * `piazza-login:<request_id>:<code>` → its request id and code, or null.
 * @param {string} text
 */
export function parsePayload(text) {
  const trimmed = text.trim();
  if (!trimmed.startsWith(PAYLOAD_PREFIX)) return null;
  const [requestId, code] = trimmed.slice(PAYLOAD_PREFIX.length).split(':');
  return requestId && code ? { requestId, code, payload: trimmed } : null;
}

/**
 * Approving a login takes two steps: the scanned or pasted code is looked
 * up, and what the server saw of the browser asking — its kind, address
 * and when it asked, never a name it typed — is shown; only the explicit
 * Approve under those facts approves. A phishing page's QR code looks like
 * any other; the browser and address it comes from do not.
 */
function approveView(ctx) {
  const { session } = ctx;
  const parts = {
    error: errorLine(),
    done: h('p', { class: 'status', role: 'status' }),
    input: h('textarea', {
      id: 'approve-payload',
      name: 'payload',
      rows: 2,
      required: true,
      maxlength: 512,
      autocapitalize: 'none',
      spellcheck: 'false',
      translate: 'no',
      'aria-describedby': 'approve-hint',
    }),
    next: h('button', { type: 'submit', class: 'primary' }, t('approve.review')),
    review: h('section', { class: 'login-review', 'data-testid': 'login-review', hidden: true }),
  };
  const scan = scanButton({
    testid: 'approve-scan',
    check: (text) => (parsePayload(text) ? null : 'approve.not_a_login_code'),
    onCode: (text) => {
      parts.input.value = text;
      form.requestSubmit();
    },
  });
  const form = h(
    'form',
    { class: 'card approve-card', 'aria-labelledby': 'approve-title' },
    h('p', {}, h('a', { href: '#/devices' }, t('approve.back'))),
    h('h1', { id: 'approve-title' }, t('approve.title')),
    h('p', { class: 'hint', id: 'approve-hint' }, t('approve.hint')),
    scan,
    h('label', { for: 'approve-payload' }, t('approve.payload_label')),
    parts.input,
    parts.error,
    parts.done,
    parts.review,
    actions(parts.next),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    lookUp(session, parts);
  });
  return h('section', { class: 'page approve-page' }, form);
}

/**
 * The code typed or scanned is looked up; its facts shown for review.
 * @param {any} session
 * @param {{ error: HTMLElement, done: HTMLElement, input: HTMLTextAreaElement, next: HTMLButtonElement, review: HTMLElement }} parts
 */
async function lookUp(session, { error, done, input, next, review }) {
  error.textContent = '';
  done.textContent = '';
  const failed = (failure) => {
    const known = { 404: 'approve.unknown', 410: 'approve.expired', 409: 'approve.used' }[failure.status];
    error.textContent = known ? t(known) : problemText(failure);
  };
  const close = () => {
    review.hidden = true;
    replace(review);
    next.hidden = false;
    input.disabled = false;
  };
  const parsed = parsePayload(input.value);
  if (!parsed) {
    error.textContent = t('approve.bad_payload');
    return;
  }
  let details;
  try {
    details = await session.api.loginRequestDetails(parsed.requestId, parsed.code);
  } catch (failure) {
    failed(failure);
    return;
  }
  const approve = async () => {
    error.textContent = '';
    try {
      await session.api.approveLogin(parsed.requestId, parsed.payload);
      close();
      done.textContent = t('approve.done');
      input.value = '';
    } catch (failure) {
      failed(failure);
    }
  };
  const cancel = () => {
    close();
    done.textContent = t('approve.cancelled');
  };
  showReview(review, details, session.account.username, { approve, cancel });
  next.hidden = true;
  input.disabled = true;
}

/** The request's facts, as the server saw them, and the two choices. */
function showReview(review, details, username, { approve, cancel }) {
  const fact = (label, value, testid) => [h('dt', {}, label), h('dd', { 'data-testid': testid }, value)];
  replace(
    review,
    h('h2', {}, t('approve.review_title', { username })),
    h(
      'dl',
      { class: 'facts' },
      fact(t('approve.browser'), clientName(details.client, details.browser), 'login-browser'),
      fact(t('approve.address'), details.address, 'login-address'),
      fact(t('approve.requested_at'), formatDateTime(details.requested_at), 'login-requested-at'),
    ),
    h('p', { class: 'hint' }, t('approve.review_warning')),
    actions(
      h('button', { type: 'button', 'data-testid': 'approve-cancel', onclick: cancel }, t('approve.cancel')),
      h('button', { type: 'button', class: 'primary', 'data-testid': 'approve-confirm', onclick: approve }, t('approve.submit')),
    ),
  );
  review.hidden = false;
  /** @type {HTMLElement} */ (review.querySelector('[data-testid=approve-confirm]')).focus();
}
