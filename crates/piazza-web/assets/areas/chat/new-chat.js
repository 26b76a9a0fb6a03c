// "New chat": a dialog that picks a contact (their direct chat opens) or
// goes on to create a group. Loaded when the pencil is first pressed.

import { h, replace } from '../../lib/dom.js';
import { t } from '../../lib/i18n.js';
import { avatar, contactMatches, contactTitles, emptyState, listRow, openDialog } from '../../lib/ui.js';
import { problemText } from '../auth/index.js';
import { openDirectChat } from './index.js';

export function newChatDialog(session) {
  openDialog({
    title: t('chat.new_chat'),
    testid: 'new-chat-dialog',
    body: (close) => {
      const error = h('p', { class: 'error', role: 'alert' });
      const filter = h('input', {
        type: 'search',
        'aria-label': t('contacts.filter_label'),
        placeholder: t('contacts.filter_placeholder'),
        'data-testid': 'new-chat-filter',
      });
      const list = h('ul', { class: 'rows-list picker', 'aria-label': t('contacts.your_contacts') });
      const group = listRow({
        href: '#/groups/new',
        avatar: h('span', { class: 'avatar avatar-md hue-2', 'aria-hidden': 'true' }, h('span', { class: 'initials' }, '+')),
        title: t('group.new'),
        subtitle: t('group.new_hint'),
        testid: 'new-group',
      });
      group.main.addEventListener('click', close);
      let contacts = [];
      const show = () => {
        const needle = filter.value.trim().toLowerCase();
        const shown = contacts.filter((c) => contactMatches(c, needle));
        replace(
          list,
          shown.length
            ? shown.map(
                (contact) =>
                  listRow({
                    avatar: avatar(session, contact),
                    ...contactTitles(contact),
                    dataset: { username: contact.username },
                    onclick: async () => {
                      error.textContent = '';
                      try {
                        await openDirectChat(session, contact.account_id);
                        close();
                      } catch (failure) {
                        error.textContent = problemText(failure);
                      }
                    },
                  }).item,
              )
            : h('li', {}, emptyState({ iconName: 'contacts', title: t('contacts.none'), text: t('group.no_contacts') })),
        );
      };
      filter.addEventListener('input', show);
      session
        .contacts()
        .then((answer) => {
          contacts = answer;
          show();
        })
        .catch((failure) => (error.textContent = problemText(failure)));
      return [h('ul', { class: 'rows-list' }, group.item), filter, error, list];
    },
  });
}
