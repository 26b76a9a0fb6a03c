// Who is typing where. The server passes a member's `{"op":"typing"}` on
// to the others' sockets as an ephemeral `typing` event (no cursor, never
// in the log); each is shown for five seconds, until the next one keeps
// it up or a message from that person ends it. Mine are sent while I type
// in a composer, once every three seconds at most (the server passes one a
// conversation every two seconds and drops the rest), never for an empty
// composer. Views listen for 'typing' (detail: the conversation id).

import { t } from '../../lib/i18n.js';

/** How long one `typing` event shows its typer. */
export const TYPING_SHOWN_MS = 5000;
/** How often, at most, my typing in one conversation is told. */
export const TYPING_SEND_EVERY_MS = 3000;
/** The server passes one a conversation every two seconds: sooner is dropped. */
const SERVER_PACE_MS = 2100;

export class Typing extends EventTarget {
  constructor(session) {
    super();
    this.session = session;
    /** @type {Map<string, Map<string, ReturnType<typeof setTimeout>>>} conversation → typer → when it ends */
    this.typers = new Map();
    /** @type {Map<string, number>} conversation → when I last told it I type */
    this.told = new Map();
    /** Conversations I just sent a message to: told again as soon as the server takes it. */
    this.eager = new Set();
    /** Typers not known here (a group's member who is no contact), asked for once. */
    this.asked = new Set();
    session.addEventListener('ephemeral', (/** @type {CustomEvent} */ e) => {
      if (e.detail?.type === 'typing') this.note(e.detail.conversation_id, e.detail.account_id);
    });
  }

  /** `accountId` is typing in a conversation: shown for five seconds from now. */
  note(conversationId, accountId) {
    // Mine are never shown (the server does not send them back anyway).
    if (!conversationId || !accountId || accountId === this.session.me) return;
    let typers = this.typers.get(conversationId);
    if (!typers) {
      typers = new Map();
      this.typers.set(conversationId, typers);
    }
    const known = typers.has(accountId);
    clearTimeout(typers.get(accountId));
    typers.set(accountId, setTimeout(() => this.stop(conversationId, accountId), TYPING_SHOWN_MS));
    if (!known) this.changed(conversationId);
    this.learnName(accountId);
  }

  /**
   * A typer this client cannot name yet (a group's member who is no
   * contact) is asked for once; views redraw on the session's 'person'.
   */
  learnName(accountId) {
    const session = this.session;
    if (session.people?.get(accountId)?.display_name || this.asked.has(accountId) || !session.api?.account) return;
    this.asked.add(accountId);
    session.api.account(accountId).then((person) => session.remember(person), () => {});
  }

  /** `accountId` stopped typing (five quiet seconds, or their message came). */
  stop(conversationId, accountId) {
    const typers = this.typers.get(conversationId);
    if (!typers?.has(accountId)) return;
    clearTimeout(typers.get(accountId));
    typers.delete(accountId);
    if (!typers.size) this.typers.delete(conversationId);
    this.changed(conversationId);
  }

  /** Who is typing in a conversation, in the order they started. */
  who(conversationId) {
    return [...(this.typers.get(conversationId)?.keys() ?? [])];
  }

  /**
   * "Bob is typing…", "Bob and Cat are typing…", "3 people are typing…";
   * '' when nobody is. Someone this client cannot name yet is "Someone".
   */
  text(conversationId) {
    const who = this.who(conversationId);
    const named = who.filter((id) => this.session.people?.has(id)).map((id) => this.session.name(id));
    if (!who.length) return '';
    if (who.length === 1) return named.length ? t('chat.typing_one', { name: named[0] }) : t('chat.typing_someone');
    if (who.length === 2 && named.length === 2) return t('chat.typing_two', { first: named[0], second: named[1] });
    return t('chat.typing_many', { count: who.length });
  }

  /**
   * I typed in a conversation's composer (holding `text`): the others are
   * told, at most once every three seconds, and never for an empty composer.
   */
  typed(conversationId, text) {
    if (!text.trim()) return;
    const now = Date.now();
    const every = this.eager.has(conversationId) ? SERVER_PACE_MS : TYPING_SEND_EVERY_MS;
    if (now - (this.told.get(conversationId) ?? 0) < every) return;
    // A closed socket tells nothing, and the next key tries again.
    if (!this.session.sync?.send({ op: 'typing', conversation_id: conversationId })) return;
    this.told.set(conversationId, now);
    this.eager.delete(conversationId);
  }

  /**
   * I sent a message, which ended my typing at the others': the next key
   * I type there is told as soon as the server passes it on.
   */
  sent(conversationId) {
    this.eager.add(conversationId);
  }

  changed(conversationId) {
    this.dispatchEvent(new CustomEvent('typing', { detail: conversationId }));
  }
}
