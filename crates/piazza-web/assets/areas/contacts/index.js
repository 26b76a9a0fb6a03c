// Contacts: the list (each opens its direct chat), incoming requests to
// accept, and a request sent by username.

import { h, replace } from '../../lib/dom.js';
import { t } from '../../lib/i18n.js';
import { errorLine, problemText } from '../auth/index.js';
import { contactsOf } from '../chat/index.js';

export const area = {
  id: 'contacts',
  nav: { label: 'nav.contacts', href: '#/contacts', icon: 'contacts' },
  routes: [{ path: '/contacts', view: contactsView }],
  attach(session) {
    session.addEventListener('event', (e) => {
      const type = e.detail.type;
      if (type === 'contact.added' || type === 'contact.removed') session.state.contactsPromise = null;
      if (type.startsWith('contact.')) session.dispatchEvent(new Event('contacts-changed'));
    });
  },
};

function contactsView(ctx) {
  const { session } = ctx;
  const error = errorLine();
  const sent = h('p', { class: 'status', role: 'status' });
  const search = h('input', {
    id: 'contact-search',
    name: 'username',
    type: 'search',
    autocapitalize: 'none',
    required: true,
    pattern: '[a-z0-9_.]{3,32}',
    placeholder: t('contacts.search_placeholder'),
  });
  const requestForm = h(
    'form',
    { class: 'inline', 'aria-labelledby': 'add-contact-title' },
    h('h2', { id: 'add-contact-title' }, t('contacts.add_title')),
    h('label', { for: 'contact-search' }, t('contacts.search_label')),
    search,
    h('button', { type: 'submit', class: 'primary' }, t('contacts.send_request')),
  );
  const filter = h('input', { id: 'contact-filter', type: 'search', 'aria-label': t('contacts.filter_label'), placeholder: t('contacts.filter_placeholder') });
  const incoming = h('ul', { class: 'requests', 'aria-label': t('contacts.requests') });
  const list = h('ul', { class: 'contacts', 'aria-label': t('contacts.title') });
  const page = h(
    'section',
    { class: 'page contacts-page', 'aria-labelledby': 'contacts-title' },
    h('h1', { id: 'contacts-title' }, t('contacts.title')),
    requestForm,
    sent,
    error,
    h('h2', {}, t('contacts.requests')),
    incoming,
    h('h2', {}, t('contacts.your_contacts')),
    filter,
    list,
  );

  let contacts = [];
  function showContacts() {
    const needle = filter.value.trim().toLowerCase();
    const shown = contacts.filter(
      (c) => !needle || c.username.includes(needle) || (c.display_name ?? '').toLowerCase().includes(needle),
    );
    replace(
      list,
      shown.length
        ? shown.map((contact) =>
            h(
              'li',
              { dataset: { username: contact.username } },
              h('span', { class: 'name' }, contact.display_name || contact.username, h('small', {}, ` @${contact.username}`)),
              h('button', { type: 'button', onclick: () => openChat(contact) }, t('contacts.message')),
            ),
          )
        : h('li', { class: 'empty' }, t('contacts.none')),
    );
  }

  async function openChat(contact) {
    try {
      const opened = await session.api.openDirect(contact.account_id);
      await session.state.chat.load();
      ctx.navigate(`/chats/${encodeURIComponent(opened.conversation_id)}`);
    } catch (failure) {
      error.textContent = problemText(failure);
    }
  }

  async function refresh() {
    try {
      const [answer, friends] = await Promise.all([session.api.incomingRequests(), contactsOf(session)]);
      contacts = friends;
      replace(
        incoming,
        answer.requests.length
          ? answer.requests.map((request) =>
              h(
                'li',
                { dataset: { from: request.from.username } },
                h('span', { class: 'name' }, `@${request.from.username}`, request.greeting ? h('small', {}, ` “${request.greeting}”`) : null),
                h(
                  'button',
                  {
                    type: 'button',
                    class: 'primary',
                    onclick: async (e) => {
                      e.target.disabled = true;
                      try {
                        await session.api.acceptRequest(request.request_id);
                        session.state.contactsPromise = null;
                        refresh();
                      } catch (failure) {
                        e.target.disabled = false;
                        error.textContent = problemText(failure);
                      }
                    },
                  },
                  t('contacts.accept'),
                ),
              ),
            )
          : h('li', { class: 'empty' }, t('contacts.no_requests')),
      );
      showContacts();
    } catch (failure) {
      error.textContent = problemText(failure);
    }
  }

  filter.addEventListener('input', showContacts);
  requestForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    const username = search.value.trim().toLowerCase();
    error.textContent = '';
    sent.textContent = '';
    try {
      await session.api.requestContact(username);
      sent.textContent = t('contacts.request_sent', { username });
      search.value = '';
    } catch (failure) {
      error.textContent = failure.status === 404 ? t('contacts.no_such_user', { username }) : problemText(failure);
    }
  });
  const onChange = () => {
    if (page.isConnected) refresh();
    else session.removeEventListener('contacts-changed', onChange);
  };
  session.addEventListener('contacts-changed', onChange);
  refresh();
  return page;
}
