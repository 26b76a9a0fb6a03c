// Reading an article: its cover, title and body (HTML the server rendered
// from Markdown and sanitized with ammonia; parsed here into an inert
// document and moved in, never set as markup), its counts, a like, and the
// comments: the featured ones and one's own (held ones marked), every one
// for the channel's owner and editors, who feature and hold them, and may
// list the held ones only. Comments come a page at a time ("more"). "Share
// to chat" sends it into one of my conversations as a card (chat.js).

import { h, icon, replace } from '../../lib/dom.js';
import { formatDateTime, formatNumber, t } from '../../lib/i18n.js';
import { toast } from '../../lib/ui.js';
import { errorLine, problemText } from '../auth/index.js';
import { shareToChatDialog } from './chat.js';

/** The sanitized body's nodes, parsed where no script can run. */
export function bodyNodes(html) {
  const parsed = new DOMParser().parseFromString(`<body>${html}</body>`, 'text/html');
  return [...parsed.body.childNodes].map((node) => document.importNode(node, true));
}

function commentRow(session, view, comment, refresh) {
  const manages = view.your_role !== 'reader';
  const feature = manages
    ? h('button', { type: 'button', class: comment.featured ? '' : 'primary', 'data-testid': comment.featured ? 'unfeature' : 'feature' }, t(comment.featured ? 'channels.unfeature' : 'channels.feature'))
    : null;
  feature?.addEventListener('click', async () => {
    const path = `/articles/${encodeURIComponent(view.article_id)}/comments/${encodeURIComponent(comment.comment_id)}/feature`;
    try {
      await (comment.featured ? session.api.delete(path) : session.api.post(path));
      refresh();
    } catch (failure) {
      toast(problemText(failure), { tone: 'error' });
    }
  });
  const who = session.people?.get?.(comment.author)?.display_name ?? '';
  return h(
    'li',
    { class: `comment${comment.featured ? '' : ' held'}`, 'data-testid': 'comment', 'data-featured': String(comment.featured) },
    h('p', {}, comment.text),
    h('small', {}, [who, formatDateTime(comment.created_at), comment.featured ? null : t('channels.held')].filter(Boolean).join(' · ')),
    feature,
  );
}

function commentForm(session, view, refresh) {
  const text = h('textarea', { name: 'text', rows: 2, maxlength: 600, required: true, 'aria-label': t('channels.comment'), placeholder: t('channels.comment'), 'data-testid': 'comment-text' });
  const form = h('form', { class: 'comment-form' }, text, h('button', { type: 'submit', class: 'primary', 'data-testid': 'comment-send' }, t('channels.send_comment')));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    try {
      await session.api.post(`/articles/${encodeURIComponent(view.article_id)}/comments`, { text: text.value });
      text.value = '';
      toast(t(view.your_role === 'reader' ? 'channels.comment_held' : 'channels.comment_posted'), { tone: 'success' });
      refresh();
    } catch (failure) {
      toast(problemText(failure), { tone: 'error' });
    }
  });
  return form;
}

const COMMENTS_PAGE = 50;

/** The comments, a page at a time, newest first; a manager may show the held ones only. */
function commentsList(session, view, refresh) {
  const list = h('ul', { class: 'comments', 'data-testid': 'comments' });
  const more = h('button', { type: 'button', hidden: true, 'data-testid': 'comments-more' }, t('channels.more_comments'));
  let status = 'all';
  let cursor = null;
  async function load(fresh) {
    const query = new URLSearchParams({ status, limit: String(COMMENTS_PAGE) });
    if (!fresh && cursor) query.set('cursor', cursor);
    try {
      const page = await session.api.get(`/articles/${encodeURIComponent(view.article_id)}/comments?${query}`);
      const rows = page.comments.map((comment) => commentRow(session, view, comment, refresh));
      if (fresh) list.replaceChildren(...rows);
      else list.append(...rows);
      cursor = page.next_cursor ?? null;
      more.hidden = !cursor;
    } catch (failure) {
      toast(problemText(failure), { tone: 'error' });
    }
  }
  more.addEventListener('click', () => load(false));
  let filter = null;
  if (view.your_role !== 'reader') {
    filter = h(
      'select',
      { name: 'status', 'aria-label': t('channels.comments_shown'), 'data-testid': 'comments-status' },
      h('option', { value: 'all' }, t('channels.comments_all')),
      h('option', { value: 'held' }, t('channels.comments_held')),
    );
    filter.addEventListener('change', () => {
      status = filter.value;
      load(true);
    });
  }
  load(true);
  return [filter, list, more];
}

function likeButton(session, view, refresh) {
  const like = h('button', { type: 'button', 'aria-pressed': String(view.liked), 'data-testid': 'like' }, icon('check'), h('span', {}, t('channels.likes', { count: formatNumber(view.like_count) })));
  like.addEventListener('click', async () => {
    const path = `/articles/${encodeURIComponent(view.article_id)}/likes`;
    try {
      await (view.liked ? session.api.delete(path) : session.api.post(path));
      refresh();
    } catch (failure) {
      toast(problemText(failure), { tone: 'error' });
    }
  });
  return like;
}

function shareButton(session, view) {
  const share = h('button', { type: 'button', 'data-testid': 'share-to-chat' }, icon('chat'), h('span', {}, t('chat.share')));
  share.addEventListener('click', () => shareToChatDialog(session, view));
  return share;
}

function render(session, view, refresh) {
  const channel = view.channel;
  return [
    h('p', { class: 'article-channel' }, h('a', { href: `#/channel/${encodeURIComponent(channel.channel_id)}` }, channel.name), ` · ${formatDateTime(view.published_at)}`),
    h('h1', { 'data-testid': 'article-title' }, view.title),
    view.cover_media_id ? h('img', { class: 'article-cover', src: `/c/-/media/${encodeURIComponent(view.cover_media_id)}`, alt: '' }) : null,
    h('div', { class: 'article-body', 'data-testid': 'article-body' }, bodyNodes(view.body_html)),
    h(
      'div',
      { class: 'actions article-actions' },
      h('span', { class: 'hint', 'data-testid': 'read-count' }, t('channels.reads', { count: formatNumber(view.read_count) })),
      likeButton(session, view, refresh),
      shareButton(session, view),
      h('a', { class: 'button', href: view.url, target: '_blank', rel: 'noopener', 'data-testid': 'public-link' }, t('channels.public_page')),
    ),
    h('h2', { class: 'section-title' }, t('channels.comments')),
    ...commentsList(session, view, refresh),
    commentForm(session, view, refresh),
  ];
}

export function articleView(ctx) {
  const { session } = ctx;
  const error = errorLine();
  const page = h('article', { class: 'page article-page', 'data-testid': 'article' });
  async function refresh() {
    try {
      const view = await session.api.get(`/articles/${encodeURIComponent(ctx.params.id)}`);
      replace(page, render(session, view, refresh));
    } catch (failure) {
      replace(page, error);
      error.textContent = problemText(failure);
    }
  }
  refresh();
  return page;
}
