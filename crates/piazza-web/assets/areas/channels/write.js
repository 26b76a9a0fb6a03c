// Writing an article (a channel's owner or editor): a title, the body in
// Markdown with a preview of exactly what readers will see (the server
// renders and sanitizes it), then Publish, which answers at once however
// many follow the channel.

import { h, replace } from '../../lib/dom.js';
import { t } from '../../lib/i18n.js';
import { toast } from '../../lib/ui.js';
import { errorLine, problemText } from '../auth/index.js';
import { bodyNodes } from './article.js';

export function writeView(ctx) {
  const { session } = ctx;
  const channel = ctx.params.id;
  const error = errorLine();
  const title = h('input', { name: 'title', required: true, maxlength: 120, 'aria-label': t('channels.article_title'), placeholder: t('channels.article_title'), 'data-testid': 'article-title-input' });
  const body = h('textarea', { name: 'body', rows: 14, required: true, 'aria-label': t('channels.body'), placeholder: t('channels.body_hint'), 'data-testid': 'article-body-input' });
  const preview = h('div', { class: 'article-body preview', 'data-testid': 'article-preview', 'aria-live': 'polite' });
  const showPreview = h('button', { type: 'button', 'data-testid': 'preview' }, t('channels.preview'));
  showPreview.addEventListener('click', async () => {
    try {
      const answer = await session.api.post('/articles/preview', { body_markdown: body.value });
      replace(preview, bodyNodes(answer.body_html));
      error.textContent = '';
    } catch (failure) {
      error.textContent = problemText(failure);
    }
  });
  const form = h(
    'form',
    { class: 'card write-form', 'data-testid': 'write-form' },
    h('h1', {}, t('channels.write')),
    title,
    body,
    error,
    h('div', { class: 'actions' }, showPreview, h('button', { type: 'submit', class: 'primary', 'data-testid': 'publish' }, t('channels.publish'))),
    h('h2', { class: 'section-title' }, t('channels.preview')),
    preview,
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    try {
      const created = await session.api.post(`/channels/${encodeURIComponent(channel)}/articles`, { title: title.value, body_markdown: body.value });
      toast(t('channels.published'), { tone: 'success' });
      ctx.navigate(`/article/${created.article_id}`);
    } catch (failure) {
      error.textContent = problemText(failure);
    }
  });
  return h('section', { class: 'page' }, form);
}
