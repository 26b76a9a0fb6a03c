// Contact cards: the composer's "Contact card" (one of my contacts, or
// me), and a card's bubble as WeChat's: the person's picture, name and
// username (opening their profile), "Contact card" on a strip below, and
// "Add contact" — the contacts' own request dialog, with its greeting —
// unless the card is mine or of a contact already.

import { h, replace } from '../../lib/dom.js';
import { t } from '../../lib/i18n.js';
import { avatar, emptyState, listRow, openDialog } from '../../lib/ui.js';

/** The usernames asked to be contacts from a card in this session (a card built again remembers). */
const requested = new WeakMap();

function requestedBy(session) {
  let names = requested.get(session);
  if (!names) {
    names = new Set();
    requested.set(session, names);
  }
  return names;
}

/**
 * A card's bubble content. The Add button waits for the contacts to be
 * known (they are fetched at start), then shows or stays hidden;
 * `view.schedule()` measures the row again.
 * @param {{ card: { account_id: string, username: string, display_name?: string, avatar_media_id?: string } }} item
 * @param {any} view the conversation (`session`, `schedule`)
 */
export function contactCardContent(item, view) {
  const session = view.session;
  const card = item.card;
  const name = card.display_name || card.username;
  const add = h('button', { type: 'button', class: 'card-add', 'data-testid': 'card-add-contact', hidden: true }, t('chat.card_add'));
  const asked = () => {
    add.disabled = true;
    add.textContent = t('chat.card_requested');
  };
  if (requestedBy(session).has(card.username)) asked();
  add.addEventListener('click', () =>
    import('../contacts/add.js').then(({ addContactDialog }) =>
      addContactDialog(session, card.username, {
        sent: () => {
          requestedBy(session).add(card.username);
          asked();
        },
      }),
    ),
  );
  if (card.account_id !== session.me) {
    session
      .contacts()
      .then((contacts) => {
        add.hidden = contacts.some((c) => c.account_id === card.account_id);
        view.schedule();
      })
      .catch(() => {});
  }
  return h(
    'div',
    { class: 'contact-card', 'data-testid': 'contact-card', dataset: { accountId: card.account_id } },
    h(
      'a',
      { class: 'contact-card-who', href: `#/contacts/${encodeURIComponent(card.account_id)}` },
      avatar(session, card, { size: 'md' }),
      h('span', { class: 'who-text' }, h('strong', {}, name), h('span', { class: 'hint', translate: 'no' }, `@${card.username}`)),
    ),
    h('span', { class: 'contact-card-foot' }, h('span', { class: 'contact-card-kind' }, t('chat.kind.contact_card')), add),
  );
}

/**
 * The dialog that picks whose card to send: me first, then my contacts,
 * filtered as I type. `send(person)` sends it.
 * @param {any} session
 * @param {(person: any) => void} send
 */
export async function contactCardDialog(session, send) {
  const contacts = await session.contacts().catch(() => []);
  const me = { ...(session.people.get(session.me) ?? {}), account_id: session.me };
  const people = [me, ...contacts.map((c) => session.people.get(c.account_id) ?? c)];
  openDialog({
    title: t('chat.card_title'),
    testid: 'card-dialog',
    body: (close) => {
      const filter = h('input', { type: 'search', 'aria-label': t('chat.card_filter'), placeholder: t('chat.card_filter'), 'data-testid': 'card-filter' });
      const list = h('ul', { class: 'rows-list card-choices' });
      const show = () => {
        const needle = filter.value.trim().toLowerCase();
        const shown = people.filter((p) => !needle || [p.display_name, p.username].some((w) => (w ?? '').toLowerCase().includes(needle)));
        replace(
          list,
          shown.length
            ? shown.map((person) => cardChoice(session, person, () => {
              send(person);
              close();
            }))
            : h('li', {}, emptyState({ iconName: 'contacts', title: t('contacts.none') })),
        );
      };
      filter.addEventListener('input', show);
      show();
      return [filter, list];
    },
  });
}

function cardChoice(session, person, pick) {
  return listRow({
    onclick: pick,
    avatar: avatar(session, person, { size: 'sm' }),
    title: person.account_id === session.me ? t('chat.card_me', { name: person.display_name || person.username }) : person.display_name || person.username,
    subtitle: `@${person.username}`,
    dataset: { username: person.username ?? '' },
    testid: 'card-choice',
  }).item;
}
