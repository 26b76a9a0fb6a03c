// A conversation's menu — Pin, Mute, Archive, each or its undoing — from
// the "…" of its entry in the chat list (or a right click, or a long
// press on a phone) and from its header. The settings are mine, kept by
// the server, so every device of mine shows the change
// (`conversation.settings`). A refusal (the eleventh pin) is said in a
// toast.

import { t } from '../../lib/i18n.js';
import { toast } from '../../lib/ui.js';
import { problemText } from '../auth/index.js';
import { openMessageMenu } from './message-menu.js';

/** The most conversations one may pin (the server's cap). */
export const PINNED_MAX = 10;

/**
 * @param {import('./state.js').ChatState} state
 * @param {string} conversationId
 * @param {{ opener?: HTMLElement | null, at?: { x: number, y: number } | null }} where
 */
export function openConversationMenu(state, conversationId, { opener = null, at = null }) {
  const conversation = state.conversations.get(conversationId);
  if (!conversation) return;
  const change = (changes) => () =>
    state.updateSettings(conversationId, changes).catch((error) => {
      const text = error?.code === 'limit_reached' ? t('chat.pin_limit', { max: PINNED_MAX }) : problemText(error);
      toast(text, { tone: 'error', testid: 'settings-error' });
    });
  const { pinned, muted, archived } = conversation;
  openMessageMenu({
    opener,
    at,
    label: t('chat.conversation_actions', { name: state.title(conversationId) }),
    testid: 'conversation-menu',
    items: [
      { label: pinned ? t('chat.unpin') : t('chat.pin'), icon: 'pin', testid: 'pin-conversation', action: change({ pinned: !pinned }) },
      { label: muted ? t('chat.unmute') : t('chat.mute'), icon: muted ? 'bell' : 'bell-off', testid: 'mute-conversation', action: change({ muted: !muted }) },
      { label: archived ? t('chat.unarchive') : t('chat.archive'), icon: 'archive', testid: 'archive-conversation', action: change({ archived: !archived }) },
    ],
  });
}
