// Search: my messages and my contacts as the server finds them
// (`GET /api/v1/search`), from the magnifier over the chat list. A word
// typed searches as it is typed (the last word matches longer words);
// Chinese, Japanese and Korean are found inside runs of text. What matched
// is marked; a message opens its conversation scrolled to it; channels,
// articles and products (anyone's) open their pages. The query
// and scope stay in the address, so a search can be linked and reloaded.

import { h, replace } from '../../lib/dom.js';
import { formatDateTime, t } from '../../lib/i18n.js';
import { avatar, contactTitles, emptyState, listRow } from '../../lib/ui.js';
import { problemText } from '../auth/index.js';

/** How long typing pauses before a search goes out. */
const TYPING_PAUSE_MS = 250;
const PAGE_LEN = 20;
const SCOPES = ['messages', 'contacts', 'channels', 'articles', 'products'];

export const area = {
  id: 'search',
  routes: [{ path: '/search', view: searchView }],
};

/**
 * @typedef {{ text: string, hit?: boolean }} SnippetPart
 * @typedef {{ type: 'message', conversation_id: string, message_id: string, seq: number,
 *   sender: any, sent_at: string, snippet: SnippetPart[] }} MessageHit
 * @typedef {{ type: 'contact', account_id: string, username: string, display_name: string,
 *   avatar_media_id: string | null, remark: string | null, matched: string, snippet: SnippetPart[] }} ContactHit
 */

/** A snippet as text with its hits in `<mark>`. */
export function snippetElement(/** @type {SnippetPart[]} */ snippet) {
  return h(
    'span',
    { class: 'snippet' },
    snippet.map((part) => (part.hit ? h('mark', {}, part.text) : part.text)),
  );
}

function searchView(ctx) {
  const scope = SCOPES.includes(ctx.query.get('scope') ?? '') ? ctx.query.get('scope') : 'messages';
  const search = new SearchPage(ctx.session, ctx.query.get('q') ?? '', scope);
  queueMicrotask(() => search.start());
  return search.element;
}

/** The page: the box, the scopes, the results and a button for more. */
class SearchPage {
  constructor(session, q, scope) {
    this.session = session;
    this.scope = scope;
    /** Each search's number: an answer to an older one is dropped. */
    this.asked = 0;
    this.timer = 0;
    this.cursor = null;
    this.input = h('input', {
      type: 'search', class: 'search-input', value: q, placeholder: t('search.placeholder'),
      'aria-label': t('search.label'), autocomplete: 'off', enterkeyhint: 'search', 'data-testid': 'search-input',
    });
    this.status = h('p', { class: 'hint search-status', role: 'status', 'data-testid': 'search-status' });
    this.results = h('ul', { class: 'rows-list search-results', 'data-testid': 'search-results' });
    this.more = h('button', { type: 'button', class: 'button', hidden: true, 'data-testid': 'search-more', onclick: () => this.run(false) }, t('search.more'));
    this.hint = emptyState({ iconName: 'search', title: t('search.empty_title'), text: t('search.empty_text') });
    this.input.addEventListener('input', () => {
      clearTimeout(this.timer);
      this.timer = setTimeout(() => this.run(true), TYPING_PAUSE_MS);
    });
    this.input.addEventListener('keydown', (event) => event.key === 'Enter' && this.run(true));
    this.tabs = SCOPES.map((name) =>
      h('button', {
        type: 'button', role: 'tab', class: 'search-tab', 'aria-selected': String(name === scope),
        'data-testid': `search-scope-${name}`, onclick: () => this.pick(name),
      }, t(`search.scope.${name}`)),
    );
    this.element = h(
      'div',
      { class: 'page search-page', 'data-testid': 'search-page' },
      h('h1', {}, t('search.title')),
      this.input,
      h('div', { class: 'search-tabs', role: 'tablist', 'aria-label': t('search.scope_label') }, this.tabs),
      this.status, this.results, this.more, this.hint,
    );
  }

  start() {
    this.input.focus();
    if (this.input.value) this.run(true);
  }

  pick(scope) {
    this.scope = scope;
    this.tabs.forEach((tab, index) => tab.setAttribute('aria-selected', String(SCOPES[index] === scope)));
    this.run(true);
  }

  /** Searches again from the first page (`fresh`) or for the next one. */
  async run(fresh) {
    clearTimeout(this.timer);
    const q = this.input.value;
    const number = ++this.asked;
    this.hint.hidden = Boolean(q.trim());
    history.replaceState(null, '', `#/search?${new URLSearchParams({ q, scope: this.scope })}`);
    if (fresh) {
      this.cursor = null;
      replace(this.results);
      this.more.hidden = true;
    }
    if (!q.trim()) {
      this.status.textContent = '';
      return;
    }
    this.status.textContent = t('search.searching');
    try {
      const page = await this.session.api.search({ q, scope: this.scope, cursor: this.cursor, limit: PAGE_LEN });
      if (number !== this.asked) return;
      this.results.append(...page.results.map((hit) => row(this.session, hit)));
      this.cursor = page.next_cursor;
      this.more.hidden = !this.cursor;
      const count = this.results.children.length;
      this.status.textContent = count ? t('search.found', { count }) : t('search.nothing', { q: q.trim() });
    } catch (error) {
      if (number === this.asked) this.status.textContent = problemText(error);
    }
  }
}

/** A channel's, an article's or a product's row: its page, its picture. */
function documentRow(session, /** @type {any} */ hit) {
  const [href, id, title, place] = {
    channel: () => [`#/channel/${encodeURIComponent(hit.channel_id)}`, hit.channel_id, hit.name, `@${hit.handle}`],
    article: () => [`#/article/${encodeURIComponent(hit.article_id)}`, hit.article_id, hit.title, hit.channel_name],
    product: () => [`#/product/${encodeURIComponent(hit.product_id)}`, hit.product_id, hit.title, hit.shop_name],
  }[hit.type]();
  const media = hit.avatar_media_id ?? hit.cover_media_id ?? hit.media_id ?? null;
  return listRow({
    href,
    avatar: avatar(session, { account_id: id, display_name: title, username: title, avatar_media_id: media }),
    title,
    subtitle: h('span', {}, `${place}: `, snippetElement(hit.snippet)),
    meta: hit.published_at ? formatDateTime(hit.published_at) : '',
    testid: `search-${hit.type}`,
    dataset: { id },
  }).item;
}

/** One result as a list row. */
function row(session, /** @type {any} */ hit) {
  if (['channel', 'article', 'product'].includes(hit.type)) return documentRow(session, hit);
  if (hit.type === 'contact') {
    const { account_id, username, display_name, avatar_media_id, remark } = hit;
    session.remember({ account_id, username, display_name, avatar_media_id, remark });
    return listRow({
      href: `#/contacts/${encodeURIComponent(hit.account_id)}`,
      avatar: avatar(session, hit),
      title: contactTitles(hit).title,
      subtitle: h('span', {}, t(`search.matched.${hit.matched}`), ' ', snippetElement(hit.snippet)),
      testid: 'search-contact',
      dataset: { accountId: hit.account_id },
    }).item;
  }
  const place = new URLSearchParams({ message: hit.message_id, seq: String(hit.seq) });
  const sender = session.people.get(hit.sender.account_id) ?? hit.sender;
  return listRow({
    href: `#/chats/${encodeURIComponent(hit.conversation_id)}?${place}`,
    avatar: avatar(session, hit.sender),
    title: session.state.chat?.title(hit.conversation_id) ?? hit.conversation_id,
    subtitle: h('span', {}, `${sender.remark || sender.display_name || sender.username}: `, snippetElement(hit.snippet)),
    meta: formatDateTime(hit.sent_at),
    testid: 'search-message',
    dataset: { messageId: hit.message_id },
  }).item;
}
