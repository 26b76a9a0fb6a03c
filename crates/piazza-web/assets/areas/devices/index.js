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

/** `piazza-login:<request_id>:<code>` → its request id and code, or null. */
export function parsePayload(text) {
  const trimmed = text.trim();
  if (!trimmed.startsWith(PAYLOAD_PREFIX)) return null;
  const [requestId, code] = trimmed.slice(PAYLOAD_PREFIX.length).split(':');
  return requestId && code ? { requestId, code, payload: trimmed } : null;
}

/**
 * Approving a login takes two steps: the pasted code is looked up, and
 * what the server saw of the browser asking — its kind, address and when
 * it asked, never a name it typed — is shown; only the explicit Approve
 * under those facts approves. A phishing page's QR code looks like any
 * other; the browser and address it comes from do not.
 */
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
  const next = h('button', { type: 'submit', class: 'primary' }, t('approve.review'));
  const review = h('section', { class: 'login-review', 'data-testid': 'login-review', hidden: true });
  const form = h(
    'form',
    { class: 'card', 'aria-labelledby': 'approve-title' },
    h('h1', { id: 'approve-title' }, t('approve.title')),
    h('p', { class: 'hint', id: 'approve-hint' }, t('approve.hint')),
    h('label', { for: 'approve-payload' }, t('approve.payload_label')),
    input,
    error,
    done,
    review,
    next,
  );
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
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    error.textContent = '';
    done.textContent = '';
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
    showReview(review, details, session.account.username, {
      approve,
      cancel: () => {
        close();
        done.textContent = t('approve.cancelled');
      },
    });
    next.hidden = true;
    input.disabled = true;
  });
  return form;
}

/** The request's facts, as the server saw them, and the two choices. */
function showReview(review, details, username, { approve, cancel }) {
  const fact = (label, value, testid) => [h('dt', {}, label), h('dd', { 'data-testid': testid }, value)];
  const asked = new Date(details.requested_at).toLocaleString(language());
  replace(
    review,
    h('h2', {}, t('approve.review_title', { username })),
    h(
      'dl',
      { class: 'facts' },
      fact(t('approve.browser'), details.browser, 'login-browser'),
      fact(t('approve.address'), details.address, 'login-address'),
      fact(t('approve.requested_at'), asked, 'login-requested-at'),
    ),
    h('p', { class: 'hint' }, t('approve.review_warning')),
    h(
      'p',
      { class: 'card-actions' },
      h('button', { type: 'button', class: 'primary', 'data-testid': 'approve-confirm', onclick: approve }, t('approve.submit')),
      h('button', { type: 'button', 'data-testid': 'approve-cancel', onclick: cancel }, t('approve.cancel')),
    ),
  );
  review.hidden = false;
  review.querySelector('[data-testid=approve-confirm]').focus();
}
