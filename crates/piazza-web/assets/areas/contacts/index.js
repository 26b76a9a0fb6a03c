// Contacts: adding someone by username (who they are shown first, with a
// greeting to send) or by a pasted contact code, the requests received
// (accept or decline) and sent (pending), the contacts themselves (each
// opens their profile, with a green dot while they are online; my remark
// for them first, their own name after it), and a person's profile page.

import { h, replace, whenIdle } from '../../lib/dom.js';
import { t } from '../../lib/i18n.js';
import { avatar, contactMatches, contactTitles, emptyState, listRow, onlineDot, toast } from '../../lib/ui.js';
import { errorLine, problemText } from '../auth/index.js';
import { openDirectChat } from '../chat/index.js';

/**
 * The add dialog loads when it is first needed.
 * @param {Parameters<typeof import('./add.js').addContactDialog>} args
 */
export function addContact(...args) {
  return import('./add.js').then((m) => m.addContactDialog(...args));
}

export const area = {
  id: 'contacts',
  nav: { label: 'nav.contacts', href: '#/contacts', icon: 'contacts' },
  routes: [
    { path: '/contacts', view: contactsView },
    { path: '/contacts/:id', lazy: () => import('./profile.js').then((m) => m.profileView) },
  ],
  attach(session) {
    const count = () =>
      session.api
        .incomingRequests()
        .then((answer) => session.setBadge('contacts', answer.requests.length))
        .catch(() => {});
    session.addEventListener('event', (e) => {
      const type = e.detail.type;
      if (['contact.added', 'contact.removed', 'contact.updated', 'account.updated'].includes(type)) session.forgetContacts();
      // A block or unblock from any of my devices: whatever shows it refreshes.
      if (type === 'contact.blocked') session.dispatchEvent(new CustomEvent('blocks-changed', { detail: e.detail }));
      if (type.startsWith('contact.') || type === 'account.updated') {
        count();
        session.dispatchEvent(new Event('contacts-changed'));
      }
    });
    // Not before the chat list's first paint: the count can wait a moment.
    whenIdle(count, 2000);
  },
};

/** Find someone by username: the add dialog shows who it is and takes the greeting. */
function addContactForm(session, sent) {
  const error = errorLine();
  const search = h('input', {
    id: 'contact-search',
    name: 'username',
    type: 'search',
    autocapitalize: 'none',
    autocomplete: 'off',
    required: true,
    pattern: '[a-z0-9_.]{3,32}',
    placeholder: t('contacts.search_placeholder'),
  });
  const requestForm = h(
    'form',
    { class: 'card add-contact', 'aria-labelledby': 'add-contact-title', 'data-testid': 'add-contact-form' },
    h('h2', { id: 'add-contact-title' }, t('contacts.add_title')),
    h(
      'div',
      { class: 'field' },
      h('label', { for: 'contact-search' }, t('contacts.search_label')),
      h('div', { class: 'inline-field' }, search, h('button', { type: 'submit', class: 'primary' }, t('contacts.find'))),
    ),
    error,
  );
  requestForm.addEventListener('submit', (e) => {
    e.preventDefault();
    const username = search.value.trim().toLowerCase();
    error.textContent = '';
    addContact(session, username, {
      sent: () => {
        search.value = '';
        sent();
      },
      failed: (text) => (error.textContent = text),
    });
  });
  return requestForm;
}

/**
 * Add by code: a pasted contact code (`piazza-contact:…`, from someone's
 * "My QR code") sends its owner a request; who it was is then in the
 * sent requests, as the server's answer names only the request.
 */
function addByCodeForm(session, sent) {
  const error = errorLine();
  const code = h('input', {
    id: 'contact-code',
    name: 'payload',
    autocapitalize: 'none',
    autocomplete: 'off',
    spellcheck: 'false',
    required: true,
    placeholder: t('contacts.by_code_placeholder'),
  });
  const form = h(
    'form',
    { class: 'card add-by-code', 'aria-labelledby': 'add-by-code-title', 'data-testid': 'add-by-code-form' },
    h('h2', { id: 'add-by-code-title' }, t('contacts.by_code_title')),
    h(
      'div',
      { class: 'field' },
      h('label', { for: 'contact-code' }, t('contacts.by_code_label')),
      h('div', { class: 'inline-field' }, code, h('button', { type: 'submit', class: 'primary', 'data-testid': 'add-by-code' }, t('contacts.send_request'))),
    ),
    error,
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const button = /** @type {HTMLButtonElement} */ (form.querySelector('button[type=submit]'));
    button.disabled = true;
    error.textContent = '';
    try {
      await session.api.requestContactByCode(code.value.trim());
      code.value = '';
      toast(t('contacts.by_code_sent'), { tone: 'success' });
      sent();
    } catch (failure) {
      error.textContent = byCodeProblem(failure);
    } finally {
      button.disabled = false;
    }
  });
  return form;
}

/** What a refused code means, in the reader's words where we have them. */
function byCodeProblem(failure) {
  const known = {
    invalid_payload: 'contacts.by_code_invalid',
    contact_code_not_found: 'contacts.by_code_unknown',
    self_target: 'contacts.by_code_self',
    already_contacts: 'contacts.by_code_already',
  };
  return known[failure.code] ? t(known[failure.code]) : problemText(failure);
}

function contactsView(ctx) {
  const { session } = ctx;
  const error = errorLine();
  const requestForm = addContactForm(session, () => refresh());
  const codeForm = addByCodeForm(session, () => refresh());
  const filter = h('input', { id: 'contact-filter', type: 'search', 'aria-label': t('contacts.filter_label'), placeholder: t('contacts.filter_placeholder') });
  const incoming = h('ul', { class: 'rows-list requests', 'aria-label': t('contacts.requests') });
  const outgoing = h('ul', { class: 'rows-list outgoing', 'aria-label': t('contacts.sent_requests') });
  const list = h('ul', { class: 'rows-list contacts', 'aria-label': t('contacts.title') });
  const incomingTitle = h('h2', { class: 'section-title' }, t('contacts.requests'));
  const outgoingTitle = h('h2', { class: 'section-title' }, t('contacts.sent_requests'));
  const page = h(
    'section',
    { class: 'page contacts-page', 'aria-labelledby': 'contacts-title' },
    h('h1', { id: 'contacts-title' }, t('contacts.title')),
    requestForm,
    codeForm,
    error,
    incomingTitle,
    incoming,
    outgoingTitle,
    outgoing,
    h('h2', { class: 'section-title' }, t('contacts.your_contacts')),
    filter,
    list,
  );

  let contacts = [];
  function showContacts() {
    const needle = filter.value.trim().toLowerCase();
    const shown = contacts.filter((c) => contactMatches(c, needle));
    replace(
      list,
      shown.length
        ? shown.map((contact) => contactRow(session, contact, error).item)
        : h('li', {}, emptyState({ iconName: 'contacts', title: t('contacts.none'), text: t('contacts.none_hint') })),
    );
  }

  async function refresh() {
    try {
      const [received, sent, friends] = await Promise.all([
        session.api.incomingRequests(),
        session.api.outgoingRequests().catch(() => ({ requests: [] })),
        session.contacts(),
      ]);
      contacts = friends;
      session.setBadge('contacts', received.requests.length);
      replace(
        incoming,
        received.requests.length
          ? received.requests.map((request) => incomingRow(session, request, error, refresh).item)
          : h('li', { class: 'empty' }, t('contacts.no_requests')),
      );
      outgoingTitle.hidden = outgoing.hidden = !sent.requests.length;
      replace(outgoing, sent.requests.map((request) => outgoingRow(session, request).item));
      showContacts();
    } catch (failure) {
      error.textContent = problemText(failure);
    }
  }

  filter.addEventListener('input', showContacts);
  const onChange = () => {
    if (page.isConnected) refresh();
    else session.removeEventListener('contacts-changed', onChange);
  };
  session.addEventListener('contacts-changed', onChange);
  // Who is online changes live: the dots move in place.
  const onPresence = () => {
    if (!page.isConnected) {
      session.presence.removeEventListener('change', onPresence);
      return;
    }
    for (const row of list.querySelectorAll('li[data-account-id]')) {
      const slot = /** @type {HTMLElement} */ (row.querySelector('.row-avatar'));
      onlineDot(slot, session.presence.isOnline(/** @type {HTMLElement} */ (row).dataset.accountId));
    }
  };
  session.presence.addEventListener('change', onPresence);
  refresh();
  return page;
}

function contactRow(session, contact, error) {
  const row = listRow({
    href: `#/contacts/${encodeURIComponent(contact.account_id)}`,
    avatar: avatar(session, session.people.get(contact.account_id) ?? contact),
    ...contactTitles(contact),
    dataset: { username: contact.username, accountId: contact.account_id },
    trailing: h(
      'button',
      {
        type: 'button',
        'data-testid': 'message-contact',
        onclick: () => openDirectChat(session, contact.account_id).catch((f) => (error.textContent = problemText(f))),
      },
      t('contacts.message'),
    ),
  });
  onlineDot(row.avatar, session.presence.isOnline(contact.account_id));
  return row;
}

/** A request received: who (name, picture, username), their greeting, Accept and Decline. */
function incomingRow(session, request, error, refresh) {
  const from = request.from;
  session.remember(from);
  const act = (call, done) => async (e) => {
    for (const button of e.target.closest('li').querySelectorAll('button')) button.disabled = true;
    error.textContent = '';
    try {
      await call();
      session.forgetContacts();
      toast(done);
      refresh();
    } catch (failure) {
      for (const button of e.target.closest('li').querySelectorAll('button')) button.disabled = false;
      error.textContent = problemText(failure);
    }
  };
  const name = from.display_name || from.username;
  return listRow({
    href: `#/contacts/${encodeURIComponent(from.account_id)}`,
    avatar: avatar(session, from),
    title: name,
    subtitle: request.greeting ? `“${request.greeting}”` : `@${from.username}`,
    dataset: { from: from.username, requestId: request.request_id },
    trailing: [
      h(
        'button',
        {
          type: 'button',
          class: 'primary',
          'data-testid': 'accept-request',
          onclick: act(() => session.api.acceptRequest(request.request_id), t('contacts.accepted', { name })),
        },
        t('contacts.accept'),
      ),
      h(
        'button',
        {
          type: 'button',
          'data-testid': 'decline-request',
          onclick: act(() => session.api.declineRequest(request.request_id), t('contacts.declined', { name })),
        },
        t('contacts.decline'),
      ),
    ],
  });
}

/** A request sent, still waiting: who, the greeting, "Pending". */
function outgoingRow(session, request) {
  const to = request.to;
  return listRow({
    href: `#/contacts/${encodeURIComponent(to.account_id)}`,
    avatar: avatar(session, to),
    title: to.display_name || to.username,
    subtitle: request.greeting ? `“${request.greeting}”` : `@${to.username}`,
    dataset: { to: to.username, requestId: request.request_id },
    trailing: h('span', { class: 'tag' }, t('contacts.pending')),
  });
}

