// Forwarding a message, and sharing into a chat from another area (an
// article, a product): a dialog lists my conversations (filtered as I
// type), a choice sends there at once — a forward's content the server
// copies from where I can see it, a share's card the server snapshots —
// and a toast says where it went.

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
  chooseConversation(session, state, {
    title: t('chat.forward_title'),
    testid: 'forward',
    pick: (id) => {
      state.forward(id, from, message);
      toast(t('chat.forwarded_to', { name: state.title(id) }), { tone: 'success', testid: 'forwarded' });
    },
  });
}

/**
 * "Share to chat" for the other areas: the conversations are read first
 * (the chats may not have been opened yet on this page); a choice runs
 * `send(state, conversationId)`, which sends the card at once.
 * @param {any} session
 * @param {(state: import('./state.js').ChatState, conversationId: string) => void} send
 */
export async function shareToChatDialog(session, send) {
  const state = session.state.chat;
  if (!state) return;
  await state.load().catch(() => {});
  chooseConversation(session, state, {
    title: t('chat.share_title'),
    testid: 'share',
    pick: (id) => {
      send(state, id);
      toast(t('chat.shared_to', { name: state.title(id) }), { tone: 'success', testid: 'shared' });
    },
  });
}

/**
 * The dialog of my conversations both use: `testid` names the dialog
 * (`<testid>-dialog`), its filter (`-filter`) and its rows (`-target`);
 * a choice hands its id to `pick` and closes the dialog.
 * @param {any} session
 * @param {import('./state.js').ChatState} state
 * @param {{ title: string, testid: string, pick: (conversationId: string) => void }} options
 */
function chooseConversation(session, state, { title, testid, pick }) {
  openDialog({
    title,
    testid: `${testid}-dialog`,
    body: (close) => {
      const filter = h('input', { type: 'search', 'aria-label': t('chat.forward_filter'), placeholder: t('chat.forward_filter'), 'data-testid': `${testid}-filter` });
      const list = h('ul', { class: 'rows-list forward-targets' });
      const show = () => {
        const needle = filter.value.trim().toLowerCase();
        const targets = state.list().filter((c) => !needle || state.title(c.conversation_id).toLowerCase().includes(needle));
        replace(
          list,
          targets.length
            ? targets.map((conversation) => target(session, state, conversation.conversation_id, `${testid}-target`, () => {
              pick(conversation.conversation_id);
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

function target(session, state, id, testid, pick) {
  const title = state.title(id);
  return listRow({
    onclick: pick,
    avatar: avatar(session, { ...state.face(id), title }, { size: 'sm' }),
    title,
    dataset: { conversationId: id },
    testid,
  }).item;
}
