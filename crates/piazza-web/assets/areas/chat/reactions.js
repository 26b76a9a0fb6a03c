// Reactions: the quick ones a message's menu offers at its top, and the
// chips under a bubble ("👍 2"), each naming who reacted; a click on a
// chip takes my reaction back, or adds mine. Emojis are text, drawn by the
// system's emoji font: no image or font is fetched for them.

import { h } from '../../lib/dom.js';
import { formatList, formatNumber, t } from '../../lib/i18n.js';
import { reactedByMe } from './state.js';

/**
 * The reactions a message's menu offers at once, fully qualified (❤️ with
 * its variation selector), as the server keeps and reports them.
 */
export const QUICK_REACTIONS = ['👍', '❤️', '😂', '😮', '😢', '🙏'];

/** Different emojis one member may put on one message (the server's cap). */
export const REACTIONS_PER_MEMBER_MAX = 10;

/**
 * What of a message's reactions its row shows (each emoji and who is on
 * it): a row whose key changed is built again.
 */
export function reactionsKey(message) {
  return (message.reactions ?? []).map((r) => `${r.emoji}:${r.count}:${r.mine ?? ''}:${r.accounts.join(',')}`).join(' ');
}

/**
 * Who reacted with one emoji, for its chip's label: "You" first when I
 * did, then the others by name in the order they reacted, and how many
 * more when history named only the first ones.
 * @param {import('./state.js').Reaction} reaction
 * @param {any} session
 */
export function reactors(reaction, session) {
  const me = reactedByMe(reaction, session.me) ? [t('chat.reaction_you')] : [];
  const names = [...me, ...reaction.accounts.filter((a) => a !== session.me).map((a) => session.name(a))];
  const more = reaction.count - names.length;
  return formatList(more > 0 ? [...names, t('chat.reaction_more', { count: formatNumber(more) })] : names);
}

/**
 * The chips under a bubble, or null when it has no reactions (a recalled
 * message never has): each emoji with its count, pressed when I am among
 * those who chose it, labelled with who did. `toggle(emoji)` runs on a
 * click. `indent`: under a bubble that has an avatar beside it.
 * @param {any} message
 * @param {any} session
 * @param {(emoji: string) => void} toggle
 */
export function reactionChips(message, session, toggle, { indent = false } = {}) {
  const reactions = message.recalled ? [] : (message.reactions ?? []);
  if (!reactions.length) return null;
  return h(
    'div',
    { class: `reactions${indent ? ' indent' : ''}`, role: 'group', 'aria-label': t('chat.reactions'), 'data-testid': 'reactions' },
    reactions.map((reaction) => {
      const label = t('chat.reaction_label', { emoji: reaction.emoji, names: reactors(reaction, session) });
      return h(
        'button',
        {
          type: 'button',
          class: 'reaction-chip',
          'aria-pressed': String(reactedByMe(reaction, session.me)),
          'aria-label': label,
          title: label,
          'data-testid': 'reaction-chip',
          dataset: { emoji: reaction.emoji },
          onclick: () => toggle(reaction.emoji),
        },
        h('span', { class: 'emoji' }, reaction.emoji),
        ' ',
        h('span', { class: 'count' }, formatNumber(reaction.count)),
      );
    }),
  );
}
