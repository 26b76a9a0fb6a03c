// The accounts I block (GET /blocks, latest first), in the Me page's
// privacy area: each opens its profile and has Unblock. A block or unblock
// from another of my devices (contact.blocked) reloads the list live.

import { h, replace } from '../../lib/dom.js';
import { t } from '../../lib/i18n.js';
import { avatar, listRow, toast } from '../../lib/ui.js';
import { errorLine, problemText } from '../auth/index.js';

export function blockedCard(session) {
  const error = errorLine();
  const list = h('ul', { class: 'rows-list blocked-list', 'aria-label': t('blocks.title'), 'data-testid': 'blocked-list' });
  const card = h(
    'section',
    { class: 'card me-blocked', 'aria-labelledby': 'me-blocked-title', 'data-testid': 'me-blocked' },
    h('h2', { id: 'me-blocked-title' }, t('blocks.title')),
    h('p', { class: 'hint' }, t('blocks.hint')),
    list,
    error,
  );
  const row = (blocked) => {
    const name = blocked.display_name || blocked.username || blocked.account_id;
    const unblock = h(
      'button',
      {
        type: 'button',
        'data-testid': 'unblock',
        'aria-label': t('blocks.unblock_named', { name }),
        onclick: async () => {
          error.textContent = '';
          unblock.disabled = true;
          try {
            await session.api.unblock(blocked.account_id);
            toast(t('blocks.unblocked_toast'), { tone: 'success', testid: 'block-toast' });
            await load();
          } catch (failure) {
            unblock.disabled = false;
            error.textContent = problemText(failure);
          }
        },
      },
      t('blocks.unblock'),
    );
    return listRow({
      href: `#/contacts/${encodeURIComponent(blocked.account_id)}`,
      avatar: avatar(session, blocked),
      title: name,
      subtitle: blocked.username ? `@${blocked.username}` : '',
      trailing: unblock,
      testid: 'blocked-row',
      dataset: { accountId: blocked.account_id },
    }).item;
  };
  let loading = 0;
  const load = async () => {
    const mine = ++loading;
    try {
      const answer = await session.api.blocks();
      if (mine !== loading) return;
      error.textContent = '';
      replace(
        list,
        answer.blocks.length ? answer.blocks.map(row) : h('li', { class: 'empty', 'data-testid': 'blocked-empty' }, t('blocks.none')),
      );
    } catch (failure) {
      if (mine === loading) error.textContent = problemText(failure);
    }
  };
  const onBlocks = () => {
    if (card.isConnected) load();
    else session.removeEventListener('blocks-changed', onBlocks);
  };
  session.addEventListener('blocks-changed', onBlocks);
  load();
  return card;
}
