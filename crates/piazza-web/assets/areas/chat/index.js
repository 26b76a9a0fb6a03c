// The chat area: the chat list beside the open conversation (two panes on a
// desktop, one at a time on a phone), groups.

import { h, replace } from '../../lib/dom.js';
import { language, t } from '../../lib/i18n.js';
import { emptyState, toast } from '../../lib/ui.js';
import { problemText } from '../auth/index.js';
import { ChatState } from './state.js';
import { groupInfoView, joinView, newGroupView } from './groups.js';
import { watchIncoming } from './notify.js';
import './list.js';
import './conversation.js';

export const area = {
  id: 'chat',
  nav: { label: 'nav.chats', href: '#/chats', icon: 'chat' },
  routes: [
    { path: '/', view: (ctx) => layout(ctx, null) },
    { path: '/chats', view: (ctx) => layout(ctx, null) },
    { path: '/chats/:id', view: (ctx) => layout(ctx, 'conversation') },
    { path: '/chats/:id/info', view: (ctx) => layout(ctx, 'info') },
    { path: '/groups/new', view: (ctx) => layout(ctx, 'new-group') },
    { path: '/join/:payload', view: (ctx) => layout(ctx, 'join') },
  ],
  attach(session) {
    const state = new ChatState(session);
    session.state.chat = state;
    watchIncoming(session, state);
    // A send the server refused for good (a forward not allowed, a
    // mention of everyone by a member) is said wherever it was sent from.
    state.addEventListener('refused', (/** @type {CustomEvent} */ e) => {
      if (session.state.chat === state) toast(problemText(e.detail.error), { tone: 'error', testid: 'send-error' });
    });
    state.load().catch(() => {});
    // Contacts' names label senders in groups and previews.
    session.contacts().catch(() => {});
  },
};

/** Opens the direct chat with a contact (the same one every time) and shows it. */
export async function openDirectChat(session, accountId) {
  const opened = await session.api.openDirect(accountId);
  await session.state.chat.load();
  location.hash = `#/chats/${encodeURIComponent(opened.conversation_id)}`;
}

function layout(ctx, detail) {
  const { session } = ctx;
  let chats = session.state.chatLayout;
  // Kept across routes, but built again in a new language.
  if (!chats || chats.lang !== language()) {
    const list = document.createElement('pz-chat-list');
    list.session = session;
    list.state = session.state.chat;
    const pane = h('section', { class: 'detail', 'aria-label': t('chat.detail_label') });
    chats = h('div', { class: 'two-pane' }, list, pane);
    chats.list = list;
    chats.pane = pane;
    chats.lang = language();
    session.state.chatLayout = chats;
  }
  const id = ctx.params.id ?? null;
  chats.list.current = id;
  chats.classList.toggle('has-detail', detail !== null);
  const pane = chats.pane;
  if (detail === 'conversation') {
    let view = pane.firstElementChild;
    if (!(view?.localName === 'pz-conversation' && view.conversationId === id)) {
      view = document.createElement('pz-conversation');
      view.open(session, session.state.chat, id);
      replace(pane, view);
    }
    // From a search result: scrolled to the message once the page is in.
    const message = ctx.query.get('message');
    if (message) {
      const seq = Number(ctx.query.get('seq')) || null;
      const shown = /** @type {any} */ (view);
      session.state.chat.openLog(id).then(() => shown.showMessage(message, seq), () => {});
    }
  } else if (detail === 'info') {
    replace(pane, groupInfoView(ctx));
  } else if (detail === 'new-group') {
    replace(pane, newGroupView(ctx));
  } else if (detail === 'join') {
    replace(pane, joinView(ctx));
  } else {
    replace(pane, emptyState({ iconName: 'chat', title: t('chat.pick') }));
  }
  return chats;
}
