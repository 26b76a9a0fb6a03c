// Moments, the friends' feed: the area, and the notifications of likes
// and comments on my posts (and replies to my comments). The server sends
// them to my log as `moment.liked` and `moment.commented`; this keeps the
// latest ones (in this browser, per account), counts the unseen on the
// tab, and tells the feed when a post may have changed. The feed itself
// (view.js) loads on first visit.

/**
 * @typedef {{ type: string, cursor: string, at: string, moment_id: string, author_id: string,
 *   account_id: string, display_name?: string, avatar_media_id?: string | null,
 *   comment_id?: string, text?: string, reply_to?: string | null }} MomentEvent
 * @typedef {{ items: MomentEvent[], seen: string | null }} Notifications
 */

/** Notifications kept per account in this browser. */
const KEPT_MAX = 100;

export const area = {
  id: 'moments',
  nav: { label: 'nav.moments', href: '#/moments', icon: 'moments' },
  routes: [
    { path: '/moments', lazy: () => import('./view.js').then((m) => m.feedView) },
    { path: '/moments/notifications', lazy: () => import('./view.js').then((m) => m.notificationsView) },
  ],
  attach(session) {
    const state = notifications(session);
    session.setBadge('moments', unseen(state));
    session.addEventListener('event', (e) => {
      const event = /** @type {MomentEvent} */ (e.detail);
      if (event.type !== 'moment.liked' && event.type !== 'moment.commented') return;
      if (state.items.some((item) => item.cursor === event.cursor)) return;
      state.items.unshift(event);
      state.items.length = Math.min(state.items.length, KEPT_MAX);
      save(session, state);
      session.setBadge('moments', unseen(state));
      session.dispatchEvent(new CustomEvent('moment-changed', { detail: event.moment_id }));
    });
  },
};

function storageKey(session) {
  return `piazza.moments.notifications.${session.account.account_id}`;
}

/**
 * This account's notifications, read from the browser once per session.
 * @returns {Notifications}
 */
export function notifications(session) {
  if (!session.state.moments) {
    let kept = { items: [], seen: null };
    try {
      kept = { ...kept, ...JSON.parse(localStorage.getItem(storageKey(session)) ?? '{}') };
    } catch {
      // A damaged entry is dropped: the notifications start again.
    }
    session.state.moments = kept;
  }
  return session.state.moments;
}

function save(session, state) {
  try {
    localStorage.setItem(storageKey(session), JSON.stringify(state));
  } catch {
    // A full storage keeps them for this session only.
  }
}

/** A log position from its `v1.<hex>` cursor. */
function position(cursor) {
  return parseInt(String(cursor ?? '').split('.')[1] ?? '0', 16) || 0;
}

/** @param {Notifications} state */
function unseen(state) {
  return state.items.filter((item) => position(item.cursor) > position(state.seen)).length;
}

/** Everything listed counts as seen. */
export function markSeen(session) {
  const state = notifications(session);
  state.seen = state.items[0]?.cursor ?? state.seen;
  save(session, state);
  session.setBadge('moments', 0);
}
