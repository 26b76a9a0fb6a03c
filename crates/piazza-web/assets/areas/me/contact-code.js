// "My QR code": my contact code drawn by the server (GET
// /me/contact-code?format=svg, fetched with the token into a blob: URL),
// its payload to copy, and Reset, which revokes it (POST
// /me/contact-code/reset): whoever scans or pastes it can ask to be my
// contact, until I reset it.

import { h } from '../../lib/dom.js';
import { t } from '../../lib/i18n.js';
import { actions, openDialog, toast } from '../../lib/ui.js';
import { errorLine, problemText } from '../auth/index.js';

export function contactCodeCard(session) {
  const error = errorLine();
  const image = h('img', { class: 'contact-code-image', alt: t('me.code_alt'), width: 192, height: 192, 'data-testid': 'contact-code-image' });
  const payload = h('code', { class: 'contact-code-payload', translate: 'no', 'data-testid': 'contact-code-payload' });
  const reset = h('button', { type: 'button', 'data-testid': 'contact-code-reset' }, t('me.code_reset'));
  const card = h(
    'section',
    { class: 'card me-contact-code', 'aria-labelledby': 'me-code-title', 'data-testid': 'me-contact-code' },
    h('h2', { id: 'me-code-title' }, t('me.code_title')),
    h('p', { class: 'hint' }, t('me.code_hint')),
    image,
    payload,
    error,
    actions(reset),
  );
  let shownUrl = null;
  /** Shows `code` and its picture; the old blob: URL is given back. */
  const show = async (code) => {
    payload.textContent = code.payload;
    const url = URL.createObjectURL(await session.api.contactCodeImage());
    if (shownUrl) URL.revokeObjectURL(shownUrl);
    shownUrl = image.src = url;
    card.dataset.payload = code.payload;
  };
  session.api
    .contactCode()
    .then(show)
    .catch((failure) => (error.textContent = problemText(failure)));
  const doReset = async () => {
    reset.disabled = true;
    error.textContent = '';
    try {
      await show(await session.api.resetContactCode());
      toast(t('me.code_reset_done'), { tone: 'success' });
    } catch (failure) {
      error.textContent = problemText(failure);
    } finally {
      reset.disabled = false;
    }
  };
  // Asked first: a reset cannot be undone, and the code may be printed.
  reset.addEventListener('click', () =>
    openDialog({
      title: t('me.code_reset'),
      testid: 'contact-code-reset-dialog',
      body: (close) => [
        h('p', {}, t('me.code_reset_confirm')),
        actions(
          h('button', { type: 'button', onclick: close }, t('ui.cancel')),
          h(
            'button',
            { type: 'button', class: 'primary', 'data-testid': 'contact-code-reset-confirm', onclick: () => (close(), doReset()) },
            t('me.code_reset'),
          ),
        ),
      ],
    }),
  );
  return card;
}
