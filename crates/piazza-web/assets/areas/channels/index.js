// Channels (official accounts): the subscriptions feed (unread marked),
// discovering and following channels, a channel's page with its articles,
// creating one's own. Reading, liking and commenting are in article.js;
// writing with a Markdown preview and publishing in write.js. A new
// article of a followed channel (`article.published`) puts a count on the
// tab until the feed is opened. Articles shared into chats are cards
// there (chat.js).

import { h, icon, replace } from '../../lib/dom.js';
import { formatDateTime, formatNumber, t } from '../../lib/i18n.js';
import { emptyState, listRow, toast } from '../../lib/ui.js';
import { errorLine, field, problemText } from '../auth/index.js';
import { articleView } from './article.js';
import { registerChatExtensions } from './chat.js';
import { writeView } from './write.js';

export const area = {
  id: 'channels',
  nav: { label: 'nav.channels', href: '#/channels', icon: 'list' },
  routes: [
    { path: '/channels', view: homeView },
    { path: '/channels/new', view: newChannelView },
    { path: '/channel/:id', view: channelView },
    { path: '/channel/:id/write', view: writeView },
    { path: '/article/:id', view: articleView },
  ],
  attach(session) {
    let unseen = 0;
    session.addEventListener('event', (e) => {
      if (e.detail?.type !== 'article.published') return;
      unseen += 1;
      session.setBadge('channels', unseen);
    });
    session.state.channelsSeen = () => {
      unseen = 0;
      session.setBadge('channels', 0);
    };
  },
};

registerChatExtensions();

/** A channel's or a cover's picture, public: no token needed. */
export function channelPicture(mediaId, className) {
  if (!mediaId) return h('span', { class: `${className} channel-initial` }, icon('list'));
  return h('img', { class: className, src: `/c/-/media/${encodeURIComponent(mediaId)}/thumbnail`, alt: '' });
}

/** One article of a list: its title, channel and counts; unread in bold. */
function articleRow(item) {
  const article = item.article ?? item;
  const parts = listRow({
    href: `#/article/${encodeURIComponent(article.article_id)}`,
    avatar: channelPicture(item.channel_avatar_media_id ?? article.cover_media_id, 'channel-avatar'),
    title: article.title,
    subtitle: item.channel_name ? `${item.channel_name} · ${article.excerpt}` : article.excerpt,
    meta: formatDateTime(article.published_at),
    testid: 'article-row',
    dataset: { articleId: article.article_id, read: String(item.read ?? true) },
  });
  if (item.read === false) parts.item.classList.add('unread');
  return parts.item;
}

function channelRow(session, channel, onChange) {
  const follow = h('button', { type: 'button', class: 'primary', 'data-testid': 'follow' }, t('channels.follow'));
  follow.addEventListener('click', async () => {
    try {
      await session.api.post(`/channels/${encodeURIComponent(channel.channel_id)}/follow`);
      toast(t('channels.followed', { name: channel.name }), { tone: 'success' });
      onChange();
    } catch (failure) {
      toast(problemText(failure), { tone: 'error' });
    }
  });
  return listRow({
    href: `#/channel/${encodeURIComponent(channel.channel_id)}`,
    avatar: channelPicture(channel.avatar_media_id, 'channel-avatar'),
    title: channel.name,
    subtitle: `@${channel.handle} · ${t('channels.followers', { count: formatNumber(channel.follower_count) })}`,
    trailing: follow,
    testid: 'channel-row',
    dataset: { handle: channel.handle },
  }).item;
}

function homeView(ctx) {
  const { session } = ctx;
  session.state.channelsSeen?.();
  const error = errorLine();
  const feed = h('ul', { class: 'rows-list', 'data-testid': 'channel-feed', 'aria-label': t('channels.feed') });
  const found = h('ul', { class: 'rows-list', 'data-testid': 'channel-results', 'aria-label': t('channels.discover') });
  const search = h('input', { type: 'search', name: 'q', placeholder: t('channels.search'), 'aria-label': t('channels.search'), 'data-testid': 'channel-search' });
  async function loadFeed() {
    try {
      const answer = await session.api.get('/subscriptions/feed?limit=50');
      replace(feed, answer.items.length ? answer.items.map(articleRow) : emptyState({ iconName: 'list', title: t('channels.feed_empty'), text: t('channels.feed_empty_hint') }));
    } catch (failure) {
      error.textContent = problemText(failure);
    }
  }
  async function find() {
    try {
      const answer = await session.api.get(`/channels?q=${encodeURIComponent(search.value)}`);
      replace(found, answer.channels.map((channel) => channelRow(session, channel, loadFeed)));
    } catch (failure) {
      error.textContent = problemText(failure);
    }
  }
  search.addEventListener('input', find);
  loadFeed();
  find();
  return h(
    'section',
    { class: 'page channels-page', 'aria-labelledby': 'channels-title' },
    h('div', { class: 'page-heading' }, h('h1', { id: 'channels-title' }, t('channels.title')), h('a', { class: 'button', href: '#/channels/new', 'data-testid': 'new-channel' }, icon('plus'), h('span', {}, t('channels.new')))),
    error,
    h('h2', { class: 'section-title' }, t('channels.feed')),
    feed,
    h('h2', { class: 'section-title' }, t('channels.discover')),
    search,
    found,
  );
}

function newChannelView(ctx) {
  const { session } = ctx;
  const error = errorLine();
  const form = h(
    'form',
    { class: 'card', 'aria-labelledby': 'new-channel-title', 'data-testid': 'new-channel-form' },
    h('h1', { id: 'new-channel-title' }, t('channels.new')),
    field('channels.handle', { name: 'handle', autocapitalize: 'none', pattern: '[a-z0-9_.]{3,32}' }),
    h('p', { class: 'hint' }, t('channels.handle_hint')),
    field('channels.name', { name: 'name' }),
    field('channels.description', { name: 'description', required: false }),
    error,
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, t('channels.create'))),
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    try {
      const created = await session.api.post('/channels', { handle: data.get('handle'), name: data.get('name'), description: data.get('description') ?? '' });
      ctx.navigate(`/channel/${created.channel_id}`);
    } catch (failure) {
      error.textContent = problemText(failure);
    }
  });
  return h('section', { class: 'page' }, form);
}

function channelHeading(session, view, refresh) {
  const channel = view.channel;
  const path = `/channels/${encodeURIComponent(channel.channel_id)}/follow`;
  const toggle = h('button', { type: 'button', class: view.following ? '' : 'primary', 'data-testid': view.following ? 'unfollow' : 'follow' }, t(view.following ? 'channels.unfollow' : 'channels.follow'));
  toggle.addEventListener('click', async () => {
    try {
      await (view.following ? session.api.delete(path) : session.api.post(path));
      refresh();
    } catch (failure) {
      toast(problemText(failure), { tone: 'error' });
    }
  });
  const write = view.your_role === 'reader' ? null : h('a', { class: 'button primary', href: `#/channel/${encodeURIComponent(channel.channel_id)}/write`, 'data-testid': 'write-article' }, icon('compose'), h('span', {}, t('channels.write')));
  return h(
    'div',
    { class: 'channel-heading' },
    channelPicture(channel.avatar_media_id, 'channel-avatar-lg'),
    h('div', {}, h('h1', { 'data-testid': 'channel-name' }, channel.name), h('p', { class: 'hint' }, `@${channel.handle}`), h('p', {}, channel.description)),
    h('p', { class: 'channel-counts', 'data-testid': 'channel-counts' }, t('channels.counts', { followers: formatNumber(channel.follower_count), articles: formatNumber(channel.article_count) })),
    h('div', { class: 'actions' }, toggle, write, h('a', { class: 'button', href: channel.url, target: '_blank', rel: 'noopener' }, t('channels.public_page'))),
  );
}

function channelView(ctx) {
  const { session } = ctx;
  const id = ctx.params.id;
  const error = errorLine();
  const page = h('section', { class: 'page channel-page' });
  async function refresh() {
    try {
      const view = await session.api.get(`/channels/${encodeURIComponent(id)}`);
      const articles = await session.api.get(`/channels/${encodeURIComponent(id)}/articles`);
      const list = h('ul', { class: 'rows-list', 'data-testid': 'channel-articles' }, articles.articles.length ? articles.articles.map(articleRow) : emptyState({ title: t('channels.no_articles') }));
      replace(page, channelHeading(session, view, refresh), error, list);
    } catch (failure) {
      replace(page, error);
      error.textContent = problemText(failure);
    }
  }
  refresh();
  return page;
}
