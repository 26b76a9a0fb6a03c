// What a message carries beside its text — a reply, mentions, a forward,
// a place, a contact card, an article or product card — as the server takes it when sending, and the
// questions the chat asks of it (does it mention me, may it be
// forwarded).

/** The kinds of media message that name their kind when sent. */
const MEDIA_KINDS = new Set(['file', 'voice', 'video']);

/** The kinds whose content a forward may carry (never money's). */
const FORWARDABLE_KINDS = new Set(['text', 'image', 'file', 'voice', 'video', 'location', 'contact_card', 'article_card', 'product_card']);

/**
 * The body of a send (beside `client_msg_id`) for a message as this
 * client holds it: a forward carries only the message it forwards, a
 * place or a card has no text, a picture is its media and its caption;
 * a reply and mentions go with any of them.
 * @param {Record<string, any>} item
 */
export function wireFields(item) {
  const body = {};
  if (item.forward_of) body.forward_of = item.forward_of;
  else if (item.location) body.location = item.location;
  else if (item.card) body.card = { account_id: item.card.account_id };
  else if (item.article) body.article_id = item.article.article_id;
  else if (item.product) body.product_id = item.product.product_id;
  else {
    body.text = item.text ?? '';
    if (item.ref) body.media_id = item.ref;
    // A picture's kind follows from its media; a file, a voice note and a
    // video say theirs (an audio file picked from disk is a file).
    if (item.ref && MEDIA_KINDS.has(item.kind)) body.kind = item.kind;
    if (item.ref && item.duration_ms && (item.kind === 'voice' || item.kind === 'video')) body.duration_ms = item.duration_ms;
  }
  if (item.reply_to) body.reply_to = item.reply_to;
  if (item.mentions?.length) body.mentions = item.mentions;
  if (item.mention_all) body.mention_all = true;
  return body;
}

/**
 * Whether `message` mentions account `me`: by name, or everyone (a
 * group owner's @All).
 * @param {{ mentions?: string[], mention_all?: boolean, recalled?: boolean }} message
 * @param {string} me
 */
export function mentionsMe(message, me) {
  return !message.recalled && (!!message.mention_all || !!message.mentions?.includes(me));
}

/**
 * The unread mentions left past a conversation's read marker: those that
 * came live are known by seq; the snapshot's are only known to lie at or
 * below its last seq, so a marker there or past it ends them. Never more
 * than the messages left unread.
 * @param {{ read_seq?: number, unread?: number, mentions?: number, mention_seqs?: number[], mentions_base?: { count: number, seq: number } }} conversation
 */
export function remainingMentions(conversation) {
  const read = conversation.read_seq ?? 0;
  const live = (conversation.mention_seqs ?? []).filter((seq) => seq > read).length;
  const base = conversation.mentions_base;
  const older = base && read < base.seq ? Math.min(base.count, base.seq - read) : 0;
  return Math.max(0, Math.min(conversation.unread ?? 0, conversation.mentions ?? 0, live + older));
}

/**
 * Whether `message` may be forwarded: a stored one, not recalled, of a
 * kind whose content can be carried (a text, a picture, a place, a card).
 * @param {Record<string, any>} message
 */
export function canForward(message) {
  const stored = !!message.message_id && (message.status ?? 'sent') === 'sent';
  return stored && !message.recalled && FORWARDABLE_KINDS.has(message.kind ?? 'text');
}
