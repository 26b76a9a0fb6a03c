// Groups: create one from contacts; a group's page with every member's
// role and the announcement, where the owner adds members and names
// admins, the owner and admins edit the group, remove members and decide
// join requests, and anyone invites by link or QR code or leaves; the
// page an invitation's link opens.

import { h, replace } from '../../lib/dom.js';
import { formatDateTime, t } from '../../lib/i18n.js';
import { avatar, listRow, toast } from '../../lib/ui.js';
import { errorLine, problemText } from '../auth/index.js';

const TITLE_MAX = 64;
/** `limits::ANNOUNCEMENT_CHARS_MAX` (the server counts characters, as does `maxlength` roughly). */
const ANNOUNCEMENT_MAX = 2000;

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
    announcement: h('blockquote', { class: 'group-announcement', 'data-testid': 'group-announcement', hidden: true }),
    memberList: h('ul', { class: 'rows-list members', 'aria-label': t('group.members') }),
    add: addMemberForm(),
    ownerTools: groupEditForm(session, id, (call) => act(call)),
    requests: h('section', { class: 'join-requests', 'data-testid': 'join-requests', hidden: true }),
    invite: inviteSection(session, id, (call) => act(call)),
    leave: h('button', { type: 'button', class: 'danger', 'data-testid': 'leave-group' }, t('group.leave')),
  };
  const card = h(
    'section',
    { class: 'card group-info', 'aria-label': t('group.info') },
    h('a', { href: `#/chats/${encodeURIComponent(id)}` }, t('group.back_to_chat')),
    h('div', { class: 'who' }, parts.picture, parts.title),
    parts.announcement,
    parts.ownerTools,
    h('h3', {}, t('group.members')),
    parts.memberList,
    parts.add.form,
    parts.requests,
    parts.invite.section,
    error,
    parts.leave,
  );
  const fill = () => fillGroupInfo(session, id, parts, act);

  async function act(call) {
    error.textContent = '';
    try {
      await call();
      await chat.load();
      await fill();
    } catch (failure) {
      error.textContent = problemText(failure);
    }
  }

  parts.add.form.addEventListener('submit', (e) => {
    e.preventDefault();
    if (parts.add.select.value) act(() => session.api.addMember(id, parts.add.select.value));
  });
  parts.leave.addEventListener('click', () => leaveGroup(ctx, id, error));
  // Another member's change (a role, the announcement) shows at once.
  const onGroup = (/** @type {CustomEvent} */ e) => {
    if (!card.isConnected) return chat.removeEventListener('group', onGroup);
    if (e.detail.conversationId === id) fill().catch(() => {});
  };
  chat.addEventListener('group', onGroup);
  fill().catch((failure) => (error.textContent = problemText(failure)));
  return card;
}

/** The owner's form to add one of their contacts. */
function addMemberForm() {
  const select = h('select', { id: 'add-member', name: 'account_id' });
  const form = h(
    'form',
    // Hidden until the group's view says the caller is its owner.
    { class: 'inline', hidden: true },
    h('label', { for: 'add-member' }, t('group.add_member')),
    select,
    h('button', { type: 'submit' }, t('group.add')),
  );
  return { form, select };
}

/**
 * The group page's content from the server's view of the group (every
 * member's role, the announcement, approval mode): title and picture,
 * the managers' tools, the members, the contacts the owner may add, the
 * requests waiting.
 */
async function fillGroupInfo(session, id, parts, act) {
  const { title, picture, announcement, memberList, add, ownerTools, requests, invite, leave } = parts;
  const view = await session.api.group(id);
  const rename = /** @type {HTMLInputElement} */ (ownerTools.querySelector('#group-rename'));
  const notice = /** @type {HTMLTextAreaElement} */ (ownerTools.querySelector('#group-announcement-input'));
  const approval = /** @type {HTMLInputElement} */ (ownerTools.querySelector('#group-approval'));
  title.textContent = view.title ?? '';
  replace(picture, avatar(session, { conversation_id: id, title: view.title, avatar_media_id: view.avatar_media_id }, { size: 'md' }));
  announcement.hidden = !view.announcement;
  announcement.textContent = view.announcement;
  // An order's conversation follows its order and its shop's staff: it
  // has no owner, so no managers' tools, and no invitations nor leaving.
  invite.section.hidden = leave.hidden = view.kind !== 'group';
  const manager = view.your_role === 'owner' || view.your_role === 'admin';
  add.form.hidden = view.your_role !== 'owner';
  ownerTools.hidden = !manager;
  if (document.activeElement !== rename) rename.value = view.title ?? '';
  if (document.activeElement !== notice) notice.value = view.announcement;
  approval.checked = view.join_approval;
  const tools = memberTools(session, id, view, act);
  const rows = () => view.members.map((member) => memberRow(session, member, tools));
  replace(memberList, rows());
  // Members who are not my contacts are named once their profiles arrive.
  if (await namePeople(session, view.members.map((member) => member.account_id))) replace(memberList, rows());
  const members = new Set(view.members.map((member) => member.account_id));
  const contacts = await session.contacts();
  replace(
    add.select,
    contacts
      .filter((c) => !members.has(c.account_id))
      .map((c) => h('option', { value: c.account_id }, `${c.display_name || c.username} (@${c.username})`)),
  );
  requests.hidden = !manager;
  if (manager) await fillRequests(session, id, requests, act);
}

/** Profiles asked for at most once a session, and at most this many a page. */
const PROFILES_ASKED_MAX = 50;
const asked = new WeakMap();

/**
 * Asks for the profiles of the accounts among `ids` this session cannot
 * name yet (each once a session); whether any arrived.
 */
async function namePeople(session, ids) {
  if (!asked.has(session)) asked.set(session, new Set());
  const done = asked.get(session);
  const unknown = ids.filter((id) => !session.people.get(id)?.display_name && !done.has(id)).slice(0, PROFILES_ASKED_MAX);
  for (const id of unknown) done.add(id);
  const found = await Promise.all(
    unknown.map((id) =>
      session.api.account(id).then(
        (person) => (session.remember(person), true),
        () => false,
      ),
    ),
  );
  return found.some(Boolean);
}

/** What the viewer may do to each member: name or unname admins (owner), remove. */
function memberTools(session, id, view, act) {
  const me = view.your_role;
  return {
    promote: me === 'owner' ? (accountId) => act(() => session.api.makeAdmin(id, accountId)) : null,
    demote: me === 'owner' ? (accountId) => act(() => session.api.unmakeAdmin(id, accountId)) : null,
    /** The owner removes anyone, an admin plain members. */
    mayRemove: (role) => (me === 'owner' && role !== 'owner') || (me === 'admin' && role === 'member'),
    remove: (accountId) => act(() => session.api.removeMember(id, accountId)),
  };
}

/** The join requests waiting, each with Approve and Decline (owner and admins). */
async function fillRequests(session, id, section, act) {
  const { requests } = await session.api.joinRequests(id);
  // Requesters are strangers, as far as the server lets me see them.
  await namePeople(session, requests.map((request) => request.account_id));
  const decide = (accountId, decision) => act(() => session.api.decideJoinRequest(id, accountId, decision));
  const rows = requests.map(
    (request) =>
      listRow({
        avatar: avatar(session, request.account_id),
        title: session.name(request.account_id),
        dataset: { accountId: request.account_id },
        trailing: [
          h('button', { type: 'button', class: 'primary', 'data-testid': 'approve-join', onclick: () => decide(request.account_id, 'approve') }, t('group.approve')),
          h('button', { type: 'button', 'data-testid': 'decline-join', onclick: () => decide(request.account_id, 'decline') }, t('group.decline')),
        ],
      }).item,
  );
  replace(
    section,
    h('h3', {}, t('group.join_requests')),
    rows.length ? h('ul', { class: 'rows-list' }, rows) : h('p', { class: 'hint' }, t('group.no_join_requests')),
  );
}

/**
 * Inviting by link or QR code (any member): the link and its code are
 * shown once, as the server keeps only the token's hash.
 */
function inviteSection(session, id, act) {
  const shown = h('div', { class: 'invite-shown', 'data-testid': 'invite-shown', hidden: true });
  const create = h('button', { type: 'button', 'data-testid': 'create-invite' }, t('group.invite'));
  const section = h('section', { class: 'group-invite' }, h('h3', {}, t('group.invite_title')), create, shown);
  create.addEventListener('click', () =>
    act(async () => {
      const invite = await session.api.createInvite(id);
      showInvite(session, id, invite, shown, act);
    }),
  );
  return { section };
}

/** The link to share, its QR code (the server's SVG, shown as an image) and Revoke. */
function showInvite(session, id, invite, shown, act) {
  const link = `${location.origin}${location.pathname}#/join/${encodeURIComponent(invite.payload)}`;
  const image = h('img', {
    class: 'qr invite-qr',
    alt: t('group.invite_qr'),
    src: URL.createObjectURL(new Blob([invite.qr_svg], { type: 'image/svg+xml' })),
    'data-testid': 'invite-qr',
  });
  const field = h('input', { readonly: true, value: link, 'aria-label': t('group.invite_link'), 'data-testid': 'invite-link' });
  const copy = h('button', { type: 'button' }, t('group.copy_link'));
  copy.addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText(link);
      toast(t('group.link_copied'), { tone: 'success' });
    } catch {
      field.select();
    }
  });
  const revoke = h('button', { type: 'button', class: 'danger' }, t('group.revoke_invite'));
  revoke.addEventListener('click', () =>
    act(async () => {
      await session.api.revokeInvite(id, invite.invite_id);
      URL.revokeObjectURL(image.src);
      shown.hidden = true;
      replace(shown);
    }),
  );
  const expires = h('p', { class: 'hint' }, t('group.invite_expires', { when: formatDateTime(invite.expires_at) }));
  replace(shown, image, field, h('div', { class: 'inline' }, copy, revoke), expires);
  shown.hidden = false;
}

/** Leaves the group, then shows the chats. */
async function leaveGroup(ctx, id, error) {
  error.textContent = '';
  try {
    await ctx.session.api.leaveGroup(id);
    await ctx.session.state.chat.load();
    ctx.navigate('/chats');
  } catch (failure) {
    error.textContent = problemText(failure);
  }
}

/** A member: picture, name and username (opening their profile), role tag, the viewer's tools. */
function memberRow(session, member, tools) {
  const accountId = member.account_id;
  const person = session.people.get(accountId);
  const mine = accountId === session.me;
  const role = member.role;
  return listRow({
    href: `#/contacts/${encodeURIComponent(accountId)}`,
    avatar: avatar(session, accountId),
    title: mine ? t('chat.you') : session.name(accountId),
    subtitle: person?.username ? `@${person.username}` : '',
    dataset: { accountId, role },
    trailing: [
      role !== 'member' ? h('span', { class: 'tag', 'data-testid': 'role-tag' }, t(`group.role_${role}`)) : null,
      tools.promote && !mine && role === 'member'
        ? h('button', { type: 'button', 'data-testid': 'make-admin', onclick: () => tools.promote(accountId) }, t('group.make_admin'))
        : null,
      tools.demote && !mine && role === 'admin'
        ? h('button', { type: 'button', 'data-testid': 'unmake-admin', onclick: () => tools.demote(accountId) }, t('group.unmake_admin'))
        : null,
      !mine && tools.mayRemove(role)
        ? h('button', { type: 'button', class: 'danger', 'data-testid': 'remove-member', onclick: () => tools.remove(accountId) }, t('group.remove'))
        : null,
    ],
  }).item;
}

/**
 * A page opened from an invitation's link: Join, then the chat (or, in
 * approval mode, word that an admin will decide).
 */
export function joinView(ctx) {
  const { session } = ctx;
  const error = errorLine();
  const status = h('p', { class: 'hint', 'data-testid': 'join-status', role: 'status' });
  const join = h('button', { type: 'button', class: 'primary', 'data-testid': 'join-group' }, t('group.join'));
  join.addEventListener('click', async () => {
    error.textContent = '';
    join.disabled = true;
    try {
      const answer = await session.api.acceptInvite(ctx.params.payload);
      if (answer.state === 'pending') {
        status.textContent = t('group.join_pending');
        const declined = (event) => {
          if (event.detail.conversationId !== answer.conversation_id) return;
          status.textContent = t('group.join_declined', { title: event.detail.title });
          session.state.chat.removeEventListener('join-declined', declined);
        };
        session.state.chat.addEventListener('join-declined', declined);
        return;
      }
      await session.state.chat.load();
      ctx.navigate(`/chats/${encodeURIComponent(answer.conversation_id)}`);
    } catch (failure) {
      error.textContent = problemText(failure);
    } finally {
      join.disabled = false;
    }
  });
  return h(
    'section',
    { class: 'card group-join', 'aria-labelledby': 'join-title' },
    h('h2', { id: 'join-title' }, t('group.join_title')),
    h('p', {}, t('group.join_hint')),
    join,
    status,
    error,
  );
}

/**
 * The owner's and admins' tools (PATCH /conversations/{id}): rename the
 * group, change its picture, set its announcement, switch approval mode.
 */
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
  const notice = h('textarea', { id: 'group-announcement-input', maxlength: ANNOUNCEMENT_MAX, rows: 3 });
  const approval = h('input', { type: 'checkbox', id: 'group-approval', 'data-testid': 'group-approval' });
  const form = h(
    'form',
    { class: 'group-edit', 'data-testid': 'group-edit' },
    rename,
    h('button', { type: 'submit' }, t('group.rename')),
    h('button', { type: 'button', onclick: () => file.click() }, t('group.change_picture')),
    file,
  );
  const announce = h(
    'form',
    { class: 'group-announce', 'data-testid': 'group-announce' },
    h('label', { for: 'group-announcement-input' }, t('group.announcement')),
    notice,
    h('button', { type: 'submit' }, t('group.save_announcement')),
    h('div', { class: 'choice' }, approval, h('label', { for: 'group-approval' }, t('group.join_approval'))),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const wanted = rename.value.trim();
    if (wanted) act(() => session.api.updateGroup(id, { title: wanted }));
  });
  announce.addEventListener('submit', (e) => {
    e.preventDefault();
    act(() => session.api.updateGroup(id, { announcement: notice.value }));
  });
  approval.addEventListener('change', () => act(() => session.api.updateGroup(id, { join_approval: approval.checked })));
  file.addEventListener('change', () => {
    const chosen = file.files?.[0];
    file.value = '';
    if (!chosen) return;
    act(async () => {
      const uploaded = await session.api.uploadMedia(chosen);
      await session.api.updateGroup(id, { avatar_media_id: uploaded.media_id });
    });
  });
  // Hidden until the group's view says the caller may use them.
  return h('div', { class: 'group-tools', hidden: true }, form, announce);
}
