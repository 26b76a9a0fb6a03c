// Forwarding a message: a dialog lists my conversations (filtered as I
// type), a choice sends the message's content there at once — the server
// copies it from where I can see it — and a toast says where it went.

import { h, replace } from '../../lib/dom.js';
import { t } from '../../lib/i18n.js';
import { avatar, emptyState, listRow, openDialog, toast } from '../../lib/ui.js';

/**
 * @param {any} session
 * @param {import('./state.js').ChatState} state
 * @param {string} from the conversation the message is in
 * @param {any} message
 */
export function forwardDialog(session, state, from, message) {
  openDialog({
    title: t('chat.forward_title'),
    testid: 'forward-dialog',
    body: (close) => {
      const filter = h('input', { type: 'search', 'aria-label': t('chat.forward_filter'), placeholder: t('chat.forward_filter'), 'data-testid': 'forward-filter' });
      const list = h('ul', { class: 'rows-list forward-targets' });
      const show = () => {
        const needle = filter.value.trim().toLowerCase();
        const targets = state.list().filter((c) => !needle || state.title(c.conversation_id).toLowerCase().includes(needle));
        replace(
          list,
          targets.length
            ? targets.map((conversation) => target(session, state, conversation.conversation_id, () => {
              state.forward(conversation.conversation_id, from, message);
              toast(t('chat.forwarded_to', { name: state.title(conversation.conversation_id) }), { tone: 'success', testid: 'forwarded' });
              close();
            }))
            : h('li', {}, emptyState({ iconName: 'chat', title: t('chat.forward_none') })),
        );
      };
      filter.addEventListener('input', show);
      show();
      return [filter, list];
    },
  });
}

function target(session, state, id, pick) {
  const title = state.title(id);
  return listRow({
    onclick: pick,
    avatar: avatar(session, { ...state.face(id), title }, { size: 'sm' }),
    title,
    dataset: { conversationId: id },
    testid: 'forward-target',
  }).item;
}
