// <pz-chat-list>: the conversations, pinned first, then the most recent,
// each with its last message (the sender named in a group), its unread
// count (grey when muted), an "@" when it mentions me, a pin and a muted
// bell, "Bob is typing…" in place of the last message while someone is,
// and a green dot on a direct chat whose person is online; entries are kept (by id) and moved, so a live reorder does not
// lose keyboard focus. Archived conversations leave the list for a row of
// their own, "Archived (n)", which opens them in its place. Each entry's
// "…" (on a desktop shown on hover or focus), a right click or a long
// press opens its menu: Pin, Mute, Archive.

import { h, icon, replace, shortTime } from '../../lib/dom.js';
import { language, t } from '../../lib/i18n.js';
import { messageSummary } from './summary.js';
import { avatar, emptyState, iconButton, listRow, onlineDot, setBadge } from '../../lib/ui.js';
import { notifyBanner, shouldAsk } from './notify.js';
import { closeMessageMenu } from './message-menu.js';
import { openConversationMenu } from './conversation-menu.js';

export class ChatList extends HTMLElement {
  /** The account's session and chat state, given before it is connected. */
  /** @type {any} */ session;
  /** @type {import('./state.js').ChatState} */ state;
  connectedCallback() {
    if (!this.built) this.build();
    this.onChanged = () => this.schedule();
    this.state.addEventListener('changed', this.onChanged);
    this.state.typing.addEventListener('typing', this.onChanged);
    this.session.presence?.addEventListener('change', this.onChanged);
    this.schedule();
  }

  disconnectedCallback() {
    this.state.removeEventListener('changed', this.onChanged);
    this.state.typing.removeEventListener('typing', this.onChanged);
    this.session.presence?.removeEventListener('change', this.onChanged);
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
    this.buildArchive();
    replace(
      this,
      h(
        'div',
        { class: 'pane-header' },
        h('h1', {}, t('chat.title')),
        h('a', { class: 'icon-button', href: '#/search', 'aria-label': t('search.open'), title: t('search.open'), 'data-testid': 'open-search' }, icon('search')),
        iconButton('compose', t('chat.new_chat'), {
          'data-testid': 'new-chat',
          onclick: () => import('./new-chat.js').then((m) => m.newChatDialog(this.session)),
        }),
      ),
      this.banner,
      this.archiveHeader,
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

  /**
   * The "Archived (n)" row over the list (its count grey: what is unread
   * there), and the heading that replaces the list's while the archive is
   * shown, with its way back.
   */
  buildArchive() {
    this.archived = false;
    this.archiveRow = listRow({
      onclick: () => this.showArchive(true),
      avatar: h('span', { class: 'avatar avatar-md archive-avatar', 'aria-hidden': 'true' }, icon('archive')),
      testid: 'archived-row',
    });
    this.archiveRow.item.classList.add('archived-row');
    this.archiveHeader = h(
      'div',
      { class: 'archive-header', hidden: true },
      iconButton('back', t('chat.archived_back'), { 'data-testid': 'archived-back', onclick: () => this.showArchive(false) }),
      h('h2', {}, t('chat.archived_title')),
    );
  }

  showArchive(shown) {
    this.archived = shown;
    this.render();
    (shown ? this.archiveHeader.querySelector('button') : this.archiveRow.main).focus({ preventScroll: true });
  }

  render() {
    if (!this.state.loaded) return;
    const all = this.state.list();
    const archived = all.filter((c) => c.archived);
    if (!archived.length) this.archived = false;
    const conversations = all.filter((c) => c.archived === this.archived);
    this.empty.hidden = all.length > 0;
    this.archiveHeader.hidden = !this.archived;
    const seen = new Set();
    let previous = null;
    if (!this.archived && archived.length) {
      this.fillArchiveRow(archived);
      if (this.list.firstChild !== this.archiveRow.item) this.list.prepend(this.archiveRow.item);
      previous = this.archiveRow.item;
    } else {
      this.archiveRow.item.remove();
    }
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

  /** "Archived (3)", with what is unread there on a grey count. */
  fillArchiveRow(archived) {
    this.archiveRow.title.textContent = t('chat.archived_count', { count: archived.length });
    const unread = archived.reduce((sum, c) => sum + (c.unread ?? 0), 0);
    setBadge(this.archiveRow.badge, unread, { muted: true, label: t('chat.unread', { count: unread }) });
  }

  /**
   * A conversation's entry: the link, the marks beside its title (pin,
   * muted bell), the "@" beside its count, and its menu's "…".
   */
  entry(id) {
    const more = iconButton('more', t('chat.conversation_menu'), {
      class: 'row-more',
      'data-testid': 'conversation-actions',
      'aria-haspopup': 'menu',
      'aria-expanded': 'false',
      onclick: () => {
        if (more.getAttribute('aria-expanded') === 'true') closeMessageMenu();
        else openConversationMenu(this.state, id, { opener: more });
      },
    });
    const row = listRow({ href: `#/chats/${encodeURIComponent(id)}`, dataset: { conversationId: id }, trailing: more });
    row.main.dataset.conversationId = id;
    const marks = h('span', { class: 'row-marks' });
    row.title.after(marks);
    const mention = h('span', { class: 'badge mention', 'data-testid': 'mention-badge', hidden: true }, '@');
    row.badge.before(mention);
    // A right click, or a phone's long press, opens the same menu.
    row.item.addEventListener('contextmenu', (e) => {
      e.preventDefault();
      openConversationMenu(this.state, id, { opener: more, at: { x: e.clientX, y: e.clientY } });
    });
    return { ...row, link: row.main, avatarKey: null, marks, marksKey: null, mention };
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
    const online = conversation.kind === 'direct' && !!session.presence?.isOnline(face.account_id);
    onlineDot(entry.avatar, online);
    entry.item.dataset.online = String(online);
    const last = conversation.last;
    entry.meta.textContent = last ? shortTime(last.sent_at, language()) : '';
    // Someone typing takes the last message's place.
    const typing = this.state.typing.text(conversation.conversation_id);
    const preview = typing || this.preview(conversation);
    entry.subtitle.textContent = preview;
    entry.subtitle.hidden = !preview;
    entry.subtitle.classList.toggle('typing', !!typing);
    entry.item.dataset.typing = String(!!typing);
    const unread = conversation.unread ?? 0;
    const muted = !!conversation.muted;
    setBadge(entry.badge, unread, { muted, label: t('chat.unread', { count: unread }) });
    const mentions = conversation.mentions ?? 0;
    entry.mention.hidden = !mentions;
    entry.mention.setAttribute('aria-label', t('chat.mentioned', { count: mentions }));
    entry.mention.title = t('chat.mentioned', { count: mentions });
    entry.item.classList.toggle('unread', unread > 0);
    entry.item.classList.toggle('muted', muted);
    this.fillMarks(entry, conversation);
    if (this.currentId === conversation.conversation_id) entry.link.setAttribute('aria-current', 'page');
    else entry.link.removeAttribute('aria-current');
  }

  /** The last message in a line: the sender named in a group, or me; a recall line names who recalled. */
  preview(conversation) {
    const last = conversation.last;
    if (!last) return '';
    const session = this.session;
    const who = last.sender === session.me ? t('chat.you') : session.name(last.sender);
    const body = messageSummary(last, session, () => this.schedule());
    const named = !last.recalled && (conversation.kind === 'group' || last.sender === session.me);
    return named ? `${who}: ${body}` : body;
  }

  /** The pin and the muted bell beside the title, named for screen readers. */
  fillMarks(entry, { pinned, muted }) {
    Object.assign(entry.item.dataset, { pinned: String(!!pinned), muted: String(!!muted) });
    const key = `${!!pinned}|${!!muted}`;
    if (entry.marksKey === key) return;
    entry.marksKey = key;
    const mark = (name, label) => h('span', { class: `row-mark ${name}`, title: label }, icon(name), h('span', { class: 'sr-only' }, label));
    replace(entry.marks, pinned ? mark('pin', t('chat.pinned')) : null, muted ? mark('bell-off', t('chat.muted')) : null);
  }
}

customElements.define('pz-chat-list', ChatList);
