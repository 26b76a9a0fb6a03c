// The design system's components: small functions that build elements
// with the classes style.css gives them. Areas compose screens from these
// rather than inventing their own, so every screen looks like the others.
// crates/piazza-web/README.md lists them with the tokens they use.

import { h, icon } from './dom.js';
import { t } from './i18n.js';

/** How many initial colours there are (`.hue-0` … in style.css). */
const HUES = 8;

/** "Ann Lee" → "AL", "anna" → "A", "王小明" → "王": what an avatar without a picture shows. */
export function initials(name) {
  const words = String(name ?? '').trim().split(/\s+/).filter(Boolean);
  if (!words.length) return '?';
  const first = [...words[0]][0];
  // Han, kana and hangul names take one character; others the first of two words.
  if (/[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]/.test(first)) return first;
  const second = words.length > 1 ? [...words[words.length - 1]][0] : '';
  return (first + second).toUpperCase();
}

/** A stable colour (0 … HUES-1) for an id, so a person keeps theirs everywhere. */
export function hueOf(id) {
  let hash = 0x811c9dc5;
  for (const char of String(id)) {
    hash ^= char.codePointAt(0);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % HUES;
}

/**
 * An avatar: the picture (`avatar_media_id`, fetched as a thumbnail with the
 * token) or initials on the colour of the id. `who` is an account id (looked
 * up in the session's people), a person `{account_id, display_name,
 * username, avatar_media_id}` or a group `{conversation_id, title,
 * avatar_media_id}`. Sizes: 'sm' 32 px, 'md' 44 px, 'lg' 96 px. Decorative
 * by default (the name is always written beside it); `label` names it.
 */
export function avatar(session, who, { size = 'md', label = null } = {}) {
  const person = typeof who === 'string' ? (session?.people.get(who) ?? { account_id: who }) : (who ?? {});
  const id = person.account_id ?? person.conversation_id ?? '';
  const name = person.display_name || person.title || person.username || '';
  const element = h(
    'span',
    {
      class: `avatar avatar-${size} hue-${hueOf(id)}`,
      dataset: { avatarFor: id },
      role: label ? 'img' : null,
      'aria-label': label,
      'aria-hidden': label ? null : 'true',
    },
    h('span', { class: 'initials' }, initials(name)),
  );
  const mediaId = person.avatar_media_id;
  if (mediaId && session) showPicture(session, element, mediaId, true);
  return element;
}

/**
 * Puts the thumbnail over an avatar's initials once it has loaded. A URL
 * given back before an avatar kept off the page loaded it fails to load:
 * the thumbnail is asked for once more.
 */
function showPicture(session, element, mediaId, retry) {
  session
    .thumbnailUrl(mediaId)
    .then((url) => {
      const img = h('img', { alt: '', src: url, decoding: 'async' });
      img.addEventListener('load', () => element.classList.add('has-picture'), { once: true });
      img.addEventListener(
        'error',
        () => {
          img.remove();
          if (retry) showPicture(session, element, mediaId, false);
        },
        { once: true },
      );
      element.append(img);
    })
    .catch(() => {});
}

/**
 * A green dot on an avatar's slot (a `.row-avatar`) while its person is
 * online, named for screen readers; none otherwise. The slot keeps it
 * across a new avatar only if called again.
 * @param {HTMLElement} slot
 * @param {boolean} online
 */
export function onlineDot(slot, online) {
  const dot = slot.querySelector(':scope > .online-dot');
  if (!online) {
    dot?.remove();
    return;
  }
  const label = t('presence.online');
  if (!dot) slot.append(h('span', { class: 'online-dot', role: 'img', 'aria-label': label, title: label, 'data-testid': 'online-dot' }));
}

/** A count badge (hidden at 0; "99+" past 99); `muted` greys it (a muted chat). */
export function badge(count = 0, { muted = false, label = null } = {}) {
  const element = h('span', { class: 'badge' });
  setBadge(element, count, { muted, label });
  return element;
}

export function setBadge(element, count, { muted = false, label = null } = {}) {
  element.textContent = count > 99 ? '99+' : String(count);
  element.hidden = !count;
  element.classList.toggle('muted', muted);
  if (label) element.setAttribute('aria-label', label);
  else element.removeAttribute('aria-label');
}

/**
 * A contact's row text: my remark for them first when I gave one, their
 * own name and username after it; else their name, then their username.
 * @param {{ username: string, display_name?: string, remark?: string | null }} contact
 */
export function contactTitles(contact) {
  const name = contact.display_name || contact.username;
  if (contact.remark) return { title: contact.remark, subtitle: `${name} · @${contact.username}` };
  return { title: name, subtitle: `@${contact.username}` };
}

/** Whether a contact's username, name or my remark for them holds `needle` (lower-case). */
export function contactMatches(contact, needle) {
  const names = [contact.username, contact.display_name ?? '', contact.remark ?? ''];
  return !needle || names.some((name) => name.toLowerCase().includes(needle));
}

/**
 * A list row: avatar, title, subtitle (one line each, cut with an
 * ellipsis), meta (a time) and a badge, with optional trailing controls.
 * With `href` the row is a link; with `onclick` a button; else plain. The
 * parts are returned so a list can update a row in place.
 * @param {{ href?: string | null, onclick?: ((event: Event) => any) | null, avatar?: Node | null,
 *   title?: string | Node, subtitle?: string | Node, meta?: string | Node, trailing?: any,
 *   testid?: string | null, dataset?: Record<string, string> }} [options]
 */
export function listRow({ href = null, onclick = null, avatar: picture = null, title = '', subtitle = '', meta = '', trailing = null, testid = null, dataset = {} } = {}) {
  const parts = {
    avatar: h('span', { class: 'row-avatar' }, picture),
    title: h('span', { class: 'row-title' }, title),
    subtitle: h('span', { class: 'row-subtitle' }, subtitle),
    meta: h('span', { class: 'row-meta' }, meta),
    badge: badge(0),
  };
  parts.subtitle.hidden = !subtitle;
  const body = [
    parts.avatar,
    h(
      'span',
      { class: 'row-text' },
      h('span', { class: 'row-line' }, parts.title, parts.meta),
      h('span', { class: 'row-line' }, parts.subtitle, parts.badge),
    ),
  ];
  let main;
  if (href) main = h('a', { class: 'row-main', href }, body);
  else if (onclick) main = h('button', { type: 'button', class: 'row-main', onclick }, body);
  else main = h('div', { class: 'row-main' }, body);
  const item = h('li', { class: 'row', dataset, 'data-testid': testid }, main, trailing ? h('span', { class: 'row-trailing' }, trailing) : null);
  return { item, main, ...parts };
}

/** The delivery mark of a message of mine: sending (clock), sent (✓), read (✓✓), failed (!). */
export function deliveryMark(status) {
  const icons = { sending: 'clock', sent: 'check', read: 'checks', failed: 'alert' };
  const labels = { sending: 'chat.sending', sent: 'chat.sent', read: 'chat.read', failed: 'chat.failed' };
  const label = t(labels[status] ?? 'chat.sent');
  return h(
    'span',
    { class: 'delivery', dataset: { status }, title: label },
    icon(icons[status] ?? 'check'),
    h('span', { class: 'delivery-label' }, label),
  );
}

/**
 * A message bubble: mine (right, accent) or theirs (left); a sender name
 * (groups), the content, and a meta line with the time and, for mine, the
 * delivery mark and any extra control (Retry).
 */
export function bubble({ mine, status = 'sent', sender = null, content, time = null, extra = null }) {
  return h(
    'div',
    { class: `bubble ${mine ? 'bubble-mine' : 'bubble-theirs'}` },
    sender ? h('span', { class: 'sender' }, sender) : null,
    content,
    h('span', { class: 'meta' }, time, mine ? deliveryMark(status) : null, extra),
  );
}

/**
 * A card (money in chats, summaries): a kind line with an icon, a title or
 * an amount, a note, a status line and actions. Tones: 'plain' (surface),
 * 'money' (orange, transfers), 'red' (red packets), 'accent'.
 */
export function card({ tone = 'plain', kind = null, kindIcon = null, title = null, amount = null, note = null, status = null, actions: buttons = null, testid = null, dataset = {} } = {}) {
  return h(
    'div',
    { class: `ui-card tone-${tone}`, 'data-testid': testid, dataset },
    kind ? h('span', { class: 'card-kind' }, kindIcon ? icon(kindIcon) : null, kind) : null,
    title ? h('span', { class: 'card-title' }, title) : null,
    amount ? h('span', { class: 'card-amount' }, amount) : null,
    note ? h('span', { class: 'card-note' }, note) : null,
    status ? h('span', { class: 'card-status' }, status) : null,
    buttons ? h('span', { class: 'card-actions' }, buttons) : null,
  );
}

/**
 * A button showing only an icon, named for screen readers and by its tooltip.
 * @param {string} name
 * @param {string} label
 * @param {Record<string, any>} [attributes]
 */
export function iconButton(name, label, { class: extra = '', ...attributes } = {}) {
  return h(
    'button',
    { type: 'button', 'aria-label': label, title: label, ...attributes, class: `icon-button ${extra}`.trim() },
    icon(name),
  );
}

let dialogCount = 0;

/**
 * A modal dialog on the native <dialog>: focus moves to the first control
 * (or `[autofocus]`), Tab stays inside, Escape and the close button close
 * it, so does a click on the backdrop (unless `modalOnly`), and focus goes
 * back to where it was. The dialog is removed when closed; `onClose` runs
 * then. `body(close)` returns the content. Returns `{dialog, close}`.
 */
export function openDialog({ title, body, testid = null, size = 'md', modalOnly = false, onClose = null, className = '' }) {
  dialogCount += 1;
  const titleId = `ui-dialog-title-${dialogCount}`;
  const opener = /** @type {HTMLElement | null} */ (document.activeElement);
  const dialog = h('dialog', {
    class: `ui-dialog dialog-${size} ${className}`.trim(),
    'aria-labelledby': titleId,
    'data-testid': testid,
  });
  const close = () => {
    if (dialog.open) dialog.close();
  };
  dialog.addEventListener('close', () => {
    dialog.remove();
    onClose?.();
    if (opener?.isConnected) opener.focus({ preventScroll: true });
  });
  if (!modalOnly) {
    // A click whose target is the <dialog> itself landed on the backdrop.
    dialog.addEventListener('click', (e) => {
      if (e.target === dialog) close();
    });
  }
  dialog.append(
    h(
      'header',
      { class: 'dialog-header' },
      h('h2', { id: titleId }, title),
      iconButton('close', t('ui.close'), { class: 'dialog-close', onclick: close }),
    ),
    h('div', { class: 'dialog-body' }, body(close)),
  );
  document.body.append(dialog);
  dialog.showModal();
  const first = /** @type {HTMLElement | null} */ (
    dialog.querySelector('[autofocus]') ??
    dialog.querySelector('.dialog-body :is(input, textarea, select, button, a[href]):not(:disabled)'));
  first?.focus();
  return { dialog, close };
}

/** The row of buttons at the bottom of a dialog or form. */
export function actions(...buttons) {
  return h('div', { class: 'actions' }, buttons);
}

let toastBox = null;
/** How long a toast stays, unless it has an action. */
const TOAST_MS = 4000;

/**
 * A short message at the bottom of the screen, announced politely, gone by
 * itself after a few seconds. Tones: 'info', 'success', 'error'.
 */
export function toast(text, { tone = 'info', timeoutMs = TOAST_MS, testid = null } = {}) {
  if (!toastBox?.isConnected) {
    toastBox = h('div', { class: 'toasts', role: 'status', 'aria-live': 'polite' });
    document.body.append(toastBox);
  }
  const element = h('div', { class: `toast tone-${tone}`, 'data-testid': testid }, h('span', {}, text));
  toastBox.append(element);
  setTimeout(() => {
    element.classList.add('leaving');
    setTimeout(() => element.remove(), 200);
  }, timeoutMs);
  return element;
}

/** An empty list or screen: an icon, a line of title, a line of help, an optional action. */
export function emptyState({ iconName = null, title, text = null, action = null, testid = null }) {
  return h(
    'div',
    { class: 'empty-state', 'data-testid': testid },
    iconName ? h('span', { class: 'empty-icon' }, icon(iconName)) : null,
    h('p', { class: 'empty-title' }, title),
    text ? h('p', { class: 'empty-text' }, text) : null,
    action,
  );
}
