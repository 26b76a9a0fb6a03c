// My contacts' presence: who is online now and when the others were last
// seen, as far as each shows it. The list (`GET /contacts/presence`) is
// read whenever the socket (re)connects, since `presence` events are
// ephemeral and a device away misses them; the events then keep it
// current. A contact absent from the list hides it: nothing is shown for
// them. `presenceText` words it ("online", "last seen 5 minutes ago").

import { locale, t } from './i18n.js';

const MINUTE_MS = 60 * 1000;
const HOUR_MS = 60 * MINUTE_MS;
/** Past this many days the date is written, not the weekday. */
const WEEKDAYS_SHOWN = 7;

/**
 * One contact's presence: online now, else when last seen (absent when
 * the server does not know).
 * @typedef {{ online: boolean, last_seen: string | null }} Seen
 */

/**
 * Views listen for 'change' (detail: the account id, or none when the
 * whole list was read again).
 */
export class Presence extends EventTarget {
  constructor(session) {
    super();
    this.session = session;
    /** @type {Map<string, Seen>} */
    this.known = new Map();
    /** Events that came while the list was on its way, applied again over it; null when none is. */
    this.arrived = null;
    this.ticket = 0;
    session.addEventListener('ephemeral', (/** @type {CustomEvent} */ e) => {
      if (e.detail?.type === 'presence') this.note(e.detail);
    });
    session.addEventListener('connected', () => this.load());
    // Long-polling carries no presence: the list is read at each turn of it.
    session.addEventListener('status', (/** @type {CustomEvent} */ e) => {
      if (e.detail === 'polling') this.load();
    });
    session.addEventListener('event', (/** @type {CustomEvent} */ e) => {
      const type = e.detail?.type;
      if (type === 'contact.added' || type === 'contact.removed') this.load();
    });
  }

  /** Reads the list again; the latest read wins, and live events that came meanwhile stay applied. */
  async load() {
    const ticket = (this.ticket += 1);
    this.arrived = this.arrived ?? [];
    let answer;
    try {
      answer = await this.session.api.contactsPresence();
    } catch {
      if (ticket === this.ticket) this.arrived = null;
      return;
    }
    if (ticket !== this.ticket) return;
    const arrived = this.arrived;
    this.arrived = null;
    const before = this.known;
    this.known = new Map((answer.presence ?? []).map((p) => [p.account_id, { online: !!p.online, last_seen: later(p.last_seen, before.get(p.account_id)?.last_seen) }]));
    for (const event of arrived) this.set(event);
    this.dispatchEvent(new CustomEvent('change', { detail: null }));
  }

  /** A live `presence` event: a contact came online, or went offline (with `last_seen`). */
  note(event) {
    if (!event.account_id) return;
    this.arrived?.push(event);
    this.set(event);
    this.dispatchEvent(new CustomEvent('change', { detail: event.account_id }));
  }

  set({ account_id: id, online, last_seen: lastSeen }) {
    const before = this.known.get(id);
    this.known.set(id, { online: !!online, last_seen: lastSeen ?? before?.last_seen ?? null });
  }

  /**
   * A contact's presence, or null when they hide it (or are no contact).
   * @returns {Seen | null}
   */
  of(accountId) {
    return (accountId && this.known.get(accountId)) || null;
  }

  isOnline(accountId) {
    return !!this.of(accountId)?.online;
  }
}

/**
 * The later of two times (RFC 3339), or the one given. The list's
 * `last_seen` is a device's last request, which may be older than the
 * `last_seen` an offline event told (when its socket closed): last seen
 * never goes back.
 * @param {string | null | undefined} a
 * @param {string | null | undefined} b
 */
function later(a, b) {
  if (!a || !b) return a || b || null;
  return Date.parse(b) > Date.parse(a) ? b : a;
}

/** The local day of `time` as a count of days, for "today" and "yesterday". */
function dayNumber(time) {
  const date = new Date(time);
  return Math.round(new Date(date.getFullYear(), date.getMonth(), date.getDate()).getTime() / (24 * HOUR_MS));
}

/**
 * A presence in words, in the language in use: "online", "last seen just
 * now", "last seen 5 minutes ago", "last seen today at 14:05", "last seen
 * yesterday at 18:04", "last seen Monday at 09:30", "last seen 3 Mar
 * 2025"; '' for someone who hides it (or was never seen).
 * @param {Seen | null} seen
 * @param {number} [now]
 */
export function presenceText(seen, now = Date.now()) {
  if (!seen) return '';
  if (seen.online) return t('presence.online');
  const at = new Date(seen.last_seen ?? '');
  if (Number.isNaN(at.getTime())) return '';
  const ago = Math.max(0, now - at.getTime());
  if (ago < MINUTE_MS) return t('presence.last_seen_now');
  if (ago < HOUR_MS) {
    const when = new Intl.RelativeTimeFormat(locale(), { numeric: 'auto' }).format(-Math.floor(ago / MINUTE_MS), 'minute');
    return t('presence.last_seen', { when });
  }
  const time = at.toLocaleTimeString(locale(), { hour: '2-digit', minute: '2-digit' });
  const days = dayNumber(now) - dayNumber(at);
  if (days <= 0) return t('presence.last_seen_today', { time });
  if (days === 1) return t('presence.last_seen_yesterday', { time });
  if (days < WEEKDAYS_SHOWN) return t('presence.last_seen_on', { day: at.toLocaleDateString(locale(), { weekday: 'long' }), time });
  return t('presence.last_seen_date', { date: at.toLocaleDateString(locale(), { dateStyle: 'medium' }) });
}
