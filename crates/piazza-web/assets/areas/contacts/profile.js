// A person's profile page (#/contacts/<account_id>): picture, name,
// username and bio as GET /accounts/{id} shows them to this account, with
// Message for a contact, Add for anyone else, Edit for oneself; for a
// contact, my remark (my own name for them, which only I see) above their
// name, and a field to change it. Anyone but me can be blocked (after a
// confirmation saying what that does) or unblocked; a block made on another
// of my devices shows live.

import { h, replace } from '../../lib/dom.js';
import { t } from '../../lib/i18n.js';
import { actions, avatar, openDialog, toast } from '../../lib/ui.js';
import { errorLine, problemText } from '../auth/index.js';
import { openDirectChat } from '../chat/index.js';
import { addContact } from './index.js';

export function profileView(ctx) {
  const { session } = ctx;
  const id = ctx.params.id;
  const error = errorLine();
  const card = h('div', { class: 'card profile', 'data-testid': 'profile' });
  const page = h(
    'section',
    { class: 'page profile-page', 'aria-labelledby': 'profile-name' },
    h('p', { class: 'page-back' }, h('a', { href: '#/contacts', 'data-testid': 'profile-back' }, `‹ ${t('contacts.title')}`)),
    card,
    error,
  );
  let isContact = false;
  let shown = {};
  const blocking = blockControl(session, id, page, error, () => show(shown));
  const show = (person) => {
    shown = person;
    const name = person.display_name || person.username || id;
    const mine = id === session.me;
    const action = mine
      ? h('a', { class: 'button', href: '#/me', 'data-testid': 'edit-profile' }, t('me.edit'))
      : isContact || person.is_contact
        ? h(
            'button',
            {
              type: 'button',
              class: 'primary',
              'data-testid': 'profile-message',
              onclick: () => openDirectChat(session, id).catch((f) => (error.textContent = problemText(f))),
            },
            t('contacts.message'),
          )
        : person.username
          ? h(
              'button',
              {
                type: 'button',
                class: 'primary',
                'data-testid': 'profile-add',
                onclick: () => addContact(session, person.username, { failed: (text) => (error.textContent = text) }),
              },
              t('contacts.add_title'),
            )
          : null;
    const remark = isContact && person.remark ? person.remark : null;
    replace(
      card,
      avatar(session, { ...person, account_id: id }, { size: 'lg' }),
      h('h1', { id: 'profile-name' }, remark ?? name),
      remark ? h('p', { class: 'real-name', 'data-testid': 'profile-real-name' }, name) : null,
      person.username ? h('p', { class: 'username' }, `@${person.username}`) : null,
      person.bio ? h('p', { class: 'bio', 'data-testid': 'profile-bio' }, person.bio) : null,
      isContact ? remarkForm(session, id, person.remark ?? '', error, () => show(session.people.get(id) ?? {})) : null,
      blocking.blocked ? h('p', { class: 'hint', 'data-testid': 'profile-blocked' }, t('blocks.you_blocked')) : null,
      actions(action, mine || blocking.blocked === null ? null : blockButton(name, blocking.blocked, blocking.set)),
    );
  };
  show(session.people.get(id) ?? {});
  Promise.all([
    session.api.account(id),
    session.contacts().then((contacts) => (isContact = contacts.some((c) => c.account_id === id)), () => {}),
  ])
    .then(([profile]) => {
      session.remember(profile);
      show({ ...(session.people.get(id) ?? {}), ...profile });
    })
    .catch((failure) => {
      if (session.people.has(id)) show(session.people.get(id));
      else error.textContent = failure.status === 404 ? t('contacts.no_such_person') : problemText(failure);
    });
  return page;
}

/**
 * Whether I block `id` (null until GET /blocks answers, and for myself),
 * kept live by 'blocks-changed' while the page is shown; `set(block)`
 * blocks or unblocks. `redraw` runs on every change.
 */
function blockControl(session, id, page, error, redraw) {
  const control = {
    /** @type {boolean | null} */
    blocked: null,
    set: async (/** @type {boolean} */ block) => {
      error.textContent = '';
      try {
        if (block) await session.api.block(id);
        else await session.api.unblock(id);
        control.blocked = block;
        toast(t(block ? 'blocks.blocked_toast' : 'blocks.unblocked_toast'), { tone: 'success', testid: 'block-toast' });
        redraw();
      } catch (failure) {
        error.textContent = problemText(failure);
      }
    },
  };
  if (id === session.me) return control;
  const onBlocks = (/** @type {Event} */ e) => {
    const detail = /** @type {CustomEvent} */ (e).detail;
    if (!page.isConnected) session.removeEventListener('blocks-changed', onBlocks);
    else if (detail?.account_id === id) {
      control.blocked = !!detail.blocked;
      redraw();
    }
  };
  session.addEventListener('blocks-changed', onBlocks);
  session.api.blocks().then(
    (answer) => {
      control.blocked = answer.blocks.some((b) => b.account_id === id);
      redraw();
    },
    () => {},
  );
  return control;
}

/** Block (asked first, saying what it does) or Unblock. */
function blockButton(name, blocked, setBlocked) {
  if (blocked) {
    return h('button', { type: 'button', 'data-testid': 'profile-unblock', onclick: () => setBlocked(false) }, t('blocks.unblock'));
  }
  const ask = () =>
    openDialog({
      title: t('blocks.confirm_title', { name }),
      testid: 'block-dialog',
      body: (close) => [
        h('p', {}, t('blocks.confirm_text')),
        actions(
          h('button', { type: 'button', onclick: close, autofocus: true }, t('ui.cancel')),
          h(
            'button',
            { type: 'button', class: 'danger', 'data-testid': 'block-confirm', onclick: () => (close(), setBlocked(true)) },
            t('blocks.block'),
          ),
        ),
      ],
    });
  return h('button', { type: 'button', 'data-testid': 'profile-block', onclick: ask }, t('blocks.block'));
}

/** The server's cap on a remark, in characters. */
const REMARK_MAX = 64;

/** My remark for a contact: saved for all my devices; empty clears it. */
function remarkForm(session, id, current, error, saved) {
  const input = h('input', {
    id: 'profile-remark',
    name: 'remark',
    maxlength: REMARK_MAX,
    autocomplete: 'off',
    placeholder: t('contacts.remark_placeholder'),
  });
  input.value = current;
  const form = h(
    'form',
    { class: 'remark-form', 'data-testid': 'remark-form' },
    h('label', { for: 'profile-remark' }, t('contacts.remark_label')),
    h('div', { class: 'inline-field' }, input, h('button', { type: 'submit', 'data-testid': 'save-remark' }, t('me.save'))),
    h('p', { class: 'hint' }, t('contacts.remark_hint')),
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    error.textContent = '';
    try {
      const contact = await session.api.setRemark(id, input.value.trim());
      session.remember({ ...contact, remark: contact.remark ?? null });
      session.forgetContacts();
      session.dispatchEvent(new Event('contacts-changed'));
      toast(t(contact.remark ? 'contacts.remark_saved' : 'contacts.remark_cleared'), { tone: 'success' });
      saved();
    } catch (failure) {
      error.textContent = problemText(failure);
    }
  });
  return form;
}
