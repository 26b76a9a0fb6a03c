// A message in one line, for the chat list's preview and the screen
// reader's "new message" announcement: written here from the message's
// fields and the catalog, never from text the server made for another
// language (a transfer's message text is the server's English fallback,
// "Transfer of 12.34 CNY", for clients that know no better). Areas that
// own a kind of message (the wallet: transfers, red packets) add a maker
// to `previewMakers`.

import { has, t } from '../../lib/i18n.js';
import { formatDuration } from './media.js';

/**
 * @typedef {{ kind?: string, text?: string, ref?: string | null, sender?: string, recalled?: boolean, recalled_by?: string | null, message_id?: string, conversation_id?: string, attachment?: { name?: string, duration_ms?: number } | null }} MessageLike
 * @typedef {(message: MessageLike, session: any, redraw: () => void) => string | null} PreviewMaker
 */

/**
 * kind → maker of its one-line summary. A maker may answer null while it
 * loads what it needs, then call `redraw()` once it has it.
 * @type {Map<string, PreviewMaker>}
 */
export const previewMakers = new Map();

/**
 * The catalog's name of a kind of message ("Photo", "Transfer").
 * @param {string} kind
 */
export function kindLabel(kind) {
  const key = `chat.kind.${kind}`;
  return has(key) ? t(key) : t('chat.kind.other');
}

/**
 * @param {MessageLike} message
 * @param {any} session
 * @param {() => void} [redraw]
 */
export function messageSummary(message, session, redraw = () => {}) {
  if (message.recalled) return recallLine(message, session);
  const kind = message.kind ?? 'text';
  if (kind === 'text') return message.text ?? '';
  if (kind === 'image') return `[${kindLabel('image')}] ${message.text ?? ''}`.trim();
  if (kind === 'file' || kind === 'voice' || kind === 'video') return mediaSummary(message, session, redraw);
  const made = previewMakers.get(kind)?.(message, session, redraw);
  return made ?? `[${kindLabel(kind)}]`;
}

/**
 * What a recalled message leaves in its place: "You recalled a message",
 * "Ann recalled a message", or, when a group's owner took back someone
 * else's (`recalled_by`, in the history and the live event alike),
 * "Gina recalled a message from Ann".
 * @param {MessageLike} message
 * @param {any} session
 */
export function recallLine(message, session) {
  const me = session.me;
  const sender = message.sender;
  const by = message.recalled_by ?? sender;
  if (by === sender) return by === me ? t('chat.recalled_you') : t('chat.recalled', { name: session.name(by) });
  if (by === me) return t('chat.recalled_you_from', { sender: session.name(sender) });
  if (sender === me) return t('chat.recalled_yours', { name: session.name(by) });
  return t('chat.recalled_from', { name: session.name(by), sender: session.name(sender) });
}

/**
 * Attachments learnt for previews, by message id: the list's snapshot
 * names a last message's kind but not its file's name or its length, so
 * a file's or a voice note's message is read once to say them.
 * @type {Map<string, { name?: string, duration_ms?: number } | null>}
 */
const attachments = new Map();

/**
 * "[File] report.pdf", "[Voice] 0:04", "[Video]": from the message's
 * attachment, or, when the list's snapshot gave none, "[File]" while the
 * message is read, then with its name (`redraw()` then).
 * @param {MessageLike} message
 * @param {any} session
 * @param {() => void} redraw
 */
function mediaSummary(message, session, redraw) {
  const kind = message.kind;
  const label = `[${kindLabel(kind)}]`;
  if (kind === 'video') return label;
  let attachment = message.attachment ?? attachments.get(message.message_id ?? '');
  if (attachment === undefined && message.message_id && message.conversation_id && message.ref) {
    attachments.set(message.message_id, null);
    session.api.message(message.conversation_id, message.message_id).then(
      (/** @type {any} */ full) => {
        attachments.set(message.message_id, full?.attachment ?? null);
        redraw();
      },
      () => {},
    );
    attachment = null;
  }
  if (kind === 'file') return attachment?.name ? `${label} ${attachment.name}` : label;
  return attachment?.duration_ms ? `${label} ${formatDuration(attachment.duration_ms)}` : label;
}
