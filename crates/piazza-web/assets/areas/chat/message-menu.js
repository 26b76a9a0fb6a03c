// A message's menu, as WeChat's long press opens it: its actions in a
// small panel beside the message, from the bubble's "…" button, a right
// click, or a long press on a phone (which the browser reports as a
// context menu). The arrow keys move between the items; Escape, Tab, a
// click elsewhere, a scroll or a choice close it, and the focus goes back
// to the button it came from. Also the confirmation its Delete asks for.

import { h, icon } from '../../lib/dom.js';
import { t } from '../../lib/i18n.js';
import { actions, openDialog } from '../../lib/ui.js';

/** The gap kept between the menu and the window's edges, in pixels. */
const EDGE_PX = 8;

/** Closes the menu open now, if any (`refocus`: give the focus back to its button). */
let closeOpen = null;

export function closeMessageMenu() {
  closeOpen?.(false);
}

/**
 * @typedef {{ label: string, icon?: string, testid?: string, action: () => void }} MenuItem
 * @param {{ items: MenuItem[], opener?: HTMLElement | null, at?: { x: number, y: number } | null }} options
 *   `opener`: the button it opened from (placed beside it, focused again
 *   on Escape); `at`: where a right click or a long press was.
 */
export function openMessageMenu({ items, opener = null, at = null }) {
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
  const panel = h(
    'div',
    { class: 'menu-panel message-menu', role: 'menu', 'aria-label': t('chat.message_actions'), 'data-testid': 'message-menu' },
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
  panel.addEventListener('keydown', (e) => moveFocus(e, buttons, close));
  closeOpen = close;
  document.body.append(panel);
  place(panel, opener, at);
  opener?.setAttribute('aria-expanded', 'true');
  document.addEventListener('pointerdown', outside, true);
  window.addEventListener('scroll', away, true);
  window.addEventListener('resize', away);
  window.addEventListener('hashchange', away);
  buttons[0]?.focus({ preventScroll: true });
  return panel;
}

/** The menu's keys: arrows and Home/End move, Escape and Tab close. */
function moveFocus(e, buttons, close) {
  const index = buttons.indexOf(/** @type {HTMLButtonElement} */ (document.activeElement));
  const to = { ArrowDown: index + 1, ArrowUp: index - 1, Home: 0, End: buttons.length - 1 }[e.key];
  if (to !== undefined) {
    e.preventDefault();
    buttons[(to + buttons.length) % buttons.length].focus();
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
