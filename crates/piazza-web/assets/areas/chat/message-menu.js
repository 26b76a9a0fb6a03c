// A message's menu, as WeChat's long press opens it: a row of quick
// reactions at its top, then its actions, in a small panel beside the
// message, from the bubble's "…" button, a right click, or a long press
// on a phone (which the browser reports as a context menu). The arrow keys
// move between the items; Escape, Tab, a click elsewhere, a scroll or a
// choice close it, and the focus goes back to the button it came from.
// Also the confirmation its Delete asks for. The same panel, without the
// reactions, is a conversation's menu (Pin, Mute, Archive) and the
// composer's "+" (a place, a contact card).

import { h, icon } from '../../lib/dom.js';
import { t } from '../../lib/i18n.js';
import { actions, openDialog } from '../../lib/ui.js';
import { QUICK_REACTIONS } from './reactions.js';

/** The gap kept between the menu and the window's edges, in pixels. */
const EDGE_PX = 8;

/** Closes the menu open now, if any (`refocus`: give the focus back to its button). */
let closeOpen = null;

export function closeMessageMenu() {
  closeOpen?.(false);
}

/**
 * @typedef {{ label: string, icon?: string, testid?: string, action: () => void }} MenuItem
 * @typedef {{ chosen: (emoji: string) => boolean, pick: (emoji: string) => void }} MenuReactions
 * @param {{ items: MenuItem[], reactions?: MenuReactions | null, opener?: HTMLElement | null, at?: { x: number, y: number } | null, label?: string, testid?: string }} options
 *   `reactions`: the quick reactions' row (`chosen`: whether I reacted
 *   with one already, `pick`: react or take it back); `opener`: the
 *   button it opened from (placed beside it, focused again on Escape or
 *   after a reaction); `at`: where a right click or a long press was;
 *   `label` and `testid`: the menu's name, when it is not a message's.
 */
export function openMessageMenu({ items, reactions = null, opener = null, at = null, label = null, testid = 'message-menu' }) {
  closeMessageMenu();
  const buttons = items.map((item) =>
    h(
      'button',
      {
        type: 'button',
        role: 'menuitem',
        'data-testid': item.testid,
        onclick: () => {
          close(false);
          item.action();
        },
      },
      item.icon ? icon(item.icon) : null,
      item.label,
    ),
  );
  const quick = reactions ? quickReactions(reactions, () => close(true)) : [];
  const panel = h(
    'div',
    { class: 'menu-panel message-menu', role: 'menu', 'aria-label': label ?? t('chat.message_actions'), 'data-testid': testid },
    quick.length ? h('div', { class: 'quick-reactions', role: 'group', 'aria-label': t('chat.reactions') }, quick) : null,
    buttons,
  );
  // A press on its own button is left to the button, which closes it.
  const outside = (/** @type {Event} */ e) => {
    const target = /** @type {Node} */ (e.target);
    if (!panel.contains(target) && !opener?.contains(target)) close(false);
  };
  const away = () => close(false);
  function close(refocus) {
    if (closeOpen !== close) return;
    closeOpen = null;
    panel.remove();
    document.removeEventListener('pointerdown', outside, true);
    window.removeEventListener('scroll', away, true);
    window.removeEventListener('resize', away);
    window.removeEventListener('hashchange', away);
    opener?.setAttribute('aria-expanded', 'false');
    if (refocus && opener?.isConnected) opener.focus({ preventScroll: true });
  }
  // The reactions are one row; every other item is a row of its own.
  const rows = [...(quick.length ? [quick] : []), ...buttons.map((button) => [button])];
  const memory = { column: 0 };
  panel.addEventListener('keydown', (e) => moveFocus(e, rows, memory, close));
  closeOpen = close;
  document.body.append(panel);
  place(panel, opener, at);
  opener?.setAttribute('aria-expanded', 'true');
  document.addEventListener('pointerdown', outside, true);
  window.addEventListener('scroll', away, true);
  window.addEventListener('resize', away);
  window.addEventListener('hashchange', away);
  rows[0]?.[0]?.focus({ preventScroll: true });
  return panel;
}

/**
 * The quick reactions' buttons: each checked when I reacted with it
 * already, so choosing it takes mine back; a choice closes the menu
 * (`done`) before it is sent.
 * @param {MenuReactions} reactions
 * @param {() => void} done
 */
function quickReactions(reactions, done) {
  return QUICK_REACTIONS.map((emoji) => {
    const label = t('chat.react_with', { emoji });
    return h(
      'button',
      {
        type: 'button',
        role: 'menuitemcheckbox',
        class: 'quick-reaction',
        'aria-checked': String(reactions.chosen(emoji)),
        'aria-label': label,
        title: label,
        'data-testid': 'quick-reaction',
        dataset: { emoji },
        onclick: () => {
          done();
          reactions.pick(emoji);
        },
      },
      emoji,
    );
  });
}

/**
 * The menu's keys, over rows of items (the quick reactions, then each
 * action): Up and Down move between rows, round the ends, into the
 * reaction last visited; Left and Right along the reactions, round the
 * ends; Home and End to the first and the last item; Escape and Tab close.
 * @param {KeyboardEvent} e
 * @param {HTMLButtonElement[][]} rows
 * @param {{ column: number }} memory
 * @param {(refocus: boolean) => void} close
 */
function moveFocus(e, rows, memory, close) {
  const active = /** @type {HTMLButtonElement} */ (document.activeElement);
  const row = rows.findIndex((items) => items.includes(active));
  const column = row >= 0 ? rows[row].indexOf(active) : 0;
  const round = (index, length) => (index + length) % length;
  const enter = (index) => {
    const items = rows[round(index, rows.length)];
    return items[Math.min(memory.column, items.length - 1)];
  };
  const along = (step) => {
    if (row < 0 || rows[row].length < 2) return null;
    memory.column = round(column + step, rows[row].length);
    return rows[row][memory.column];
  };
  const moves = {
    ArrowDown: () => enter(row + 1),
    ArrowUp: () => enter(row < 0 ? -1 : row - 1),
    ArrowRight: () => along(1),
    ArrowLeft: () => along(-1),
    Home: () => rows[0][0],
    End: () => rows[rows.length - 1].at(-1),
  };
  if (moves[e.key]) {
    e.preventDefault();
    if (e.key === 'Home') memory.column = 0;
    moves[e.key]()?.focus();
  } else if (e.key === 'Escape' || e.key === 'Tab') {
    e.preventDefault();
    e.stopPropagation();
    close(true);
  }
}

/**
 * Puts the menu under the point clicked, or under its button (its right
 * edge on the button's), above when there is no room below, and always
 * inside the window.
 */
function place(panel, opener, at) {
  const anchor = at ? { left: at.x, right: at.x, top: at.y, bottom: at.y } : opener?.getBoundingClientRect();
  if (!anchor) return;
  const { width, height } = panel.getBoundingClientRect();
  const wantedLeft = at ? at.x : anchor.right - width;
  const left = Math.max(EDGE_PX, Math.min(wantedLeft, innerWidth - width - EDGE_PX));
  const below = anchor.bottom + 4;
  const top = below + height + EDGE_PX <= innerHeight ? below : Math.max(EDGE_PX, anchor.top - 4 - height);
  panel.style.left = `${Math.round(left)}px`;
  panel.style.top = `${Math.round(top)}px`;
}

/**
 * Asks before deleting a message for me alone, saying that the others in
 * the chat keep it: true on Delete, false on Cancel, Escape, × or the
 * backdrop. The focus starts on Cancel, so a stray Enter deletes nothing.
 * @returns {Promise<boolean>}
 */
export function confirmDeleteForMe() {
  return new Promise((resolve) => {
    openDialog({
      title: t('chat.delete_title'),
      testid: 'delete-dialog',
      onClose: () => resolve(false),
      body: (close) => [
        h('p', {}, t('chat.delete_text')),
        actions(
          h('button', { type: 'button', 'data-testid': 'delete-cancel', onclick: close }, t('ui.cancel')),
          h(
            'button',
            {
              type: 'button',
              class: 'danger',
              'data-testid': 'delete-confirm',
              onclick: () => {
                resolve(true);
                close();
              },
            },
            icon('trash'),
            t('chat.delete'),
          ),
        ),
      ],
    });
  });
}
