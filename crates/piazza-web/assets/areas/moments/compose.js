// Posting to Moments: words, up to nine pictures (previewed before
// anything is uploaded; each uploaded only when Post is pressed), and who
// may see it: all my contacts, only some, all but some, or only me.

import { h } from '../../lib/dom.js';
import { t } from '../../lib/i18n.js';
import { actions, openDialog, toast } from '../../lib/ui.js';
import { errorLine, problemText } from '../auth/index.js';

const PICTURES_MAX = 9;
const KINDS = ['contacts', 'only', 'except', 'private'];

/** The contacts to pick from for `only` and `except`, as checkboxes. */
function contactPicker(session) {
  const box = h('fieldset', { class: 'moment-audience', hidden: true, 'data-testid': 'moment-audience' }, h('legend', {}, t('moments.audience_pick')));
  session.contacts().then(
    (contacts) => {
      for (const contact of contacts) {
        const name = contact.remark || contact.display_name || contact.username;
        box.append(
          h(
            'label',
            { class: 'check' },
            h('input', { type: 'checkbox', value: contact.account_id, 'data-username': contact.username }),
            h('span', {}, name),
          ),
        );
      }
    },
    () => {},
  );
  return box;
}

export function composeDialog(session, posted) {
  /** @type {File[]} */
  let files = [];
  const error = errorLine();
  const text = h('textarea', { rows: 4, maxlength: 2000, placeholder: t('moments.text_placeholder'), 'aria-label': t('moments.text_label'), 'data-testid': 'moment-text-input' });
  const previews = h('div', { class: 'moment-pictures count-4 moment-previews', 'data-testid': 'moment-previews' });
  const picker = h('input', { type: 'file', accept: 'image/*', multiple: true, class: 'sr-only', tabindex: '-1', 'aria-hidden': 'true', 'data-testid': 'moment-files' });
  const add = h('button', { type: 'button', 'data-testid': 'moment-add-pictures', onclick: () => picker.click() }, t('moments.add_pictures'));
  const showPreviews = () => {
    for (const image of previews.querySelectorAll('img')) URL.revokeObjectURL(image.src);
    previews.replaceChildren(...files.map((file) => h('img', { src: URL.createObjectURL(file), alt: file.name })));
    add.disabled = files.length >= PICTURES_MAX;
  };
  picker.addEventListener('change', () => {
    const chosen = [...(picker.files ?? [])];
    if (files.length + chosen.length > PICTURES_MAX) toast(t('moments.too_many_pictures', { max: PICTURES_MAX }), { tone: 'error' });
    files = [...files, ...chosen].slice(0, PICTURES_MAX);
    picker.value = '';
    showPreviews();
  });
  const kind = h(
    'select',
    { 'aria-label': t('moments.visibility_label'), 'data-testid': 'moment-visibility-select' },
    KINDS.map((value) => h('option', { value }, t(`moments.visibility_${value}`))),
  );
  const audience = contactPicker(session);
  kind.addEventListener('change', () => (audience.hidden = kind.value !== 'only' && kind.value !== 'except'));
  const submit = h('button', { type: 'submit', class: 'primary', 'data-testid': 'moment-post' }, t('moments.post'));
  const send = async (close) => {
    error.textContent = '';
    submit.disabled = true;
    try {
      const media_ids = [];
      for (const file of files) media_ids.push((await session.api.uploadMedia(file)).media_id);
      const accounts = [...audience.querySelectorAll('input:checked')].map((box) => /** @type {HTMLInputElement} */ (box).value);
      const visibility = { kind: kind.value, accounts: audience.hidden ? [] : accounts };
      await session.api.postMoment({ text: text.value, media_ids, visibility });
      close();
      toast(t('moments.posted'), { tone: 'success', testid: 'moment-posted' });
      posted();
    } catch (failure) {
      submit.disabled = false;
      error.textContent = problemText(failure);
    }
  };
  openDialog({
    title: t('moments.new_title'),
    testid: 'moment-dialog',
    body: (close) => {
      const form = h(
        'form',
        { class: 'moment-compose' },
        text,
        previews,
        h('div', { class: 'moment-compose-tools' }, add, picker, h('label', { class: 'field inline' }, h('span', {}, t('moments.visibility_label')), kind)),
        audience,
        error,
        actions(submit),
      );
      form.addEventListener('submit', (e) => {
        e.preventDefault();
        send(close);
      });
      return form;
    },
  });
}
