// Groups: create one from contacts; a group's page to add and remove
// members (owner) or leave.

import { h, replace } from '../../lib/dom.js';
import { t } from '../../lib/i18n.js';
import { avatar, listRow } from '../../lib/ui.js';
import { errorLine, problemText } from '../auth/index.js';

const TITLE_MAX = 64;

export function newGroupView(ctx) {
  const error = errorLine();
  const choices = h('fieldset', { class: 'choices' }, h('legend', {}, t('group.choose_members')));
  const form = h(
    'form',
    { class: 'card group-form', 'aria-labelledby': 'new-group-title' },
    h('h2', { id: 'new-group-title' }, t('group.new')),
    h(
      'div',
      { class: 'field' },
      h('label', { for: 'group-title' }, t('group.title_label')),
      h('input', { id: 'group-title', name: 'title', required: true, maxlength: TITLE_MAX }),
    ),
    choices,
    error,
    h('button', { type: 'submit', class: 'primary' }, t('group.create')),
  );
  ctx.session.contacts().then((contacts) => {
    if (!contacts.length) choices.append(h('p', { class: 'hint' }, t('group.no_contacts')));
    for (const contact of contacts) {
      const id = `member-${contact.account_id}`;
      choices.append(
        h(
          'div',
          { class: 'choice' },
          h('input', { type: 'checkbox', id, name: 'member', value: contact.account_id, dataset: { username: contact.username } }),
          h(
            'label',
            { for: id },
            avatar(ctx.session, contact, { size: 'sm' }),
            h('span', {}, contact.display_name || contact.username, ' ', h('small', {}, `@${contact.username}`)),
          ),
        ),
      );
    }
  });
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const data = new FormData(form);
    const members = data.getAll('member').map(String);
    error.textContent = '';
    try {
      const created = await ctx.session.api.createGroup(String(data.get('title')).trim(), members);
      await ctx.session.state.chat.load();
      ctx.navigate(`/chats/${encodeURIComponent(created.conversation_id)}`);
    } catch (failure) {
      error.textContent = problemText(failure);
    }
  });
  return form;
}

export function groupInfoView(ctx) {
  const { session } = ctx;
  const chat = session.state.chat;
  const id = ctx.params.id;
  const error = errorLine();
  const parts = {
    title: h('h2', {}),
    picture: h('span', { class: 'avatar-slot' }),
    memberList: h('ul', { class: 'rows-list members', 'aria-label': t('group.members') }),
    add: addMemberForm(),
    ownerTools: groupEditForm(session, id, (call) => act(call)),
  };
  const leave = h('button', { type: 'button', class: 'danger', 'data-testid': 'leave-group' }, t('group.leave'));
  const card = h(
    'section',
    { class: 'card group-info', 'aria-label': t('group.info') },
    h('a', { href: `#/chats/${encodeURIComponent(id)}` }, t('group.back_to_chat')),
    h('div', { class: 'who' }, parts.picture, parts.title),
    parts.ownerTools,
    h('h3', {}, t('group.members')),
    parts.memberList,
    parts.add.form,
    error,
    leave,
  );
  const fill = () => fillGroupInfo(session, id, parts, act);

  async function act(call) {
    error.textContent = '';
    try {
      await call();
      await chat.load();
      fill();
    } catch (failure) {
      error.textContent = problemText(failure);
    }
  }

  parts.add.form.addEventListener('submit', (e) => {
    e.preventDefault();
    if (parts.add.select.value) act(() => session.api.addMember(id, parts.add.select.value));
  });
  leave.addEventListener('click', () => leaveGroup(ctx, id, error));
  fill().catch((failure) => (error.textContent = problemText(failure)));
  return card;
}

/** The owner's form to add one of their contacts. */
function addMemberForm() {
  const select = h('select', { id: 'add-member', name: 'account_id' });
  const form = h(
    'form',
    { class: 'inline' },
    h('label', { for: 'add-member' }, t('group.add_member')),
    select,
    h('button', { type: 'submit' }, t('group.add')),
  );
  return { form, select };
}

/**
 * The group page's content from what the chat state knows: title and
 * picture, the owner's tools, the members, the contacts one may add.
 */
async function fillGroupInfo(session, id, { title, picture, memberList, add, ownerTools }, act) {
  const chat = session.state.chat;
  const conversation = chat.conversations.get(id);
  const rename = /** @type {HTMLInputElement} */ (ownerTools.querySelector('#group-rename'));
  title.textContent = conversation?.title ?? '';
  replace(picture, avatar(session, { conversation_id: id, title: conversation?.title, avatar_media_id: conversation?.avatar_media_id }, { size: 'md' }));
  const owner = conversation?.owner === session.me;
  add.form.hidden = !owner;
  ownerTools.hidden = !owner;
  if (document.activeElement !== rename) rename.value = conversation?.title ?? '';
  const members = await chat.loadMembers(id);
  const remove = (accountId) => act(() => session.api.removeMember(id, accountId));
  replace(
    memberList,
    [...members].map((accountId) => memberRow(session, accountId, conversation?.owner, remove)),
  );
  const contacts = await session.contacts();
  replace(
    add.select,
    contacts
      .filter((c) => !members.has(c.account_id))
      .map((c) => h('option', { value: c.account_id }, `${c.display_name || c.username} (@${c.username})`)),
  );
}

/** Leaves the group, then shows the chats. */
async function leaveGroup(ctx, id, error) {
  error.textContent = '';
  try {
    await ctx.session.api.removeMember(id, ctx.session.me);
    await ctx.session.state.chat.load();
    ctx.navigate('/chats');
  } catch (failure) {
    error.textContent = problemText(failure);
  }
}

/** A member: picture, name and username (opening their profile), owner tag, Remove for the owner. */
function memberRow(session, accountId, ownerId, remove) {
  const person = session.people.get(accountId);
  return listRow({
    href: `#/contacts/${encodeURIComponent(accountId)}`,
    avatar: avatar(session, accountId),
    title: accountId === session.me ? t('chat.you') : session.name(accountId),
    subtitle: person?.username ? `@${person.username}` : '',
    dataset: { accountId },
    trailing: [
      ownerId === accountId ? h('span', { class: 'tag' }, t('group.owner')) : null,
      ownerId === session.me && accountId !== session.me
        ? h('button', { type: 'button', class: 'danger', onclick: () => remove(accountId) }, t('group.remove'))
        : null,
    ],
  }).item;
}

/** The owner's tools: rename the group, change its picture (PATCH /conversations/{id}). */
function groupEditForm(session, id, act) {
  const rename = h('input', { id: 'group-rename', name: 'title', required: true, maxlength: TITLE_MAX, 'aria-label': t('group.title_label') });
  const file = h('input', {
    type: 'file',
    accept: 'image/png,image/jpeg,image/webp,image/gif',
    class: 'sr-only',
    tabindex: '-1',
    'aria-hidden': 'true',
    'data-testid': 'group-avatar-input',
  });
  const form = h(
    'form',
    { class: 'group-edit', 'data-testid': 'group-edit' },
    rename,
    h('button', { type: 'submit' }, t('group.rename')),
    h('button', { type: 'button', onclick: () => file.click() }, t('group.change_picture')),
    file,
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const wanted = rename.value.trim();
    if (wanted) act(() => session.api.updateGroup(id, { title: wanted }));
  });
  file.addEventListener('change', () => {
    const chosen = file.files?.[0];
    file.value = '';
    if (!chosen) return;
    act(async () => {
      const uploaded = await session.api.uploadMedia(chosen);
      await session.api.updateGroup(id, { avatar_media_id: uploaded.media_id });
    });
  });
  return form;
}
