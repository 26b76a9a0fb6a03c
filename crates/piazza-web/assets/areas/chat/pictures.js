// Pictures in a conversation: the preview of a picked (or pasted) picture
// with its caption before it is sent, and the viewer that shows a picture
// whole (Escape or a click closes it; the arrow keys step through the
// conversation's pictures).

import { h, icon, replace } from '../../lib/dom.js';
import { t } from '../../lib/i18n.js';
import { actions, iconButton, openDialog } from '../../lib/ui.js';

/**
 * The picture and a caption field (holding what the composer held);
 * `send(caption)` runs on Send. Cancel, Escape or the backdrop drop it.
 */
export function previewPicture(file, caption, { send, captionMax }) {
  const url = URL.createObjectURL(file);
  openDialog({
    title: t('chat.preview_title'),
    testid: 'image-preview',
    size: 'lg',
    onClose: () => URL.revokeObjectURL(url),
    body: (close) => {
      const input = h('textarea', {
        id: 'image-caption',
        rows: 2,
        maxlength: captionMax,
        placeholder: t('chat.caption_placeholder'),
        'aria-label': t('chat.caption_label'),
        autofocus: true,
      });
      input.value = caption;
      const form = h(
        'form',
        { class: 'image-preview' },
        h('img', { src: url, alt: t('chat.preview_alt'), 'data-testid': 'preview-image' }),
        input,
        actions(
          h('button', { type: 'button', onclick: close }, t('ui.cancel')),
          h('button', { type: 'submit', class: 'primary', 'data-testid': 'preview-send' }, icon('send'), t('chat.send')),
        ),
      );
      input.addEventListener('keydown', (e) => {
        if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
          e.preventDefault();
          form.requestSubmit();
        }
      });
      form.addEventListener('submit', (e) => {
        e.preventDefault();
        send(input.value.trim());
        close();
      });
      return form;
    },
  });
}

/**
 * The viewer over the whole page. `pictures` are the conversation's image
 * messages (oldest first), `index` the one clicked; `load(item)` gives a
 * promise of its blob.
 */
export function openViewer(pictures, index, load) {
  const opener = /** @type {HTMLElement | null} */ (document.activeElement);
  let current = index;
  let url = null;
  const img = h('img', { 'data-testid': 'viewer-image', alt: '' });
  const caption = h('figcaption', {});
  const previous = iconButton('back', t('chat.viewer_previous'), { class: 'viewer-prev', onclick: (e) => step(e, -1) });
  const next = iconButton('forward', t('chat.viewer_next'), { class: 'viewer-next', onclick: (e) => step(e, 1) });
  const viewer = h(
    'dialog',
    { class: 'viewer', 'aria-label': t('chat.viewer_label'), 'data-testid': 'image-viewer' },
    h('figure', {}, img, caption),
    previous,
    next,
    iconButton('close', t('ui.close'), { class: 'viewer-close', 'data-testid': 'viewer-close', onclick: () => viewer.close() }),
  );
  function show() {
    const item = pictures[current];
    img.alt = item.text || t('chat.image_alt');
    replace(caption, item.text ?? '');
    previous.hidden = current === 0;
    next.hidden = current === pictures.length - 1;
    const wanted = current;
    load(item).then(
      (blob) => {
        if (wanted !== current || !viewer.open) return;
        if (url) URL.revokeObjectURL(url);
        url = URL.createObjectURL(blob);
        img.src = url;
      },
      () => (img.alt = t('chat.image_unavailable')),
    );
  }
  function step(e, by) {
    e?.stopPropagation();
    const to = current + by;
    if (to < 0 || to >= pictures.length) return;
    current = to;
    show();
  }
  // A click anywhere but on a control closes, as in every photo viewer.
  viewer.addEventListener('click', (e) => {
    if (!/** @type {Element} */ (e.target).closest('button')) viewer.close();
  });
  viewer.addEventListener('keydown', (e) => {
    if (e.key === 'ArrowLeft') step(e, -1);
    else if (e.key === 'ArrowRight') step(e, 1);
  });
  viewer.addEventListener('close', () => {
    if (url) URL.revokeObjectURL(url);
    viewer.remove();
    if (opener?.isConnected) opener.focus({ preventScroll: true });
  });
  document.body.append(viewer);
  viewer.showModal();
  /** @type {HTMLElement} */ (viewer.querySelector('.viewer-close')).focus();
  show();
  return viewer;
}
