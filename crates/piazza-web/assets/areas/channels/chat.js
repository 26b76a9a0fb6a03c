// Articles in chats: "Share to chat" on an article picks one of my
// conversations and sends the article there as a card; the chat draws an
// `article_card` message as WeChat draws a shared article — its cover,
// title and channel, "Article" on a strip below — and a click opens the
// article here, in the Channels tab. The card shows the article as it was
// when shared (the server keeps that snapshot). The chat view calls in
// through its `chatExtensions`; it knows nothing of channels.

import { h } from '../../lib/dom.js';
import { chatExtensions } from '../chat/conversation.js';
import { shareToChatDialog as shareDialog } from '../chat/forward.js';
import { kindLabel, previewMakers } from '../chat/summary.js';

/** A cover's thumbnail: public, as every channel picture, so no token is needed. */
function coverThumbnail(mediaId) {
  if (!mediaId) return null;
  return h('img', { class: 'article-card-cover', src: `/c/-/media/${encodeURIComponent(mediaId)}/thumbnail`, alt: '', loading: 'lazy' });
}

/**
 * An article card's bubble content: a link to the article in the
 * Channels tab.
 * @param {{ article: { article_id: string, title: string, channel_name: string, cover_media_id?: string | null } }} message
 */
export function articleCardContent(message) {
  const article = message.article;
  return h(
    'a',
    {
      class: 'article-card',
      href: `#/article/${encodeURIComponent(article.article_id)}`,
      'data-testid': 'article-card',
      dataset: { articleId: article.article_id },
    },
    h(
      'span',
      { class: 'article-card-main' },
      h('span', { class: 'article-card-text' }, h('strong', { class: 'article-card-title' }, article.title), h('span', { class: 'hint article-card-channel' }, article.channel_name)),
      coverThumbnail(article.cover_media_id),
    ),
    h('span', { class: 'contact-card-foot' }, h('span', { class: 'contact-card-kind' }, kindLabel('article_card'))),
  );
}

export function registerChatExtensions() {
  chatExtensions.cards.set('article_card', (message) => (message.article ? articleCardContent(message) : null));
  // The chat list's snapshot names the kind only; a live message has its card.
  previewMakers.set('article_card', (message) => {
    const title = /** @type {{ article?: { title?: string } }} */ (message).article?.title ?? '';
    return `[${kindLabel('article_card')}] ${title}`.trim();
  });
}

/**
 * "Share to chat": a choice of my conversations (the chat area's dialog)
 * sends the article there as a card at once.
 * @param {any} session
 * @param {any} view the article as `GET /articles/{id}` answers it
 */
export function shareToChatDialog(session, view) {
  const article = {
    article_id: view.article_id,
    title: view.title,
    channel_id: view.channel.channel_id,
    handle: view.channel.handle,
    channel_name: view.channel.name,
    cover_media_id: view.cover_media_id ?? null,
    url: view.url,
  };
  return shareDialog(session, (state, conversationId) => state.sendArticle(conversationId, article));
}
