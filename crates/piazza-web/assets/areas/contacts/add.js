// Adding a contact: who the username belongs to is shown first (their
// picture and name, from GET /accounts?username=), with a greeting to
// send along; the request goes out only from there.

import { h } from '../../lib/dom.js';
import { t } from '../../lib/i18n.js';
import { actions, avatar, openDialog, toast } from '../../lib/ui.js';
import { problemText } from '../auth/index.js';
import { openDirectChat } from '../chat/index.js';

/** The server's cap on a greeting, in characters. */
const GREETING_MAX = 200;

/**
 * Looks `username` up and opens the dialog. `sent()` runs once the
 * request is out; `failed(text)` when there is no one to add.
 * @param {any} session
 * @param {string} username
 * @param {{ sent?: () => void, failed?: (text: string) => void }} [callbacks]
 */
export async function addContactDialog(session, username, { sent = () => {}, failed = () => {} } = {}) {
  let profile;
  try {
    profile = await session.api.accountByUsername(username);
  } catch (failure) {
    if (failure.status === 404) return failed(t('contacts.no_such_user', { username }));
    // A server without the look-up: only the username can be shown.
    if (failure.status !== 405) return failed(problemText(failure));
    profile = { username };
  }
  if (profile.account_id) {
    session.remember(profile);
    // The look-up answers anyone the same; whether they are already a contact is ours to know.
    const contacts = await session.contacts().catch(() => []);
    if (contacts.some((c) => c.account_id === profile.account_id)) profile = { ...profile, is_contact: true };
  }
  openDialog({
    title: t('contacts.add_title'),
    testid: 'add-contact-dialog',
    body: (close) => addBody(session, profile, close, sent),
  });
}

function addBody(session, profile, close, sent) {
  const name = profile.display_name || profile.username;
  const who = h(
    'div',
    { class: 'who', 'data-testid': 'add-contact-who' },
    avatar(session, profile, { size: 'md' }),
    h('div', { class: 'who-text' }, h('strong', {}, name), h('span', { class: 'hint' }, `@${profile.username}`)),
  );
  if (profile.account_id === session.me) {
    return [who, h('p', {}, t('contacts.is_you')), actions(h('button', { type: 'button', onclick: close }, t('ui.close')))];
  }
  if (profile.is_contact) {
    return [
      who,
      h('p', {}, t('contacts.already', { name })),
      actions(
        h('button', { type: 'button', onclick: close }, t('ui.close')),
        h('button', { type: 'button', class: 'primary', onclick: () => openDirectChat(session, profile.account_id).then(close) }, t('contacts.message')),
      ),
    ];
  }
  const me = session.people.get(session.me);
  const greeting = h('textarea', {
    id: 'add-greeting',
    name: 'greeting',
    rows: 2,
    maxlength: GREETING_MAX,
    'aria-describedby': 'add-greeting-hint',
  });
  greeting.value = t('contacts.greeting_default', { name: me?.display_name || me?.username || '' });
  const error = h('p', { class: 'error', role: 'alert' });
  const form = h(
    'form',
    { class: 'dialog-form' },
    who,
    h(
      'div',
      { class: 'field' },
      h('label', { for: 'add-greeting' }, t('contacts.greeting_label')),
      greeting,
      h('p', { class: 'hint', id: 'add-greeting-hint' }, t('contacts.greeting_hint', { name })),
    ),
    error,
    actions(
      h('button', { type: 'button', onclick: close }, t('ui.cancel')),
      h('button', { type: 'submit', class: 'primary', 'data-testid': 'send-request' }, t('contacts.send_request')),
    ),
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const button = /** @type {HTMLButtonElement} */ (form.querySelector('button[type=submit]'));
    button.disabled = true;
    error.textContent = '';
    try {
      await session.api.requestContact(profile.username, greeting.value.trim());
      toast(t('contacts.request_sent', { username: profile.username }), { tone: 'success' });
      close();
      sent();
    } catch (failure) {
      button.disabled = false;
      error.textContent =
        failure.status === 404 ? t('contacts.no_such_user', { username: profile.username }) : problemText(failure);
    }
  });
  return form;
}
