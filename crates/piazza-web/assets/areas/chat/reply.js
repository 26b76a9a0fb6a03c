// Replies: the bar over the composer naming the message answered (its
// sender and a line of it, with × to give up), and the quote a reply
// shows above its own content. The quoted message is the one held in the
// log, else fetched once (GET …/messages/{id}); a recalled one says so,
// one that cannot be seen (deleted for me, sent before I joined) says it
// is unavailable. A click on a quote goes to the message.

import { h, icon } from '../../lib/dom.js';
import { t } from '../../lib/i18n.js';
import { iconButton } from '../../lib/ui.js';
import { messageSummary } from './summary.js';

/** A quote's line is cut here (CSS cuts it to the bubble's width too). */
const SNIPPET_MAX = 120;

/**
 * Who sent `message`, as a quote names them: "You" or their name.
 * @param {any} message
 * @param {any} session
 */
function senderName(message, session) {
  return message.sender === session.me ? t('chat.you') : session.name(message.sender);
}

/**
 * One line of a quoted message: a text's beginning, "[Photo] caption",
 * "[Location]", …; a recalled one is "Message recalled".
 * @param {any} message
 * @param {any} session
 */
export function snippet(message, session) {
  if (message.recalled) return t('chat.quote_recalled');
  const text = messageSummary(message, session).replace(/\s+/g, ' ').trim();
  return text.length > SNIPPET_MAX ? `${text.slice(0, SNIPPET_MAX - 1)}…` : text;
}

/**
 * The bar over the composer while a reply is being written: "Reply to
 * Ann" and a line of her message; × (or Escape in the composer) gives it
 * up. `messageId` is what the send names as `reply_to`.
 */
export class ReplyBar {
  /** @param {any} session */
  constructor(session, onCancel) {
    this.session = session;
    this.message = null;
    this.title = h('span', { class: 'reply-bar-title' });
    this.line = h('span', { class: 'reply-bar-line' });
    this.element = h(
      'div',
      { class: 'reply-bar', 'data-testid': 'reply-bar', hidden: true },
      icon('reply'),
      h('div', { class: 'reply-bar-text' }, this.title, this.line),
      iconButton('close', t('chat.reply_cancel'), {
        'data-testid': 'reply-cancel',
        onclick: () => {
          this.clear();
          onCancel?.();
        },
      }),
    );
  }

  get messageId() {
    return this.message?.message_id ?? null;
  }

  /** Answers `message` (a stored one) from now on. */
  set(message) {
    this.message = message;
    this.title.textContent = t('chat.reply_to', { name: senderName(message, this.session) });
    this.line.textContent = snippet(message, this.session);
    this.element.hidden = false;
  }

  clear() {
    this.message = null;
    this.element.hidden = true;
  }
}

/**
 * What a reply's quote shows now, as a key for its row's marks: the row
 * is built again when the quoted message arrives, is recalled or is gone.
 * @param {any} view the conversation (`state`, `conversationId`)
 * @param {any} item
 */
export function quoteMark(view, item) {
  if (!item.reply_to) return '';
  const quoted = view.state.quoted(view.conversationId, item.reply_to);
  if (quoted.message) return quoted.message.recalled ? 'recalled' : `seq${quoted.message.seq ?? ''}`;
  return quoted.missing ? 'missing' : 'loading';
}

/**
 * The quote above a reply's content: the quoted message's sender and a
 * line of it; a button that goes to it (`view.showMessage`).
 * @param {any} view the conversation (`session`, `state`, `conversationId`, `showMessage`)
 * @param {any} item
 */
export function quoteBlock(view, item) {
  if (!item.reply_to) return null;
  const quoted = view.state.quoted(view.conversationId, item.reply_to);
  const message = quoted.message;
  const line = message
    ? snippet(message, view.session)
    : quoted.missing
      ? t('chat.quote_unavailable')
      : t('chat.quote_loading');
  return h(
    'button',
    {
      type: 'button',
      class: `quote${message?.recalled || quoted.missing ? ' gone' : ''}`,
      'data-testid': 'quote',
      title: t('chat.quote_go'),
      onclick: () => view.showMessage(item.reply_to),
    },
    message && !message.recalled ? h('span', { class: 'quote-sender' }, senderName(message, view.session)) : null,
    h('span', { class: 'quote-line' }, line),
  );
}
