// A tiny element builder. Text always goes in as text nodes, never as HTML,
// so nothing a server or another user sends can become markup.

/**
 * h('button', {class: 'x', onclick: fn, 'aria-label': '…'}, 'text', child)
 * Attributes starting with "on" become listeners; `false`/`null` skip.
 */
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes ?? {})) {
    if (value === false || value === null || value === undefined) continue;
    if (name.startsWith('on') && typeof value === 'function') {
      element.addEventListener(name.slice(2), value);
    } else if (name === 'dataset') {
      Object.assign(element.dataset, value);
    } else if (name in element && typeof value !== 'string') {
      element[name] = value;
    } else {
      element.setAttribute(name, value === true ? '' : String(value));
    }
  }
  append(element, children);
  return element;
}

function append(element, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(element, child);
    else element.append(child instanceof Node ? child : String(child));
  }
}

/** Replaces every child of `element`. */
export function replace(element, ...children) {
  element.replaceChildren();
  append(element, children);
}

/** A short time for a message row or a chat list entry. */
export function shortTime(iso, locale) {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return '';
  const now = new Date();
  const sameDay = date.toDateString() === now.toDateString();
  return sameDay
    ? date.toLocaleTimeString(locale, { hour: '2-digit', minute: '2-digit' })
    : date.toLocaleDateString(locale, { month: 'short', day: 'numeric' });
}

/** A random id for idempotent sends (`client_msg_id`, at most 64 chars). */
export function newClientMsgId() {
  return 'web-' + crypto.randomUUID();
}

/** Icons drawn as SVG paths (24×24), so no emoji font or image file is needed. */
const ICONS = {
  chat: 'M4 4h16a1 1 0 0 1 1 1v11a1 1 0 0 1-1 1H9l-5 4v-4a1 1 0 0 1-1-1V5a1 1 0 0 1 1-1z',
  contacts:
    'M9 12a4 4 0 1 0 0-8 4 4 0 0 0 0 8zm-7 8c0-3.5 3-6 7-6s7 2.5 7 6zm15-9a3 3 0 1 0 0-6 3 3 0 0 0 0 6zm1 2c2.5.4 4 2.4 4 5h-4c0-2-.8-3.7-2.2-4.9.7-.1 1.4-.1 2.2-.1z',
  devices: 'M2 5h14v10H2zm2 2v6h10V7zM0 17h18v2H0zm19-9h5v12h-5zm1 2v7h3v-7z',
  wallet: 'M3 7a2 2 0 0 1 2-2h14a2 2 0 0 1 2 2v2h-5a3 3 0 0 0 0 6h5v2a2 2 0 0 1-2 2H5a2 2 0 0 1-2-2zm13 4h5v2h-5z',
};

export function icon(name) {
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('class', 'icon');
  const path = document.createElementNS(ns, 'path');
  path.setAttribute('d', ICONS[name] ?? '');
  path.setAttribute('fill', 'currentColor');
  svg.append(path);
  return svg;
}
