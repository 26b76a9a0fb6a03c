// Accounts kept in this browser (several, one token each, in localStorage)
// and the live session of the one in use.

import { Api } from './api.js';
import { Sync } from './sync.js';
import { Presence } from './presence.js';

const ACCOUNTS_KEY = 'piazza.accounts';
const CURRENT_KEY = 'piazza.current';
/** More would make the menu useless; WeChat users run two or three. */
export const ACCOUNTS_MAX = 10;
/** Avatar pictures kept as blob: URLs per session (more while the page shows them). */
const THUMBNAILS_MAX = 400;
/** Past the cap, the least recently used are given back down to this many. */
const THUMBNAILS_TRIM_TO = THUMBNAILS_MAX - 40;

export const accounts = {
  list() {
    try {
      const list = JSON.parse(localStorage.getItem(ACCOUNTS_KEY) ?? '[]');
      return Array.isArray(list) ? list.filter((a) => a && a.token && a.account_id) : [];
    } catch {
      return [];
    }
  },
  /** Adds or refreshes an account and makes it the current one. */
  save(account) {
    const list = this.list().filter((a) => a.account_id !== account.account_id);
    list.push(account);
    localStorage.setItem(ACCOUNTS_KEY, JSON.stringify(list.slice(-ACCOUNTS_MAX)));
    localStorage.setItem(CURRENT_KEY, account.account_id);
  },
  remove(accountId) {
    const list = this.list().filter((a) => a.account_id !== accountId);
    localStorage.setItem(ACCOUNTS_KEY, JSON.stringify(list));
    if (localStorage.getItem(CURRENT_KEY) === accountId) {
      if (list.length) localStorage.setItem(CURRENT_KEY, list[0].account_id);
      else localStorage.removeItem(CURRENT_KEY);
    }
  },
  current() {
    const list = this.list();
    const id = localStorage.getItem(CURRENT_KEY);
    return list.find((a) => a.account_id === id) ?? list[0] ?? null;
  },
  setCurrent(accountId) {
    localStorage.setItem(CURRENT_KEY, accountId);
  },
};

/** What this browser calls itself in the devices list. */
export function deviceName() {
  const platform = /** @type {any} */ (navigator).userAgentData?.platform || navigator.platform || '';
  return `Web browser${platform ? ` (${platform})` : ''}`.slice(0, 64);
}

/**
 * The account in use: its Api, its Sync, a directory of the people it
 * knows, my contacts' presence, and a bag of per-area state
 * (`session.state.chat`, …). Areas listen to `session` for 'event' (each
 * sync event, in log order) and 'ephemeral' (typing, presence: live only).
 */
export class Session extends EventTarget {
  constructor(account, onRevoked) {
    super();
    this.account = account;
    let revoked = false;
    const revokedOnce = () => {
      if (revoked) return;
      revoked = true;
      onRevoked(this);
    };
    this.api = new Api(account.token, revokedOnce);
    this.sync = new Sync(this.api, revokedOnce);
    this.people = new Map();
    this.state = {};
    /** Counts shown on the areas' navigation entries, by area id. */
    this.badges = new Map();
    /**
     * Avatar pictures by media id, least recently used first (see
     * `thumbnailUrl`): `{promise, url}`, `url` once fetched.
     * @type {Map<string, {promise: Promise<string>, url: string | null}>}
     */
    this.thumbnails = new Map();
    this.remember({
      account_id: account.account_id,
      username: account.username,
      display_name: account.display_name,
    });
    this.sync.addEventListener('event', (/** @type {CustomEvent} */ e) => {
      this.learnFrom(e.detail);
      this.dispatchEvent(new CustomEvent('event', { detail: e.detail }));
    });
    /** 'online', 'offline' or 'polling', for the shell's indicator. */
    this.status = 'offline';
    this.sync.addEventListener('status', (/** @type {CustomEvent} */ e) => {
      this.status = e.detail;
      this.dispatchEvent(new CustomEvent('status', { detail: e.detail }));
    });
    this.sync.addEventListener('connected', (/** @type {CustomEvent} */ e) =>
      this.dispatchEvent(new CustomEvent('connected', { detail: e.detail })),
    );
    // Typing and presence: live only, never in the log (no cursor).
    this.sync.addEventListener('ephemeral', (/** @type {CustomEvent} */ e) =>
      this.dispatchEvent(new CustomEvent('ephemeral', { detail: e.detail })),
    );
    /** Whether my contacts are online, and when they were last seen. */
    this.presence = new Presence(this);
  }

  get me() {
    return this.account.account_id;
  }

  start() {
    this.sync.start();
  }

  stop() {
    this.sync.stop();
    for (const entry of this.thumbnails.values()) entry.promise.then((u) => URL.revokeObjectURL(u), () => {});
    this.thumbnails.clear();
  }

  /**
   * What a person looks like, merged into what was known; 'person'
   * (detail = account id) tells views when their name or avatar changed.
   */
  remember(person) {
    if (!person?.account_id) return;
    const known = this.people.get(person.account_id) ?? {};
    const merged = { ...known };
    for (const [key, value] of Object.entries(person)) if (value !== undefined) merged[key] = value;
    this.people.set(person.account_id, merged);
    const looks = (p) =>
      `${p.display_name ?? ''}\u0000${p.username ?? ''}\u0000${p.avatar_media_id ?? ''}\u0000${p.remark ?? ''}`;
    if (looks(known) !== looks(merged)) {
      this.dispatchEvent(new CustomEvent('person', { detail: person.account_id }));
    }
  }

  /**
   * The account's contacts, fetched once (and again after
   * `forgetContacts()`, which contact events call); their names and
   * pictures go into `people` as they come.
   */
  contacts() {
    if (!this.contactsPromise) {
      this.contactsPromise = this.api.contacts().then((answer) => {
        for (const contact of answer.contacts) this.remember(contact);
        return answer.contacts;
      });
      this.contactsPromise.catch(() => (this.contactsPromise = null));
    }
    return this.contactsPromise;
  }

  forgetContacts() {
    this.contactsPromise = null;
  }

  /** The count on an area's navigation entry (0 hides it); the shell listens for 'badges'. */
  setBadge(areaId, count) {
    if ((this.badges.get(areaId) ?? 0) === count) return;
    this.badges.set(areaId, count);
    this.dispatchEvent(new Event('badges'));
  }

  /**
   * A picture's thumbnail as a blob: URL (an <img> cannot send the token),
   * fetched once per media id and kept while the session lives or until
   * `trimThumbnails` gives it back.
   * @param {string} mediaId
   * @returns {Promise<string>}
   */
  thumbnailUrl(mediaId) {
    const entry = this.thumbnails.get(mediaId);
    if (entry) {
      // Used again: the most recent now (the Map's order is the LRU order).
      this.thumbnails.delete(mediaId);
      this.thumbnails.set(mediaId, entry);
      return entry.promise;
    }
    const created = { promise: null, url: null };
    created.promise = this.api.thumbnail(mediaId).then((blob) => (created.url = URL.createObjectURL(blob)));
    created.promise.catch(() => {
      if (this.thumbnails.get(mediaId) === created) this.thumbnails.delete(mediaId);
    });
    this.thumbnails.set(mediaId, created);
    if (this.thumbnails.size > THUMBNAILS_MAX) this.trimThumbnails();
    return created.promise;
  }

  /**
   * Gives back the least recently used thumbnails down to
   * THUMBNAILS_TRIM_TO, but never one still being fetched or one an image
   * in the page uses (loaded or not): a revoked blob: URL cannot load.
   */
  trimThumbnails() {
    const inUse = new Set();
    for (const img of document.querySelectorAll('img[src^="blob:"]')) inUse.add(/** @type {HTMLImageElement} */ (img).src);
    let excess = this.thumbnails.size - THUMBNAILS_TRIM_TO;
    for (const [mediaId, entry] of this.thumbnails) {
      if (excess <= 0) break;
      if (!entry.url || inUse.has(entry.url)) continue;
      this.thumbnails.delete(mediaId);
      URL.revokeObjectURL(entry.url);
      excess -= 1;
    }
  }

  /**
   * A person's name as I call them: my remark for a contact, else their
   * display name, their username, or the id.
   */
  name(accountId) {
    const person = this.people.get(accountId);
    return person?.remark || person?.display_name || person?.username || accountId;
  }

  learnFrom(event) {
    if (event.type === 'contact.request') {
      this.remember(event.from);
      this.remember(event.to);
    } else if (event.type === 'contact.added') {
      this.remember(event.contact);
    } else if (event.type === 'contact.updated') {
      // My remark, from one of my devices: only I ever see it.
      this.remember({ account_id: event.account_id, remark: event.remark ?? null });
    } else if (event.type === 'contact.removed') {
      this.remember({ account_id: event.account_id, remark: null });
    } else if (event.type === 'account.updated') {
      const { account_id, display_name, avatar_media_id, bio } = event;
      this.remember({ account_id, display_name, avatar_media_id: avatar_media_id ?? null, bio });
    } else if (event.type === 'conversation.member_added' && event.display_name && !this.people.has(event.account_id)) {
      // The name as it was when the member joined: only for someone not known better.
      this.remember({ account_id: event.account_id, display_name: event.display_name, avatar_media_id: event.avatar_media_id ?? null });
    }
  }
}
