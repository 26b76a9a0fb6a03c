// Devices: this account's devices (revoke any), and approving a login by
// QR: paste the code shown on the new device's login page.

import { h, replace, shortTime } from '../../lib/dom.js';
import { language, t } from '../../lib/i18n.js';
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

function devicesView(ctx) {
  const { session } = ctx;
  const error = errorLine();
  const list = h('ul', { class: 'devices', 'aria-label': t('devices.title') });
  const page = h(
    'section',
    { class: 'page devices-page', 'aria-labelledby': 'devices-title' },
    h('h1', { id: 'devices-title' }, t('devices.title')),
    h('p', {}, h('a', { class: 'button primary', href: '#/approve', 'data-testid': 'approve-link' }, t('approve.title'))),
    error,
    list,
  );
  async function refresh() {
    try {
      const answer = await session.api.devices();
      replace(
        list,
        answer.devices.map((device) =>
          h(
            'li',
            { dataset: { deviceId: device.device_id } },
            h(
              'span',
              { class: 'name' },
              device.device_name,
              device.current ? h('span', { class: 'tag' }, t('devices.this_device')) : null,
              h('small', {}, ' ', t('devices.last_seen', { when: shortTime(device.last_seen_at ?? device.created_at, language()) })),
            ),
            device.current
              ? null
              : h(
                  'button',
                  {
                    type: 'button',
                    class: 'danger',
                    'aria-label': t('devices.revoke_named', { name: device.device_name }),
                    onclick: async () => {
                      try {
                        await session.api.revokeDevice(device.device_id);
                        refresh();
                      } catch (failure) {
                        error.textContent = problemText(failure);
                      }
                    },
                  },
                  t('devices.revoke'),
                ),
          ),
        ),
      );
    } catch (failure) {
      error.textContent = problemText(failure);
    }
  }
  refresh();
  return page;
}

/** `piazza-login:<request_id>:<code>` → its request id, or null. */
export function parsePayload(text) {
  const trimmed = text.trim();
  if (!trimmed.startsWith(PAYLOAD_PREFIX)) return null;
  const [requestId, code] = trimmed.slice(PAYLOAD_PREFIX.length).split(':');
  return requestId && code ? { requestId, payload: trimmed } : null;
}

function approveView(ctx) {
  const { session } = ctx;
  const error = errorLine();
  const done = h('p', { class: 'status', role: 'status' });
  const input = h('textarea', {
    id: 'approve-payload',
    name: 'payload',
    rows: 2,
    required: true,
    maxlength: 512,
    autocapitalize: 'none',
    spellcheck: 'false',
    'aria-describedby': 'approve-hint',
  });
  const form = h(
    'form',
    { class: 'card', 'aria-labelledby': 'approve-title' },
    h('h1', { id: 'approve-title' }, t('approve.title')),
    h('p', { class: 'hint', id: 'approve-hint' }, t('approve.hint')),
    h('label', { for: 'approve-payload' }, t('approve.payload_label')),
    input,
    error,
    done,
    h('button', { type: 'submit', class: 'primary' }, t('approve.submit')),
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    error.textContent = '';
    done.textContent = '';
    const parsed = parsePayload(input.value);
    if (!parsed) {
      error.textContent = t('approve.bad_payload');
      return;
    }
    try {
      await session.api.approveLogin(parsed.requestId, parsed.payload);
      done.textContent = t('approve.done');
      input.value = '';
    } catch (failure) {
      const known = { 404: 'approve.unknown', 410: 'approve.expired', 409: 'approve.used' }[failure.status];
      error.textContent = known ? t(known) : problemText(failure);
    }
  });
  return form;
}
