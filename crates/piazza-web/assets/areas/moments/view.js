// The Moments feed: my posts and my contacts' that I may see, newest
// first, a page at a time. Each post shows its author, words, pictures in
// WeChat's grid (one large, or a grid of up to three a row), place and
// time, who may see it (mine only), and its likes and comments as the
// server lets me see them: only my contacts' (and mine and the author's),
// so a post of a friend looks different to each of their friends. Like,
// comment, reply to a comment (tap it), delete my post or a comment I may
// delete. And the notifications page: who liked or commented on what.

import { h, icon, replace } from '../../lib/dom.js';
import { formatNumber, formatRelative, t } from '../../lib/i18n.js';
import { avatar, emptyState, iconButton, listRow, toast } from '../../lib/ui.js';
import { errorLine, problemText } from '../auth/index.js';
import { markSeen, notifications } from './index.js';

/**
 * @typedef {{ account_id: string, username: string, display_name: string, avatar_media_id?: string | null }} Brief
 * @typedef {{ comment_id: string, account: Brief, text: string, reply_to: string | null,
 *   reply_to_account: string | null, created_at: string }} CommentView
 * @typedef {{ moment_id: string, author: Brief, text: string,
 *   media: { media_id: string, width: number | null, height: number | null }[],
 *   location: { lat: number, lon: number, name?: string } | null, created_at: string,
 *   visibility?: { kind: string, accounts: string[] }, likes: { account: Brief, created_at: string }[],
 *   like_count?: number, comments: CommentView[], liked: boolean }} MomentView
 */

const PAGE = 10;

export function feedView(ctx) {
  const { session } = ctx;
  const error = errorLine();
  const list = h('ul', { class: 'moments-list', 'aria-label': t('moments.title'), 'data-testid': 'moments-feed' });
  const more = h('button', { type: 'button', class: 'moments-more', hidden: true, 'data-testid': 'moments-more' }, t('moments.more'));
  const bell = h('a', { class: 'button', href: '#/moments/notifications', 'data-testid': 'moments-notifications-link' }, icon('bell'), h('span', {}, t('moments.notifications')));
  const post = h('button', { type: 'button', class: 'primary', 'data-testid': 'moment-new' }, icon('compose'), h('span', {}, t('moments.post')));
  const page = h(
    'section',
    { class: 'page moments-page', 'aria-labelledby': 'moments-title' },
    h('div', { class: 'page-heading' }, h('h1', { id: 'moments-title' }, t('moments.title')), h('div', { class: 'moments-tools' }, bell, post)),
    error,
    list,
    more,
  );
  /** @type {string | null} */
  let cursor = null;
  const load = async (from = null) => {
    try {
      const answer = await session.api.momentsFeed(from, PAGE);
      error.textContent = '';
      const items = answer.moments.map((/** @type {MomentView} */ m) => momentItem(session, m, reload));
      if (from) list.append(...items);
      else replace(list, items.length ? items : emptyState({ iconName: 'moments', title: t('moments.empty'), text: t('moments.empty_hint'), testid: 'moments-empty' }));
      cursor = answer.next_cursor;
      more.hidden = !cursor;
    } catch (failure) {
      error.textContent = problemText(failure);
    }
  };
  const reload = () => load(null);
  more.addEventListener('click', () => load(cursor));
  post.addEventListener('click', () => import('./compose.js').then((m) => m.composeDialog(session, reload)));
  const onChange = (e) => {
    if (!page.isConnected) return session.removeEventListener('moment-changed', onChange);
    refreshItem(session, list, String(e.detail), reload);
  };
  session.addEventListener('moment-changed', onChange);
  reload();
  return page;
}

/**
 * Posts being fetched again, each with whether it changed once more
 * meanwhile. One fetch at a time per post, and one more after it if it
 * changed during it: fetches racing each other could otherwise leave an
 * older answer shown, or replace an element another had replaced.
 * @type {Map<string, boolean>}
 */
const refreshing = new Map();

/**
 * Shows one post of `list` again as the server has it now (or drops it).
 * @param {any} session
 * @param {Element | null} list
 * @param {string} momentId
 * @param {() => void} reload
 */
async function refreshItem(session, list, momentId, reload) {
  if (!list) return;
  if (refreshing.has(momentId)) {
    refreshing.set(momentId, true);
    return;
  }
  const shown = () => list.querySelector(`[data-moment-id="${CSS.escape(momentId)}"]`);
  try {
    do {
      refreshing.set(momentId, false);
      if (!shown()) return;
      try {
        const moment = await session.api.moment(momentId);
        shown()?.replaceWith(momentItem(session, moment, reload));
      } catch {
        shown()?.remove();
      }
    } while (refreshing.get(momentId));
  } finally {
    refreshing.delete(momentId);
  }
}

/** @param {Brief} who */
function nameOf(who) {
  return who.display_name || who.username;
}

/**
 * A post, with what I may do to it.
 * @param {MomentView} moment
 */
function momentItem(session, moment, reload) {
  const mine = moment.author.account_id === session.account.account_id;
  const item = h('li', { class: 'moment', 'data-testid': 'moment', 'data-moment-id': moment.moment_id });
  const again = () => refreshItem(session, item.parentElement, moment.moment_id, reload);
  const act = async (action) => {
    try {
      await action();
      await again();
    } catch (failure) {
      toast(problemText(failure), { tone: 'error' });
    }
  };
  /** @type {CommentView | null} */
  let replyTo = null;
  const input = h('input', { class: 'moment-comment-input', maxlength: 500, placeholder: t('moments.comment_placeholder'), 'aria-label': t('moments.comment'), 'data-testid': 'moment-comment-input' });
  const form = h('form', { class: 'moment-comment-form', hidden: true }, input, h('button', { type: 'submit', class: 'primary', 'data-testid': 'moment-comment-send' }, t('moments.send')));
  const openComment = (comment) => {
    replyTo = comment;
    input.placeholder = comment ? t('moments.reply_placeholder', { name: nameOf(comment.account) }) : t('moments.comment_placeholder');
    form.hidden = false;
    input.focus();
  };
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    act(() => session.api.commentMoment(moment.moment_id, text, replyTo?.comment_id ?? null));
  });
  const like = iconButton('heart', moment.liked ? t('moments.unlike') : t('moments.like'), {
    'aria-pressed': String(moment.liked),
    'data-testid': 'moment-like',
    onclick: () => act(() => (moment.liked ? session.api.unlikeMoment(moment.moment_id) : session.api.likeMoment(moment.moment_id))),
  });
  const comment = iconButton('chat', t('moments.comment'), { 'data-testid': 'moment-comment', onclick: () => openComment(null) });
  const remove = mine
    ? iconButton('trash', t('moments.delete'), {
        'data-testid': 'moment-delete',
        onclick: async () => {
          if (!confirm(t('moments.delete_confirm'))) return;
          try {
            await session.api.deleteMoment(moment.moment_id);
            item.remove();
          } catch (failure) {
            toast(problemText(failure), { tone: 'error' });
          }
        },
      })
    : null;
  item.append(
    avatar(session, moment.author, { label: nameOf(moment.author) }),
    h(
      'div',
      { class: 'moment-body' },
      h('p', { class: 'moment-author' }, nameOf(moment.author)),
      moment.text ? h('p', { class: 'moment-text', 'data-testid': 'moment-text' }, moment.text) : null,
      pictures(session, moment),
      moment.location ? h('p', { class: 'moment-place' }, icon('place'), h('span', {}, moment.location.name ?? `${moment.location.lat}, ${moment.location.lon}`)) : null,
      h(
        'div',
        { class: 'moment-meta' },
        h('time', { datetime: moment.created_at }, formatRelative(moment.created_at)),
        moment.visibility ? h('span', { class: 'tag', 'data-testid': 'moment-visibility' }, t(`moments.visibility_${moment.visibility.kind}`)) : null,
        h('span', { class: 'moment-actions' }, like, comment, remove),
      ),
      interactions(session, moment, mine, openComment, act),
      form,
    ),
  );
  return item;
}

/** The pictures: one shown large, more in a grid of three a row. */
function pictures(session, moment) {
  if (!moment.media.length) return null;
  const grid = h('div', { class: `moment-pictures count-${Math.min(moment.media.length, 4)}`, 'data-testid': 'moment-pictures' });
  for (const media of moment.media) {
    const image = h('img', { alt: t('moments.picture'), loading: 'lazy', 'data-testid': 'moment-picture' });
    if (media.width && media.height) image.style.aspectRatio = `${media.width} / ${media.height}`;
    session.thumbnailUrl(media.media_id).then((url) => (image.src = url), () => image.classList.add('missing'));
    grid.append(image);
  }
  return grid;
}

/**
 * Likes and comments as the server let me see them. A comment opens a
 * reply; mine, or any on my post, may be deleted.
 */
function interactions(session, moment, mine, openComment, act) {
  if (!moment.likes.length && !moment.comments.length) return null;
  const me = session.account.account_id;
  const box = h('div', { class: 'moment-interactions' });
  if (moment.likes.length) {
    // The server sends the newest few of the likes I may see and how many
    // there are in all.
    const names = moment.likes.map((like) => nameOf(like.account)).join(', ');
    const more = (moment.like_count ?? moment.likes.length) - moment.likes.length;
    const shown = more > 0 ? t('moments.likes_more', { names, count: formatNumber(more) }) : names;
    box.append(h('p', { class: 'moment-likes', 'data-testid': 'moment-likes' }, icon('heart'), h('span', {}, shown)));
  }
  const people = new Map([[moment.author.account_id, moment.author], ...moment.comments.map((c) => [c.account.account_id, c.account])]);
  for (const comment of moment.comments) {
    const replied = comment.reply_to_account ? people.get(comment.reply_to_account) : null;
    const who = replied
      ? t('moments.replied', { name: nameOf(comment.account), to: nameOf(replied) })
      : nameOf(comment.account);
    const line = h(
      'p',
      { class: 'moment-comment', 'data-testid': 'moment-comment-line', tabindex: 0, role: 'button' },
      h('strong', {}, who),
      h('span', {}, `: ${comment.text}`),
    );
    line.addEventListener('click', () => openComment(comment));
    line.addEventListener('keydown', (e) => e.key === 'Enter' && openComment(comment));
    const removable = mine || comment.account.account_id === me;
    box.append(
      h(
        'div',
        { class: 'moment-comment-row' },
        line,
        removable
          ? iconButton('trash', t('moments.delete_comment'), {
              class: 'small',
              'data-testid': 'moment-comment-delete',
              onclick: () => act(() => session.api.deleteMomentComment(moment.moment_id, comment.comment_id)),
            })
          : null,
      ),
    );
  }
  return box;
}

/** A notification as a sentence. */
function sentence(session, event) {
  const name = event.display_name || event.account_id;
  if (event.type === 'moment.liked') return t('moments.notify_liked', { name });
  if (event.reply_to && event.author_id !== session.account.account_id) return t('moments.notify_replied', { name, text: event.text ?? '' });
  if (event.reply_to) return t('moments.notify_replied_mine', { name, text: event.text ?? '' });
  return t('moments.notify_commented', { name, text: event.text ?? '' });
}

export function notificationsView(ctx) {
  const { session } = ctx;
  const list = h('ul', { class: 'rows-list moments-notifications', 'aria-label': t('moments.notifications'), 'data-testid': 'moments-notifications' });
  const page = h(
    'section',
    { class: 'page moments-page', 'aria-labelledby': 'moments-notifications-title' },
    h('div', { class: 'page-heading' }, h('h1', { id: 'moments-notifications-title' }, t('moments.notifications')), h('a', { class: 'button', href: '#/moments' }, t('moments.back'))),
    h('p', { class: 'hint' }, t('moments.notifications_hint')),
    list,
  );
  const show = () => {
    const items = notifications(session).items;
    replace(
      list,
      items.length
        ? items.map((event) =>
            listRow({
              href: '#/moments',
              avatar: avatar(session, { account_id: event.account_id, display_name: event.display_name ?? '', avatar_media_id: event.avatar_media_id ?? null }),
              title: sentence(session, event),
              meta: formatRelative(event.at),
              testid: 'moments-notification',
            }).item,
          )
        : emptyState({ iconName: 'bell', title: t('moments.notifications_none'), testid: 'moments-notifications-empty' }),
    );
    markSeen(session);
  };
  const onChange = () => {
    if (page.isConnected) show();
    else session.removeEventListener('moment-changed', onChange);
  };
  session.addEventListener('moment-changed', onChange);
  show();
  return page;
}
