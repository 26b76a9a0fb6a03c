// <pz-chat-list>: the conversations, most recent first, with the last
// message and the unread badge; entries are kept (by id) and moved, so a
// live reorder does not lose keyboard focus.

import { h, replace, shortTime } from '../../lib/dom.js';
import { language, t } from '../../lib/i18n.js';
import { messageSummary } from './summary.js';
import { avatar, emptyState, iconButton, listRow, setBadge } from '../../lib/ui.js';
import { notifyBanner, shouldAsk } from './notify.js';

export class ChatList extends HTMLElement {
  /** The account's session and chat state, given before it is connected. */
  /** @type {any} */ session;
  /** @type {import('./state.js').ChatState} */ state;
  connectedCallback() {
    if (!this.built) this.build();
    this.onChanged = () => this.schedule();
    this.state.addEventListener('changed', this.onChanged);
    this.schedule();
  }

  disconnectedCallback() {
    this.state.removeEventListener('changed', this.onChanged);
  }

  build() {
    this.built = true;
    this.entries = new Map();
    this.list = h('ul', { class: 'chat-list rows-list', 'aria-label': t('chat.list_label') });
    this.empty = emptyState({
      iconName: 'chat',
      title: t('chat.empty_title'),
      text: t('chat.empty'),
      action: h('a', { class: 'button primary', href: '#/contacts' }, t('chat.find_contacts')),
      testid: 'empty-chats',
    });
    this.empty.hidden = true;
    this.banner = h('div', { class: 'chat-list-banner' }, shouldAsk() ? notifyBanner() : null);
    replace(
      this,
      h(
        'div',
        { class: 'pane-header' },
        h('h1', {}, t('chat.title')),
        iconButton('compose', t('chat.new_chat'), {
          'data-testid': 'new-chat',
          onclick: () => import('./new-chat.js').then((m) => m.newChatDialog(this.session)),
        }),
      ),
      this.banner,
      this.empty,
      this.list,
    );
    this.onPerson = () => this.schedule();
    this.session.addEventListener('person', this.onPerson);
  }

  schedule() {
    if (this.pending) return;
    this.pending = requestAnimationFrame(() => {
      this.pending = null;
      this.render();
    });
  }

  set current(id) {
    this.currentId = id;
    this.schedule();
  }

  render() {
    if (!this.state.loaded) return;
    const conversations = this.state.list();
    this.empty.hidden = conversations.length > 0;
    const seen = new Set();
    let previous = null;
    for (const conversation of conversations) {
      const id = conversation.conversation_id;
      seen.add(id);
      let entry = this.entries.get(id);
      if (!entry) {
        entry = this.entry(id);
        this.entries.set(id, entry);
      }
      this.fill(entry, conversation);
      const expected = previous ? previous.nextSibling : this.list.firstChild;
      if (expected !== entry.item) {
        if (previous) previous.after(entry.item);
        else this.list.prepend(entry.item);
      }
      previous = entry.item;
    }
    for (const [id, entry] of this.entries) {
      if (!seen.has(id)) {
        entry.item.remove();
        this.entries.delete(id);
      }
    }
    if (!this.painted) {
      this.painted = true;
      // First paint of the list with its data, for the timing in the tests.
      requestAnimationFrame(() => performance.mark('piazza:chat-list-painted'));
    }
  }

  entry(id) {
    const row = listRow({ href: `#/chats/${encodeURIComponent(id)}`, dataset: { conversationId: id } });
    row.main.dataset.conversationId = id;
    return { ...row, link: row.main, avatarKey: null };
  }

  fill(entry, conversation) {
    const session = this.session;
    const title = this.state.title(conversation.conversation_id);
    entry.title.textContent = title;
    const face = this.state.face(conversation.conversation_id);
    const avatarKey = `${face.account_id ?? face.conversation_id}|${face.avatar_media_id ?? ''}|${title}`;
    if (entry.avatarKey !== avatarKey) {
      entry.avatarKey = avatarKey;
      replace(entry.avatar, avatar(session, { ...face, title }));
    }
    const last = conversation.last;
    entry.meta.textContent = last ? shortTime(last.sent_at, language()) : '';
    let preview = '';
    if (last) {
      const who = last.sender === session.me ? t('chat.you') : session.name(last.sender);
      const body = messageSummary(last, session, () => this.schedule());
      // A recall line names who recalled; others name the sender in a group, or me.
      const named = !last.recalled && (conversation.kind === 'group' || last.sender === session.me);
      preview = named ? `${who}: ${body}` : body;
    }
    entry.subtitle.textContent = preview;
    entry.subtitle.hidden = !preview;
    const unread = conversation.unread ?? 0;
    const muted = this.state.isMuted(conversation.conversation_id);
    setBadge(entry.badge, unread, { muted, label: t('chat.unread', { count: unread }) });
    entry.item.classList.toggle('unread', unread > 0);
    entry.item.classList.toggle('muted', muted);
    if (this.currentId === conversation.conversation_id) entry.link.setAttribute('aria-current', 'page');
    else entry.link.removeAttribute('aria-current');
  }
}

customElements.define('pz-chat-list', ChatList);
