// The Me page: my own profile (picture, display name, bio; PATCH /me), my
// contact QR code (contact-code.js), who sees when I am online (PATCH
// /me/privacy), the accounts I block (blocked.js), my password (PUT
// /me/password, optionally logging my other devices out) and deleting my
// account (DELETE /accounts/me, with the password).


import { expectDeletion, forgetDeletedAccount } from '../../app.js';
import { h, replace } from '../../lib/dom.js';
import { t } from '../../lib/i18n.js';
import { actions, avatar, toast } from '../../lib/ui.js';
import { errorLine, problemText } from '../auth/index.js';
import { blockedCard } from './blocked.js';
import { contactCodeCard } from './contact-code.js';

const DISPLAY_NAME_MAX = 64;
const BIO_MAX = 300;
const PASSWORD_MIN = 8;
const PASSWORD_MAX = 1024;
/** The picture types the server keeps. */
const IMAGE_TYPES = 'image/png,image/jpeg,image/webp,image/gif';

export function meView(ctx) {
  const { session } = ctx;
  const page = h(
    'section',
    { class: 'page me-page', 'aria-labelledby': 'me-title' },
    h('h1', { id: 'me-title' }, t('me.title')),
    profileCard(session),
    contactCodeCard(session),
    privacyCard(session),
    blockedCard(session),
    passwordCard(session),
    exportCard(session),
    deleteCard(session),
  );
  return page;
}

function profileCard(session) {
  const error = errorLine();
  const editor = pictureParts();
  const { picture, username, remove } = editor;
  const name = h('input', { id: 'me-display-name', name: 'display_name', required: true, maxlength: DISPLAY_NAME_MAX, autocomplete: 'nickname' });
  const bio = h('textarea', { id: 'me-bio', name: 'bio', rows: 3, maxlength: BIO_MAX, placeholder: t('me.bio_placeholder') });
  const form = h(
    'form',
    { class: 'card me-profile', 'aria-labelledby': 'me-profile-title', 'data-testid': 'me-profile' },
    h('h2', { id: 'me-profile-title' }, t('me.profile')),
    editor.element,
    h('div', { class: 'field' }, h('label', { for: 'me-display-name' }, t('me.display_name')), name),
    h('div', { class: 'field' }, h('label', { for: 'me-bio' }, t('me.bio')), bio),
    error,
    actions(h('button', { type: 'submit', class: 'primary', 'data-testid': 'me-save' }, t('me.save'))),
  );
  const show = (me) => {
    replace(picture, avatar(session, me, { size: 'lg' }));
    username.textContent = `@${me.username}`;
    remove.hidden = !me.avatar_media_id;
  };
  const fill = (me) => {
    show(me);
    name.value = me.display_name ?? '';
    bio.value = me.bio ?? '';
  };
  // The profile fetched below answers for the moment it was asked: once
  // the form is typed in or saved, a late answer would put the old name
  // back (in the form and in the header), so it is dropped.
  let edited = false;
  for (const field of [name, bio]) field.addEventListener('input', () => (edited = true));
  const save = async (changes, done) => {
    edited = true;
    error.textContent = '';
    try {
      const me = await session.api.updateMe(changes);
      session.remember(me);
      show(me);
      toast(done, { tone: 'success' });
      return true;
    } catch (failure) {
      error.textContent = problemText(failure);
      return false;
    }
  };
  fill(session.people.get(session.me) ?? session.account);
  session.api.me().then((me) => {
    if (edited) return;
    session.remember(me);
    fill(me);
  }, (failure) => (error.textContent = problemText(failure)));
  followPictureChoice(session, editor, save, error);
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    save({ display_name: name.value.trim(), bio: bio.value.replace(/\s+/g, ' ').trim() }, t('me.saved'));
  });
  return form;
}

/** My picture with my username beside it, and the buttons to change or remove it. */
function pictureParts() {
  const picture = h('span', { class: 'avatar-slot' });
  const username = h('p', { class: 'hint' });
  const file = h('input', { type: 'file', accept: IMAGE_TYPES, class: 'sr-only', tabindex: '-1', 'aria-hidden': 'true', 'data-testid': 'avatar-input' });
  const remove = h('button', { type: 'button', class: 'link-button', 'data-testid': 'avatar-remove' }, t('me.remove_picture'));
  const element = h(
    'div',
    { class: 'avatar-edit' },
    picture,
    h(
      'div',
      { class: 'avatar-edit-actions' },
      username,
      h('button', { type: 'button', onclick: () => file.click(), 'data-testid': 'avatar-change' }, t('me.change_picture')),
      remove,
      file,
    ),
  );
  return { element, picture, username, file, remove };
}

/** A picture chosen is uploaded and made mine; Remove clears it. */
function followPictureChoice(session, { file, remove }, save, error) {
  file.addEventListener('change', async () => {
    const chosen = file.files?.[0];
    file.value = '';
    if (!chosen) return;
    error.textContent = '';
    try {
      const uploaded = await session.api.uploadMedia(chosen);
      await save({ avatar_media_id: uploaded.media_id }, t('me.picture_saved'));
    } catch (failure) {
      error.textContent = problemText(failure);
    }
  });
  remove.addEventListener('click', () => save({ avatar_media_id: null }, t('me.picture_removed')));
}

/**
 * "Who can see when I'm online": my contacts or nobody. A choice is saved
 * at once; refused, the one before comes back and the error is said.
 */
function privacyCard(session) {
  const error = errorLine();
  const choice = (value, label) =>
    h('label', { class: 'check' }, h('input', { type: 'radio', name: 'last_seen', value, disabled: true, 'data-testid': `privacy-${value}` }), t(label));
  const form = h(
    'form',
    { class: 'card me-privacy', 'aria-labelledby': 'me-privacy-title', 'data-testid': 'me-privacy' },
    h('h2', { id: 'me-privacy-title' }, t('me.privacy_title')),
    h('fieldset', { class: 'privacy-choices' }, h('legend', {}, t('me.last_seen_label')), choice('contacts', 'me.last_seen_contacts'), choice('nobody', 'me.last_seen_nobody')),
    h('p', { class: 'hint' }, t('me.last_seen_hint')),
    error,
  );
  const radios = /** @type {HTMLInputElement[]} */ ([...form.querySelectorAll('input[name=last_seen]')]);
  let shown = null;
  const show = (value, enabled = true) => {
    shown = value;
    for (const radio of radios) {
      radio.checked = radio.value === value;
      radio.disabled = !enabled;
    }
  };
  session.api.privacy().then((privacy) => show(privacy.last_seen), (failure) => (error.textContent = problemText(failure)));
  form.addEventListener('change', async (e) => {
    const value = /** @type {HTMLInputElement} */ (e.target).value;
    const before = shown;
    error.textContent = '';
    show(value, false);
    try {
      show((await session.api.updatePrivacy({ last_seen: value })).last_seen);
      toast(t('me.privacy_saved'), { tone: 'success', testid: 'privacy-saved' });
    } catch (failure) {
      show(before);
      error.textContent = problemText(failure);
    }
  });
  form.addEventListener('submit', (e) => e.preventDefault());
  return form;
}

function passwordCard(session) {
  const error = errorLine();
  const field = (id, label, autocomplete) =>
    h(
      'div',
      { class: 'field' },
      h('label', { for: id }, t(label)),
      h('input', { id, name: id, type: 'password', required: true, autocomplete, minlength: id === 'pw-old' ? 1 : PASSWORD_MIN, maxlength: PASSWORD_MAX }),
    );
  const signOut = h('input', { type: 'checkbox', id: 'pw-sign-out', checked: true });
  const form = h(
    'form',
    { class: 'card me-password', 'aria-labelledby': 'me-password-title', 'data-testid': 'me-password' },
    h('h2', { id: 'me-password-title' }, t('me.password_title')),
    field('pw-old', 'me.old_password', 'current-password'),
    field('pw-new', 'me.new_password', 'new-password'),
    field('pw-repeat', 'me.repeat_password', 'new-password'),
    h('label', { class: 'check' }, signOut, t('me.sign_out_others')),
    error,
    actions(h('button', { type: 'submit', class: 'primary', 'data-testid': 'password-submit' }, t('me.change_password'))),
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const [old, fresh, repeat] = ['pw-old', 'pw-new', 'pw-repeat'].map((id) => /** @type {HTMLInputElement} */ (form.querySelector(`#${id}`)).value);
    error.textContent = '';
    if (fresh !== repeat) {
      error.textContent = t('me.password_mismatch');
      return;
    }
    const button = /** @type {HTMLButtonElement} */ (form.querySelector('button[type=submit]'));
    button.disabled = true;
    try {
      await session.api.changePassword(old, fresh, signOut.checked);
      form.reset();
      signOut.checked = true;
      toast(t('me.password_changed'), { tone: 'success' });
    } catch (failure) {
      error.textContent = failure.code === 'wrong_password' ? t('me.wrong_password') : problemText(failure);
    } finally {
      button.disabled = false;
    }
  });
  return form;
}

/** Deleting the account: at once for everyone, undone by logging in within 7 days. */
function deleteCard(session) {
  const error = errorLine();
  const password = h('input', { id: 'delete-password', type: 'password', required: true, autocomplete: 'current-password', maxlength: PASSWORD_MAX });
  const sure = h('input', { type: 'checkbox', id: 'delete-sure', required: true });
  const form = h(
    'form',
    { class: 'card me-delete', 'aria-labelledby': 'me-delete-title', 'data-testid': 'me-delete' },
    h('h2', { id: 'me-delete-title' }, t('me.delete_title')),
    h('p', { class: 'muted' }, t('me.delete_explained')),
    h('div', { class: 'field' }, h('label', { for: 'delete-password' }, t('me.old_password')), password),
    h('label', { class: 'check' }, sure, t('me.delete_sure')),
    error,
    actions(h('button', { type: 'submit', class: 'danger', 'data-testid': 'delete-submit' }, t('me.delete_account'))),
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    error.textContent = '';
    const button = /** @type {HTMLButtonElement} */ (form.querySelector('button[type=submit]'));
    button.disabled = true;
    const accountId = session.account.account_id;
    expectDeletion(accountId);
    try {
      await session.api.deleteAccount(/** @type {HTMLInputElement} */ (password).value);
      forgetDeletedAccount(accountId);
    } catch (failure) {
      expectDeletion(null);
      const known = { wrong_password: 'me.wrong_password', wallet_not_empty: 'me.delete_wallet_not_empty' }[failure.code];
      error.textContent = known ? t(known) : problemText(failure);
      button.disabled = false;
    }
  });
  return form;
}

/**
 * Taking everything away as one zip, handed to the browser's download
 * manager by a one-use link: it streams the zip to disk with its own
 * progress, however large, where a fetch would hold it all in the page.
 */
function exportCard(session) {
  const error = errorLine();
  const progress = h('p', { class: 'muted', role: 'status', 'data-testid': 'export-progress' });
  const button = h('button', { type: 'button', class: 'primary', 'data-testid': 'export-submit' }, t('me.export_button'));
  const card = h(
    'section',
    { class: 'card me-export', 'aria-labelledby': 'me-export-title', 'data-testid': 'me-export' },
    h('h2', { id: 'me-export-title' }, t('me.export_title')),
    h('p', { class: 'muted' }, t('me.export_explained')),
    progress,
    error,
    actions(button),
  );
  button.addEventListener('click', async () => {
    button.disabled = true;
    error.textContent = '';
    try {
      const asked = await session.api.startExport();
      const once = await session.api.exportLink(asked.export_id);
      const link = h('a', { href: once.url, download: `piazza-${asked.export_id}.zip`, hidden: true });
      document.body.append(link);
      link.click();
      link.remove();
      progress.textContent = t('me.export_started');
    } catch (failure) {
      error.textContent = failure.code === 'too_many_exports' ? t('me.export_too_many') : problemText(failure);
    } finally {
      button.disabled = false;
    }
  });
  return card;
}
