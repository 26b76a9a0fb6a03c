// The chat state of one account: its conversations (with the last message
// and the unread count, kept current by sync events) and the messages of
// the conversations opened so far, and my own settings of each (muted,
// pinned, archived: the server's, the same on every device of mine).
// Views listen for 'changed' (the list),
// 'messages' (one conversation's messages, detail = conversation id),
// 'recalled' (a message held here was just recalled, detail =
// {conversation_id, message}) and 'deleted' (I deleted a message for
// myself, here or on another of my devices, detail = {conversation_id,
// seq}): it leaves its log and is never taken in again; 'refused' (the
// server refused a send for good, detail = {conversation_id, error});
// `typing` says who is typing where (its own 'typing' events). A message's
// reactions (`reactions`, as history gives them: each emoji once, with
// its count and who reacted) change by account, so an event told twice,
// or my own change followed by its event, counts once.

import { newClientMsgId } from '../../lib/dom.js';
import { t } from '../../lib/i18n.js';
import { mentionsMe, remainingMentions, wireFields } from './fields.js';
import { Typing } from './typing.js';

/** Messages fetched per history page. */
export const HISTORY_PAGE_LEN = 100;
/** How long a send may take before it shows as failed. */
const SEND_TIMEOUT_MS = 10000;
/**
 * Where an older client kept the muted conversations of an account, in
 * this browser only: taken to the server once, then forgotten.
 */
const MUTED_KEY = 'piazza.muted.';
/** How long its sender may recall a message (the server's `limits.recall_window_s`). */
const RECALL_MS = 2 * 60 * 1000;
/** How long a group's owner may recall anyone's message (`limits.group_recall_window_s`). */
const GROUP_RECALL_MS = 24 * 60 * 60 * 1000;
/** The kinds of message a recall takes back (never money's). */
const RECALLABLE_KINDS = new Set(['text', 'image', 'file', 'voice', 'video', 'location', 'contact_card', 'article_card', 'product_card']);

/**
 * A message as a recall leaves it: no text, no picture, and who recalled
 * it when that is known (the live event says; history only says it was).
 */
export function asRecalled(message, by = null) {
  const gone = { location: undefined, card: undefined, article: undefined, product: undefined, attachment: undefined, duration_ms: undefined, forward_of: undefined, reply_to: undefined, mentions: undefined, mention_all: undefined };
  return { ...message, ...gone, text: '', ref: null, reactions: undefined, recalled: true, recalled_by: by ?? message.recalled_by ?? null };
}

/**
 * One emoji on a message, as history gives it: how many chose it, who
 * (the first ones: a history page may name only some), and whether I did
 * (`mine`; from `accounts` when the server does not say). `left`: those
 * seen taking it back, so a removal told twice is counted once.
 * @typedef {{ emoji: string, count: number, accounts: string[], mine?: boolean, left?: string[] }} Reaction
 */

/**
 * Whether I am among those who chose `reaction`.
 * @param {Reaction} reaction
 * @param {string} me
 */
export function reactedByMe(reaction, me) {
  return reaction.mine ?? reaction.accounts.includes(me);
}

/**
 * Whether `account` is on `reaction` as far as this client knows: mine is
 * known, a named account is; one not named is taken off only while some
 * of the count are not named and it was not seen leaving.
 * @param {Reaction} reaction
 */
function isOn(reaction, account, me) {
  if (account === me) return reactedByMe(reaction, me);
  if (reaction.accounts.includes(account)) return true;
  const meUnnamed = reactedByMe(reaction, me) && !reaction.accounts.includes(me) ? 1 : 0;
  const unnamed = reaction.count - reaction.accounts.length - meUnnamed;
  return unnamed > 0 && !(reaction.left ?? []).includes(account) ? null : false;
}

/**
 * `reactions` with `account`'s `emoji` added or taken back (an emoji left
 * on nobody goes; a new one goes last, as the server orders them), or
 * null when that changes nothing: the same change twice counts once.
 * @param {Reaction[] | undefined} reactions
 * @param {{ account: string, emoji: string, added: boolean, me: string }} change
 * @returns {Reaction[] | null}
 */
export function withReaction(reactions, { account, emoji, added, me }) {
  const list = reactions ?? [];
  const index = list.findIndex((r) => r.emoji === emoji);
  const old = index >= 0 ? list[index] : { emoji, count: 0, accounts: [], mine: false };
  // null: an account not named, on it for all we know (a removal counts).
  const on = isOn(old, account, me);
  if (added ? on === true : on === false) return null;
  const left = (old.left ?? []).filter((a) => a !== account);
  const next = {
    emoji,
    count: old.count + (added ? 1 : -1),
    accounts: added ? [...old.accounts, account] : old.accounts.filter((a) => a !== account),
    mine: account === me ? added : reactedByMe(old, me),
    left: added ? left : [...left, account],
  };
  const changed = list.slice();
  if (next.count <= 0) changed.splice(index, 1);
  else if (index < 0) changed.push(next);
  else changed[index] = next;
  return changed;
}

/** One conversation's messages, oldest first, plus sends not yet stored. */
export class MessageLog {
  constructor() {
    this.items = [];
    this.seqs = new Set();
    this.pending = [];
    /** seq → who recalled it, for messages recalled before (or while) their page arrives. */
    this.recalls = new Map();
    /** The seqs I deleted for myself: a later page or a late `message.new` does not bring them back. */
    this.deleted = new Set();
    /** The oldest seq deleted from `items`, so paging goes on below it. */
    this.deletedFloor = null;
    /**
     * Reaction events of messages not held while a page is on its way: the
     * page may have been read before them, so they are applied to it.
     * @type {{ seq: number, change: { account: string, emoji: string, added: boolean, me: string } }[]}
     */
    this.reactionsLater = [];
    this.hasMore = true;
    this.loaded = false;
    this.loading = null;
  }

  /** Everything to show, in order: stored messages, then pending sends. */
  all() {
    return this.pending.length ? this.items.concat(this.pending) : this.items;
  }

  oldestSeq() {
    const oldest = Math.min(this.items[0]?.seq ?? Infinity, this.deletedFloor ?? Infinity);
    return Number.isFinite(oldest) ? oldest : null;
  }

  newestSeq() {
    return this.items.length ? this.items[this.items.length - 1].seq : 0;
  }

  /** Adds stored messages (any order); a repeat of a known seq is ignored. */
  merge(messages) {
    let added = false;
    for (const message of messages) {
      if (this.seqs.has(message.seq) || this.deleted.has(message.seq)) continue;
      this.seqs.add(message.seq);
      const mine = this.pending.findIndex((p) => p.client_msg_id === message.client_msg_id);
      if (mine >= 0 && this.pending[mine].sender === message.sender) this.pending.splice(mine, 1);
      this.items.push(this.withRecall({ ...message, status: 'sent' }));
      added = true;
    }
    if (added) this.items.sort((a, b) => a.seq - b.seq);
    const later = this.reactionsLater;
    this.reactionsLater = [];
    for (const { seq, change } of later) this.react(seq, change);
    return added;
  }

  /** `message` as this log knows it: recalled if a recall of its seq was seen. */
  withRecall(message) {
    return this.recalls.has(message.seq) ? asRecalled(message, this.recalls.get(message.seq)) : message;
  }

  /**
   * Message `seq` was recalled (by `by`, when known): it is shown so from
   * now on, and so is a copy of it arriving later with an older page.
   * True if a message held here changed.
   */
  recall(seq, by) {
    this.recalls.set(seq, by ?? this.recalls.get(seq) ?? null);
    const index = this.items.findIndex((m) => m.seq === seq);
    if (index < 0) return false;
    this.items[index] = asRecalled(this.items[index], by);
    return true;
  }

  /**
   * `change.account` reacted to message `seq` with `change.emoji`
   * (`added`) or took it back (`withReaction`: the same change twice
   * counts once; `me` is this account). A message not held yet while a
   * page is on its way gets it when the page comes. True if a message
   * held here changed.
   */
  react(seq, change) {
    const index = this.items.findIndex((m) => m.seq === seq);
    if (index < 0) {
      if (this.loading && !this.deleted.has(seq)) this.reactionsLater.push({ seq, change });
      return false;
    }
    const message = this.items[index];
    // A recall took its reactions away; it takes no more.
    if (message.recalled) return false;
    const reactions = withReaction(message.reactions, change);
    if (!reactions) return false;
    this.items[index] = { ...message, reactions: reactions.length ? reactions : undefined };
    return true;
  }

  /**
   * Message `seq` was deleted for me: it leaves the log, and a copy of it
   * arriving later (an older page, a late `message.new`) is left out.
   * True if a message held here went.
   */
  remove(seq) {
    this.deleted.add(seq);
    const index = this.items.findIndex((m) => m.seq === seq);
    if (index < 0) return false;
    this.items.splice(index, 1);
    this.deletedFloor = Math.min(this.deletedFloor ?? seq, seq);
    return true;
  }

  /** The newest stored message older than `seq`, or null if none is held. */
  newestBefore(seq) {
    for (let i = this.items.length - 1; i >= 0; i -= 1) {
      if (this.items[i].seq < seq) return this.items[i];
    }
    return null;
  }
}

/**
 * What live events taught about a conversation after its snapshot was
 * taken: a message that arrived while the list was on its way is not
 * taken back by it (its count, its position, my read position).
 * @param {any} known what this client knew before the snapshot
 * @param {any} view the snapshot's view of the conversation
 */
function fresherThan(known, view) {
  if (!known || known.last_seq <= view.last_seq) return {};
  return {
    last_seq: known.last_seq,
    unread: known.unread,
    mentions: known.mentions,
    mention_seqs: known.mention_seqs,
    read_seq: Math.max(known.read_seq ?? 0, view.read_seq ?? 0),
    activity: known.activity,
  };
}

/**
 * A conversation as the list's snapshot gives it, with what this client
 * keeps beside: the unread mentions (`mentions`, and the seqs of those
 * that came live, so a partial read knows which stay), the last message
 * (`last`: the one held here when it is as new, with all its fields) and
 * the time of its last activity (`activity`, what the list sorts by).
 */
function fromSnapshot(view, known, log, index) {
  const shown = view.last_message && !log.deleted.has(view.last_message.seq);
  const last = shown ? log.withRecall({ ...view.last_message, conversation_id: view.conversation_id }) : null;
  return {
    ...view,
    unread: view.unread_count ?? view.unread ?? 0,
    mentions: view.mention_count ?? 0,
    // The snapshot's mentions are all at or below its last seq.
    mention_seqs: [],
    mentions_base: { count: view.mention_count ?? 0, seq: view.last_seq },
    last: known?.last && known.last.seq >= (last?.seq ?? 0) ? known.last : last,
    activity: Date.parse(view.last_activity_at ?? '') || Date.parse(last?.sent_at ?? '') || 0,
    rank: index,
    muted: !!view.muted,
    pinned: !!view.pinned,
    archived: !!view.archived,
  };
}

export class ChatState extends EventTarget {
  constructor(session) {
    super();
    this.session = session;
    this.conversations = new Map();
    this.logs = new Map();
    this.members = new Map();
    /** Each group's admins (besides its owner), as the log tells them. */
    this.admins = new Map();
    this.viewing = null;
    this.loaded = false;
    this.reloadTimer = null;
    /** Quoted messages fetched for replies, by `conversation|message_id`: `{message}` or `{missing: true}`. */
    this.quotes = new Map();
    /** Who is typing where (live only: `typing` events are never in the log). */
    this.typing = new Typing(session);
    session.addEventListener('event', (e) => this.apply(e.detail));
    session.addEventListener('connected', (e) => {
      // A fresh socket (no cursor yet) only carries what happens from now
      // on; the snapshot is taken again so nothing in between is missed.
      if (!e.detail.resumed) this.load();
    });
  }

  /**
   * Conversations as the server orders them: pinned first, then by last
   * activity, newest first (a message arriving live moves its
   * conversation up, below the pinned ones).
   */
  list() {
    return [...this.conversations.values()].sort(
      (a, b) => Number(b.pinned) - Number(a.pinned) || b.activity - a.activity || (a.rank ?? 0) - (b.rank ?? 0),
    );
  }

  async load() {
    // Loads may overlap (start, socket connect, membership events); only
    // the answer to the latest one is applied, so an old snapshot never
    // overwrites a newer one.
    const ticket = (this.loadTicket = (this.loadTicket ?? 0) + 1);
    const answer = await this.session.api.conversations();
    if (ticket !== this.loadTicket) return;
    const reread = [];
    answer.conversations.forEach((view, index) => {
      const known = this.conversations.get(view.conversation_id);
      // A read position only moves forward: a receipt that arrived while
      // this snapshot was on its way is not taken back by it.
      const peerRead = view.kind === 'direct' ? Math.max(view.peer_read_seq ?? 0, known?.peer_read_seq ?? 0) : null;
      if (peerRead && peerRead !== known?.peer_read_seq) reread.push(view.conversation_id);
      this.conversations.set(view.conversation_id, {
        ...fromSnapshot(view, known, this.log(view.conversation_id), index),
        ...fresherThan(known, view),
        peer_read_seq: peerRead,
      });
    });
    for (const id of [...this.conversations.keys()]) {
      if (!answer.conversations.some((c) => c.conversation_id === id)) this.conversations.delete(id);
    }
    this.loaded = true;
    this.changed();
    // An open conversation shows its read marks once the peer's position is known.
    for (const id of reread) this.dispatchEvent(new CustomEvent('messages', { detail: id }));
    this.adoptOldMutes();
  }

  /**
   * The tab counts what is unread in the conversations that may call for
   * attention: not the muted ones (a grey count of their own), nor the
   * archived ones (counted on the list's Archived row).
   */
  changed() {
    let unread = 0;
    for (const conversation of this.conversations.values()) {
      if (!conversation.muted && !conversation.archived) unread += conversation.unread ?? 0;
    }
    this.session.setBadge('chat', unread);
    this.dispatchEvent(new Event('changed'));
  }

  isMuted(conversationId) {
    return !!this.conversations.get(conversationId)?.muted;
  }

  /** Mutes (no notification, no sound, not counted on the tab) or unmutes a conversation. */
  setMuted(conversationId, muted) {
    return this.updateSettings(conversationId, { muted });
  }

  /**
   * Changes my own settings of a conversation (`{muted?, pinned?,
   * archived?}`) on the server, which tells my other devices; shown here
   * from its answer. Its refusal is thrown (an ApiError: `limit_reached`
   * past ten pinned).
   */
  async updateSettings(conversationId, changes) {
    this.noteSettings(await this.session.api.conversationSettings(conversationId, changes));
  }

  /** My settings of a conversation as the server now has them (its answer, or `conversation.settings`). */
  noteSettings({ conversation_id: id, muted, pinned, archived }) {
    const conversation = this.conversations.get(id);
    if (!conversation) return;
    Object.assign(conversation, { muted: !!muted, pinned: !!pinned, archived: !!archived });
    this.changed();
  }

  /**
   * An older client of this browser kept mutes in localStorage: they are
   * taken to the server once (so every device has them), then forgotten.
   */
  adoptOldMutes() {
    const key = MUTED_KEY + this.session.me;
    let ids = [];
    try {
      const list = JSON.parse(localStorage.getItem(key) ?? '[]');
      if (Array.isArray(list)) ids = list.filter((id) => typeof id === 'string');
      localStorage.removeItem(key);
    } catch {
      return;
    }
    for (const id of ids) {
      if (this.conversations.has(id) && !this.isMuted(id)) this.setMuted(id, true).catch(() => {});
    }
  }

  /**
   * The other person of a direct conversation, as far as known: from the
   * membership events, else from a message they sent; null if neither
   * is known yet (`loadPeer` finds out).
   */
  peerOf(conversationId) {
    const conversation = this.conversations.get(conversationId);
    if (conversation?.kind !== 'direct') return null;
    if (conversation.peer) return conversation.peer;
    const me = this.session.me;
    const members = this.members.get(conversationId);
    if (members) for (const id of members) if (id !== me) return id;
    if (conversation.last && conversation.last.sender !== me) return conversation.last.sender;
    const log = this.logs.get(conversationId);
    const theirs = log?.items.find((m) => m.sender !== me);
    return theirs?.sender ?? null;
  }

  /** The peer of a direct conversation, reading the membership from the log if need be. */
  async loadPeer(conversationId) {
    const known = this.peerOf(conversationId);
    if (known) return known;
    const members = await this.loadMembers(conversationId);
    for (const id of members) if (id !== this.session.me) return id;
    return null;
  }

  /**
   * A conversation's name: a group's title, an order's (the server's
   * "Shop · ord_12"), or the peer's name as this session knows it now (a
   * profile change arrives as an event, while the server's `title` is
   * from the last snapshot).
   */
  title(conversationId) {
    const conversation = this.conversations.get(conversationId);
    if (conversation?.kind === 'group') return conversation.title || t('group.untitled');
    if (conversation?.kind === 'order') return conversation.title || t('chat.kind.order');
    const peer = this.peerOf(conversationId);
    const person = peer ? this.session.people.get(peer) : null;
    return person?.remark || conversation?.remark || person?.display_name || conversation?.title || person?.username || t('chat.direct');
  }

  /**
   * What a conversation looks like in a list or a header: the peer (name
   * and picture) of a direct chat, else the group itself.
   */
  face(conversationId) {
    const conversation = this.conversations.get(conversationId) ?? { conversation_id: conversationId };
    const peer = this.peerOf(conversationId);
    if (peer) {
      const person = this.session.people.get(peer) ?? {};
      // The list's picture of a direct chat is the peer's.
      return { ...person, account_id: peer, avatar_media_id: person.avatar_media_id ?? conversation.avatar_media_id };
    }
    return {
      conversation_id: conversationId,
      title: conversation.title,
      avatar_media_id: conversation.avatar_media_id,
    };
  }

  /**
   * Whether the peer of a direct conversation has read my message `seq`
   * (read receipts: the list's `peer_read_seq`, then `read.receipt`
   * events and the peer's own messages). Never in a group.
   */
  readByPeer(conversationId, seq) {
    const conversation = this.conversations.get(conversationId);
    return conversation?.kind === 'direct' && !!seq && seq <= (conversation.peer_read_seq ?? 0);
  }

  /** The peer of a direct conversation has read it up to `seq`; true if that is news. */
  notePeerRead(conversationId, seq) {
    const conversation = this.conversations.get(conversationId);
    if (conversation?.kind !== 'direct' || seq <= (conversation.peer_read_seq ?? 0)) return false;
    conversation.peer_read_seq = seq;
    return true;
  }

  log(conversationId) {
    let log = this.logs.get(conversationId);
    if (!log) {
      log = new MessageLog();
      this.logs.set(conversationId, log);
    }
    return log;
  }

  /** The newest page, once per conversation; later ones come from sync. */
  async openLog(conversationId) {
    const log = this.log(conversationId);
    if (!log.loaded && !log.loading) {
      log.loading = this.session.api
        .history(conversationId, null, HISTORY_PAGE_LEN)
        .then((page) => {
          log.merge(page.messages);
          log.hasMore = page.has_more;
          log.loaded = true;
        })
        .finally(() => (log.loading = null));
    }
    await log.loading;
    this.dispatchEvent(new CustomEvent('messages', { detail: conversationId }));
    return log;
  }

  /** The page before the oldest message held; false when there is none. */
  async loadOlder(conversationId) {
    const log = this.log(conversationId);
    if (!log.hasMore || log.loading) return false;
    log.loading = this.session.api
      .history(conversationId, log.oldestSeq(), HISTORY_PAGE_LEN)
      .then((page) => {
        log.merge(page.messages);
        log.hasMore = page.has_more;
      })
      .finally(() => (log.loading = null));
    await log.loading;
    return true;
  }

  /**
   * Sends a message: a text by default; `content` holds what else it is
   * or carries (`kind`, `ref`, `file`, `location`, `card`, `article`, `product`, `forward_of`,
   * `reply_to`, `mentions`, `mention_all`), as a stored message holds it,
   * so the pending row shows what the stored one will.
   * @param {string} conversationId
   * @param {string} text
   * @param {Record<string, any>} [content]
   */
  send(conversationId, text, content = {}) {
    const item = {
      client_msg_id: newClientMsgId(),
      sender: this.session.me,
      kind: 'text',
      text,
      ...content,
      sent_at: new Date().toISOString(),
      seq: null,
      status: 'sending',
    };
    this.log(conversationId).pending.push(item);
    this.transmit(conversationId, item);
  }

  /**
   * Sends an image (a File or Blob) with an optional caption: uploaded
   * first, then sent as a message naming it. A retry uploads again only
   * if the upload failed (the same bytes answer the same media anyway)
   * and keeps the client_msg_id. `extra`: a reply, mentions.
   */
  sendImage(conversationId, file, caption, extra = {}) {
    this.send(conversationId, caption, { ...extra, kind: 'image', ref: null, file });
  }

  /**
   * Sends a file, a video or a voice note (`kind`: file, video, voice): its
   * upload shows its progress ('progress' events) and may be cancelled
   * (`cancelSend`); a voice note carries the recorder's `durationMs`. The
   * pending row shows what the stored one will (`attachment`).
   * @param {string} conversationId
   * @param {Blob} file
   * @param {{ kind: 'file' | 'video' | 'voice', durationMs?: number | null, name?: string, extra?: Record<string, any> }} what
   */
  sendMedia(conversationId, file, { kind, durationMs = null, name = '', extra = {} }) {
    const fileName = name || /** @type {any} */ (file).name || '';
    const duration = durationMs && durationMs > 0 ? { duration_ms: Math.round(durationMs) } : {};
    this.send(conversationId, '', {
      ...extra,
      kind,
      ref: null,
      file,
      name: fileName,
      ...duration,
      attachment: { content_type: file.type || 'application/octet-stream', bytes: file.size, ...(fileName ? { name: fileName } : {}), ...duration },
      progress: 0,
    });
  }

  /**
   * Gives up a send whose media is uploading (the upload stops) or failed:
   * its row goes, nothing is stored.
   */
  cancelSend(conversationId, clientMsgId) {
    const log = this.log(conversationId);
    const index = log.pending.findIndex((p) => p.client_msg_id === clientMsgId);
    if (index < 0) return;
    const [item] = log.pending.splice(index, 1);
    item.cancelled = true;
    item.upload?.abort();
    this.dispatchEvent(new CustomEvent('messages', { detail: conversationId }));
  }

  /** Sends a place, `{lat, lon, name?}`, with a reply or mentions in `extra`. */
  sendLocation(conversationId, location, extra = {}) {
    this.send(conversationId, '', { ...extra, kind: 'location', location });
  }

  /**
   * Sends a contact card of `person` (me or one of my contacts: `{account_id,
   * username, display_name, avatar_media_id?}`, shown so until stored).
   */
  sendCard(conversationId, person, extra = {}) {
    const { account_id, username, display_name, avatar_media_id } = person;
    this.send(conversationId, '', { ...extra, kind: 'contact_card', card: { account_id, username, display_name, avatar_media_id } });
  }

  /**
   * Shares a channel's article as a card: `article` as an article view or
   * a card shows it (`article_id`, `title`, `channel_id`, `handle`,
   * `channel_name`, `cover_media_id?`, `url`), shown so until stored.
   */
  sendArticle(conversationId, article, extra = {}) {
    const { article_id, title, channel_id, handle, channel_name, cover_media_id, url } = article;
    this.send(conversationId, '', { ...extra, kind: 'article_card', article: { article_id, title, channel_id, handle, channel_name, cover_media_id, url } });
  }

  /**
   * Shares a shop's product as a card: `product` as a card shows it
   * (`product_id`, `title`, `picture_media_id?`, `min_price_minor`,
   * `max_price_minor`, `currency`, `shop_id`, `handle`, `shop_name`,
   * `url`), shown so until stored, when the server's snapshot replaces it.
   */
  sendProduct(conversationId, product, extra = {}) {
    const { product_id, title, picture_media_id, min_price_minor, max_price_minor, currency, shop_id, handle, shop_name, url } = product;
    const card = { product_id, title, picture_media_id, min_price_minor, max_price_minor, currency, shop_id, handle, shop_name, url };
    this.send(conversationId, '', { ...extra, kind: 'product_card', product: card });
  }

  /**
   * Forwards `message` of conversation `from` into conversation `to`: its
   * content (text, picture, place or card), nothing of its own. The
   * server copies it; the pending row shows the same meanwhile.
   */
  forward(to, from, message) {
    const { kind = 'text', text = '', ref = null, location, card, article, product, attachment } = message;
    this.send(to, text, {
      kind,
      ref,
      location,
      card,
      article,
      product,
      attachment,
      forward_of: { conversation_id: from, message_id: message.message_id },
    });
  }

  /** Sends again with the same client_msg_id, so nothing is stored twice. */
  retry(conversationId, clientMsgId) {
    const item = this.log(conversationId).pending.find((p) => p.client_msg_id === clientMsgId);
    if (item && item.status === 'failed') this.transmit(conversationId, item);
  }

  /**
   * Until when (ms since the epoch) I may recall `message`, or 0: my own
   * text, picture, place or card within two minutes, anyone's in a group I own within
   * a day; never money. A hint for what to offer: the server decides.
   */
  recallDeadline(conversationId, message) {
    if (message.recalled || !message.message_id || (message.status ?? 'sent') !== 'sent') return 0;
    if (!RECALLABLE_KINDS.has(message.kind ?? 'text')) return 0;
    const sentAt = Date.parse(message.sent_at);
    if (Number.isNaN(sentAt)) return 0;
    const conversation = this.conversations.get(conversationId);
    const owner = conversation?.kind === 'group' && this.manages(conversationId);
    const span = Math.max(message.sender === this.session.me ? RECALL_MS : 0, owner ? GROUP_RECALL_MS : 0);
    return span ? sentAt + span : 0;
  }

  /**
   * Whether I may delete `message` for myself: any stored one, mine or
   * theirs, of any kind, recalled too; not a send still on its way or
   * failed (that has Retry).
   */
  canDelete(message) {
    return !!message.message_id && (message.status ?? 'sent') === 'sent';
  }

  /** Recalls a stored message for everyone; the server's refusal is thrown (an ApiError). */
  async recall(conversationId, message) {
    const answer = await this.session.api.recall(conversationId, message.message_id);
    this.noteRecall(conversationId, answer?.seq ?? message.seq, this.session.me);
  }

  /**
   * Message `seq` of a conversation was recalled by `by`: its row and, if
   * it was the last one, the list's preview show the recall line instead.
   */
  noteRecall(conversationId, seq, by) {
    const log = this.log(conversationId);
    const news = log.items.some((m) => m.seq === seq && !m.recalled);
    log.recall(seq, by);
    // A reply quoting it says so too.
    for (const quote of this.quotes.values()) {
      if (quote.conversation_id === conversationId && quote.message?.seq === seq) quote.message = asRecalled(quote.message, by);
    }
    const conversation = this.conversations.get(conversationId);
    if (conversation?.last?.seq === seq) {
      conversation.last = asRecalled(conversation.last, by);
      this.changed();
    }
    this.dispatchEvent(new CustomEvent('messages', { detail: conversationId }));
    if (news) {
      const message = log.items.find((m) => m.seq === seq);
      this.dispatchEvent(new CustomEvent('recalled', { detail: { conversation_id: conversationId, message } }));
    }
  }

  /**
   * The message a reply quotes, as far as known now: `{message}` (held in
   * the log, or fetched once with GET …/messages/{id}), `{loading: true}`
   * while it is fetched (the rows are told with 'messages' when it
   * comes), or `{missing: true}` when it cannot be seen (deleted for me,
   * sent before I joined).
   * @returns {{ message?: any, loading?: boolean, missing?: boolean }}
   */
  quoted(conversationId, messageId) {
    const log = this.log(conversationId);
    // From the newest: a reply mostly answers a message just before it.
    const held = log.items.findLast((m) => m.message_id === messageId);
    if (held) return { message: held };
    const key = `${conversationId}|${messageId}`;
    let quote = this.quotes.get(key);
    if (!quote) {
      quote = { conversation_id: conversationId, loading: true };
      this.quotes.set(key, quote);
      this.session.api.message(conversationId, messageId).then(
        (message) => {
          if (log.deleted.has(message.seq)) quote.missing = true;
          else quote.message = log.withRecall(message);
        },
        () => (quote.missing = true),
      ).finally(() => {
        quote.loading = false;
        this.dispatchEvent(new CustomEvent('messages', { detail: conversationId }));
      });
    }
    return quote.message ? { message: quote.message } : quote.missing ? { missing: true } : { loading: true };
  }

  /**
   * Whether `message` takes reactions: a stored one (any kind, anyone's)
   * that is not recalled.
   */
  canReact(message) {
    return this.canDelete(message) && !message.recalled;
  }

  /** Whether I reacted to `message` with `emoji`. */
  reactedWith(message, emoji) {
    return !!message.reactions?.some((r) => r.emoji === emoji && reactedByMe(r, this.session.me));
  }

  /**
   * Reacts to a stored message with `emoji`, or takes my reaction back if
   * I had it. Shown once the server agrees; its `message.reaction` event
   * then changes nothing more. The server's refusal is thrown (an ApiError).
   */
  async toggleReaction(conversationId, message, emoji) {
    const added = !this.reactedWith(message, emoji);
    if (added) await this.session.api.react(conversationId, message.message_id, emoji);
    else await this.session.api.unreact(conversationId, message.message_id, emoji);
    this.noteReaction(conversationId, message.seq, this.session.me, emoji, added);
  }

  /** `account` reacted to message `seq` with `emoji`, or took it back (`message.reaction`). */
  noteReaction(conversationId, seq, account, emoji, added) {
    if (this.log(conversationId).react(seq, { account, emoji, added, me: this.session.me })) {
      this.dispatchEvent(new CustomEvent('messages', { detail: conversationId }));
    }
  }

  /**
   * Deletes a stored message (anyone's, any kind) from my history, on
   * every device of mine; the others in the chat keep it. The server's
   * refusal is thrown (an ApiError).
   */
  async deleteForMe(conversationId, message) {
    await this.session.api.deleteMessage(conversationId, message.message_id);
    this.noteDeleted(conversationId, message.seq);
  }

  /**
   * Message `seq` of a conversation was deleted for me (here, or on
   * another device: `message.deleted`): its row goes and, if it was the
   * last one, the list's preview falls back to the message before it
   * held here, or to none.
   */
  noteDeleted(conversationId, seq) {
    const log = this.log(conversationId);
    log.remove(seq);
    const conversation = this.conversations.get(conversationId);
    if (conversation?.last?.seq === seq) {
      conversation.last = log.newestBefore(seq);
      this.changed();
    }
    this.dispatchEvent(new CustomEvent('messages', { detail: conversationId }));
    this.dispatchEvent(new CustomEvent('deleted', { detail: { conversation_id: conversationId, seq } }));
  }

  async transmit(conversationId, item) {
    item.status = 'sending';
    this.dispatchEvent(new CustomEvent('messages', { detail: conversationId }));
    try {
      if (item.file && !item.ref) await this.upload(conversationId, item);
      const stored = await Promise.race([
        this.session.api.sendMessage(conversationId, item.client_msg_id, wireFields(item)),
        new Promise((_, reject) => {
          setTimeout(() => reject(new Error('timeout')), SEND_TIMEOUT_MS);
        }),
      ]);
      const { file: _file, upload: _upload, progress: _progress, error: _error, ...sent } = item;
      this.noteMessage(conversationId, { ...sent, ...stored });
    } catch (error) {
      // A cancelled upload's row is gone already.
      if (item.cancelled) return;
      if (this.log(conversationId).pending.includes(item)) item.status = 'failed';
      item.error = error;
      // A refusal (not a member, a forward not allowed, …) is said; a lost
      // connection or a busy server is left to Retry.
      const status = error?.status ?? 0;
      if ((status >= 400 && status < 500 && status !== 408 && status !== 429) || status === 507) {
        this.dispatchEvent(new CustomEvent('refused', { detail: { conversation_id: conversationId, error } }));
      }
    }
    this.dispatchEvent(new CustomEvent('messages', { detail: conversationId }));
  }

  /**
   * Uploads a send's file (its progress told as 'progress' events, detail
   * `{conversation_id, client_msg_id, loaded, total}`; `cancelSend` stops
   * it); the media id is kept, so a retry does not upload again.
   */
  async upload(conversationId, item) {
    const controller = new AbortController();
    item.upload = controller;
    item.error = null;
    const onProgress = (loaded, total) => {
      item.progress = total ? loaded / total : 0;
      const detail = { conversation_id: conversationId, client_msg_id: item.client_msg_id, loaded, total };
      this.dispatchEvent(new CustomEvent('progress', { detail }));
    };
    try {
      const name = item.kind === 'image' ? '' : item.name ?? '';
      const uploaded = await this.session.api.uploadFile(item.file, { name, onProgress, signal: controller.signal });
      item.ref = uploaded.media_id;
      item.attachment = { ...item.attachment, ...pick(uploaded, ['content_type', 'bytes', 'name', 'width', 'height', 'duration_ms']) };
      if (item.duration_ms) item.attachment.duration_ms = item.duration_ms;
    } finally {
      item.upload = null;
    }
  }

  /** A message known to be stored: into its log, the preview and the order. */
  noteMessage(conversationId, message) {
    const log = this.log(conversationId);
    // Deleted for me already (a log read from the start tells the message first).
    if (log.deleted.has(message.seq)) return false;
    const isNew = log.merge([message]);
    const conversation = this.conversations.get(conversationId);
    if (!conversation) {
      this.scheduleReload();
      return isNew;
    }
    if (message.seq > conversation.last_seq || !conversation.last) {
      const mine = message.sender === this.session.me;
      // A message counts until it is seen: in another conversation, or in
      // this one while the page is hidden (the title then says so).
      const seen = this.viewing === conversationId && document.visibilityState === 'visible';
      if (message.seq > conversation.last_seq && !mine && !seen) {
        conversation.unread += 1;
        if (mentionsMe(message, this.session.me)) {
          conversation.mentions = (conversation.mentions ?? 0) + 1;
          conversation.mention_seqs = [...(conversation.mention_seqs ?? []), message.seq];
        }
      }
      conversation.last_seq = Math.max(conversation.last_seq, message.seq);
      conversation.last = message;
      conversation.activity = Math.max(conversation.activity ?? 0, Date.parse(message.sent_at) || Date.now());
      if (mine) conversation.read_seq = Math.max(conversation.read_seq ?? 0, message.seq);
    }
    // The server counts sending as reading, without a receipt: the peer's
    // message is the receipt.
    if (message.sender !== this.session.me) this.notePeerRead(conversationId, message.seq);
    this.changed();
    return isNew;
  }

  /**
   * Marks everything up to `seq` read, on the server and here. What stays
   * unread is what lies past it, as the server counts (`last_seq -
   * read_seq`: one's own messages move the marker, so all past it are
   * the others').
   */
  markRead(conversationId, seq) {
    const conversation = this.conversations.get(conversationId);
    if (!conversation) return;
    const advanced = seq > (conversation.read_seq ?? 0);
    if (advanced) conversation.read_seq = seq;
    const unread = remainingUnread(conversation);
    if (advanced || unread !== conversation.unread) {
      conversation.unread = unread;
      conversation.mentions = remainingMentions(conversation);
      this.changed();
    }
    if (advanced) this.session.api.markRead(conversationId, seq).catch(() => {});
  }

  /**
   * A group's title, picture, announcement and approval mode as they now
   * are (`conversation.updated`), a member's new role, or a request to
   * join (to its owner and admins); an open group page hears of each
   * ('group').
   */
  noteGroup(event) {
    const conversation = this.conversations.get(event.conversation_id);
    if (event.type === 'conversation.role_changed') {
      noteRole(this.admins, event);
    } else if (event.type === 'conversation.updated' && conversation) {
      conversation.title = event.title;
      conversation.avatar_media_id = event.avatar_media_id ?? null;
      conversation.announcement = event.announcement ?? '';
      conversation.join_approval = !!event.join_approval;
    }
    this.changed();
    this.dispatchEvent(new CustomEvent('group', { detail: { conversationId: event.conversation_id } }));
  }

  apply(event) {
    switch (event.type) {
      case 'message.new': {
        // Their message ends their typing there.
        this.typing.stop(event.conversation_id, event.sender);
        const isNew = this.noteMessage(event.conversation_id, event);
        if (isNew) {
          this.dispatchEvent(new CustomEvent('messages', { detail: event.conversation_id }));
          // A message recalled before this device heard of it is not news.
          if (event.sender !== this.session.me && !event.recalled) {
            this.dispatchEvent(new CustomEvent('incoming', { detail: event }));
          }
        }
        break;
      }
      case 'message.recalled':
        this.noteRecall(event.conversation_id, event.seq, event.recalled_by);
        break;
      case 'conversation.settings':
        this.noteSettings(event);
        break;
      case 'message.deleted':
        this.noteDeleted(event.conversation_id, event.seq);
        break;
      case 'message.reaction':
        this.noteReaction(event.conversation_id, event.seq, event.account_id, event.emoji, event.added);
        break;
      case 'conversation.created':
        this.members.set(event.conversation_id, new Set(event.members ?? []));
        this.admins.set(event.conversation_id, new Set(event.admins ?? []));
        this.scheduleReload();
        break;
      case 'conversation.updated':
      case 'conversation.role_changed':
      case 'conversation.join_requested':
        this.noteGroup(event);
        break;
      case 'conversation.join_declined':
        // The requester learns its request no longer waits; the owner and
        // admins see it leave their lists.
        if (event.account_id === this.session.me) {
          this.dispatchEvent(new CustomEvent('join-declined', { detail: { conversationId: event.conversation_id, title: event.title } }));
        } else {
          this.noteGroup(event);
        }
        break;
      case 'conversation.member_added':
        this.members.get(event.conversation_id)?.add(event.account_id);
        this.dispatchEvent(new CustomEvent('group', { detail: { conversationId: event.conversation_id } }));
        this.scheduleReload();
        break;
      case 'conversation.member_removed':
        this.members.get(event.conversation_id)?.delete(event.account_id);
        this.admins.get(event.conversation_id)?.delete(event.account_id);
        if (event.owner) this.admins.get(event.conversation_id)?.delete(event.owner);
        this.dispatchEvent(new CustomEvent('group', { detail: { conversationId: event.conversation_id } }));
        if (event.account_id === this.session.me) {
          this.conversations.delete(event.conversation_id);
          this.changed();
        }
        this.scheduleReload();
        break;
      case 'read.marker': {
        const conversation = this.conversations.get(event.conversation_id);
        if (conversation && event.seq > (conversation.read_seq ?? 0)) {
          conversation.read_seq = event.seq;
          conversation.unread = remainingUnread(conversation);
          conversation.mentions = remainingMentions(conversation);
          this.changed();
        }
        break;
      }
      case 'read.receipt': {
        if (!this.conversations.has(event.conversation_id)) {
          this.scheduleReload();
        } else if (this.notePeerRead(event.conversation_id, event.seq)) {
          this.dispatchEvent(new CustomEvent('messages', { detail: event.conversation_id }));
        }
        break;
      }
      default:
        break;
    }
  }

  scheduleReload() {
    clearTimeout(this.reloadTimer);
    this.reloadTimer = setTimeout(() => this.load().catch(() => {}), 150);
  }

  /**
   * Whether I run the group `conversationId` (its owner or an admin): a
   * hint for what to offer (@All, recalling others'); the server decides.
   */
  manages(conversationId) {
    const conversation = this.conversations.get(conversationId);
    if (conversation?.kind !== 'group') return false;
    return conversation.owner === this.session.me || !!this.admins.get(conversationId)?.has(this.session.me);
  }

  /**
   * The members of a group as far as this account's log tells: the log is
   * read from the start once (a new device has seen none of it live).
   */
  async loadMembers(conversationId) {
    if (!this.membersReplayed) {
      this.membersReplayed = (async () => {
        const members = new Map();
        const admins = new Map();
        let since = null;
        // A cap on the pages read keeps a huge account from spinning here.
        for (let page = 0; page < 100; page += 1) {
          const answer = await this.session.api.sync(since, 0);
          for (const event of answer.events) {
            this.session.learnFrom(event);
            if (event.type === 'conversation.created') {
              members.set(event.conversation_id, new Set(event.members ?? []));
              admins.set(event.conversation_id, new Set(event.admins ?? []));
            } else if (event.type === 'conversation.member_added') {
              members.get(event.conversation_id)?.add(event.account_id);
            } else if (event.type === 'conversation.member_removed') {
              members.get(event.conversation_id)?.delete(event.account_id);
              admins.get(event.conversation_id)?.delete(event.account_id);
              if (event.owner) admins.get(event.conversation_id)?.delete(event.owner);
            } else if (event.type === 'conversation.role_changed') {
              noteRole(admins, event);
            }
          }
          since = answer.cursor;
          if (!answer.has_more) break;
        }
        for (const [id, set] of members) if (!this.members.has(id)) this.members.set(id, set);
        for (const [id, set] of admins) if (!this.admins.has(id)) this.admins.set(id, set);
      })();
    }
    await this.membersReplayed;
    return this.members.get(conversationId) ?? new Set();
  }
}

/** The fields of `object` among `keys` that it has (not null). */
function pick(object, keys) {
  return Object.fromEntries(keys.filter((key) => object?.[key] != null).map((key) => [key, object[key]]));
}

/** A `conversation.role_changed` into `admins` (conversation id → admins' ids). */
function noteRole(admins, event) {
  let set = admins.get(event.conversation_id);
  if (!set) admins.set(event.conversation_id, (set = new Set()));
  if (event.role === 'admin') set.add(event.account_id);
  else set.delete(event.account_id);
}

/** The messages past the read marker (never more than were counted, never below 0). */
function remainingUnread(conversation) {
  const past = Math.max(0, conversation.last_seq - (conversation.read_seq ?? 0));
  return Math.min(conversation.unread ?? 0, past);
}
