// REST calls to the public API (api-v1.md). Errors come back as
// problem+json; they become `ApiError` with the stable `code`, so callers
// branch on codes, never on prose.

import { timeoutSignal } from './dom.js';
import { catalogReady, serverJson } from './i18n.js';

const BASE = '/api/v1';
/** No call waits longer than this; long-polls pass their own. */
const REQUEST_TIMEOUT_MS = 15000;
/** An image upload or download (up to 10 MiB) may take this long. */
const MEDIA_TIMEOUT_MS = 60000;

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail || problem?.title || `HTTP ${status}`);
    this.status = status;
    this.code = problem?.code ?? (status === 0 ? 'network' : `http_${status}`);
    this.problem = problem;
  }
}

/**
 * A client bound to one token (or none). `onUnauthorized` runs on any 401
 * of an authenticated call: the device was revoked or the token is gone.
 */
export class Api {
  constructor(token = null, onUnauthorized = () => {}) {
    this.token = token;
    this.onUnauthorized = onUnauthorized;
  }

  async request(method, path, body, { timeoutMs = REQUEST_TIMEOUT_MS, headers = {} } = {}) {
    const init = { method, headers: { Accept: 'application/json', ...headers } };
    if (body !== undefined) {
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    const response = await this.fetchRaw(path, init, timeoutMs);
    if (response.status === 204) return null;
    const text = await response.text();
    await catalogReady;
    let json = null;
    if (text) {
      try {
        json = JSON.parse(text, serverJson);
      } catch {
        json = null;
      }
    }
    if (!response.ok) throw new ApiError(response.status, json);
    return json;
  }

  get(path, options) {
    return this.request('GET', path, undefined, options);
  }
  post(path, body = {}, options) {
    return this.request('POST', path, body, options);
  }
  delete(path) {
    return this.request('DELETE', path);
  }
  patch(path, body) {
    return this.request('PATCH', path, body);
  }
  put(path, body) {
    return this.request('PUT', path, body);
  }

  // Accounts and sessions.
  signup(username, password, displayName) {
    const body = { username, password };
    if (displayName) body.display_name = displayName;
    return this.post('/accounts', body);
  }
  login(username, password, deviceName) {
    return this.post('/sessions', { username, password, device_name: deviceName });
  }
  me() {
    return this.get('/me');
  }
  /** `{display_name?, avatar_media_id?, bio?}`: only what is given changes (null clears). */
  updateMe(changes) {
    return this.patch('/me', changes);
  }
  changePassword(oldPassword, newPassword, signOutOtherDevices) {
    return this.put('/me/password', {
      old_password: oldPassword,
      new_password: newPassword,
      sign_out_other_devices: signOutOtherDevices,
    });
  }
  /** Deletes this account (its wallet must be empty): `{erase_at}`; logging in before then restores it. */
  deleteAccount(password) {
    return this.request('DELETE', '/accounts/me', { password });
  }
  /** A profile as this account may see it (a stranger sees less). */
  account(accountId) {
    return this.get(`/accounts/${encodeURIComponent(accountId)}`);
  }
  /** Who has this username (what a contact request needs to show). */
  accountByUsername(username) {
    return this.get(`/accounts?${new URLSearchParams({ username })}`);
  }
  devices() {
    return this.get('/devices');
  }
  revokeDevice(deviceId) {
    return this.delete(`/devices/${encodeURIComponent(deviceId)}`);
  }

  // Login by QR.
  createLoginRequest(deviceName) {
    return this.post('/login-requests', { device_name: deviceName });
  }
  loginRequestStatus(requestId, secret) {
    return this.get(`/login-requests/${encodeURIComponent(requestId)}`, {
      headers: { 'X-Login-Secret': secret },
    });
  }
  /** What the server saw of the browser asking: shown before approving. */
  loginRequestDetails(requestId, code) {
    return this.get(`/login-requests/${encodeURIComponent(requestId)}/details`, {
      headers: { 'X-Login-Code': code },
    });
  }
  /** The explicit confirmation, once the person saw the details. */
  approveLogin(requestId, payload) {
    return this.post(`/login-requests/${encodeURIComponent(requestId)}/approve`, {
      qr_payload: payload,
      confirm: true,
    });
  }

  // Contacts.
  contacts() {
    return this.get('/contacts?limit=200');
  }
  incomingRequests() {
    return this.get('/contacts/requests?limit=200');
  }
  requestContact(username, greeting) {
    const body = { to: username };
    if (greeting) body.greeting = greeting;
    return this.post('/contacts/requests', body);
  }
  acceptRequest(requestId) {
    return this.post(`/contacts/requests/${encodeURIComponent(requestId)}/accept`);
  }
  declineRequest(requestId) {
    return this.post(`/contacts/requests/${encodeURIComponent(requestId)}/decline`);
  }
  /** My own name for a contact, only I see it; '' or null clears it. Answers the contact. */
  setRemark(accountId, remark) {
    return this.patch(`/contacts/${encodeURIComponent(accountId)}`, { remark: remark || null });
  }
  /** `{payload}`: my contact code, `piazza-contact:<token>`, made on first read. */
  contactCode() {
    return this.get('/me/contact-code?format=payload');
  }
  /** My contact code drawn as an SVG, as a Blob (an `<img>` cannot send the token). */
  async contactCodeImage() {
    const response = await this.fetchRaw('/me/contact-code?format=svg', { method: 'GET' }, REQUEST_TIMEOUT_MS);
    if (!response.ok) throw new ApiError(response.status, await response.json().catch(() => null));
    return response.blob();
  }
  /** Asks for an export of everything my account holds: `{export_id, download_url, …}`. */
  startExport() {
    return this.post('/exports');
  }
  /**
   * A link that downloads an export once, without the token, within a
   * minute: `{url, expires_at}`. The browser's download manager streams it
   * to disk, so the page never holds the zip.
   */
  exportLink(exportId) {
    return this.post(`/exports/${encodeURIComponent(exportId)}/link`);
  }
  /** Revokes my contact code; answers the new one's `{payload}`. */
  resetContactCode() {
    return this.post('/me/contact-code/reset');
  }
  /** Asks the owner of a scanned or pasted contact code; answers `{request_id}`. */
  requestContactByCode(payload, greeting) {
    const body = { payload };
    if (greeting) body.greeting = greeting;
    return this.post('/contacts/by-code', body);
  }
  /** The requests this account sent that wait for an answer. */
  outgoingRequests() {
    return this.get('/contacts/requests/outgoing?limit=200');
  }
  /** `{presence: [{account_id, online, last_seen?}]}`: my contacts who show it. */
  contactsPresence() {
    return this.get('/contacts/presence');
  }
  /** `{blocks: [{account_id, username, display_name, avatar_media_id?, blocked_at}]}`, latest first. */
  blocks() {
    return this.get('/blocks');
  }
  /** Blocks someone: no direct messages, requests or online status from them to me. */
  block(accountId) {
    return this.post('/blocks', { account_id: accountId });
  }
  unblock(accountId) {
    return this.delete(`/blocks/${encodeURIComponent(accountId)}`);
  }
  /** `{last_seen: 'contacts' | 'nobody'}`: who sees whether I am online. */
  privacy() {
    return this.get('/me/privacy');
  }
  /** Changes who sees whether I am online; answers as `privacy()`. */
  updatePrivacy(changes) {
    return this.patch('/me/privacy', changes);
  }

  // Moments, the friends' feed.
  /** `{moments: [...], next_cursor}`: my feed, newest first. */
  momentsFeed(cursor = null, limit = 20) {
    const query = new URLSearchParams({ limit: String(limit) });
    if (cursor) query.set('cursor', cursor);
    return this.get(`/moments/feed?${query}`);
  }
  moment(momentId) {
    return this.get(`/moments/${encodeURIComponent(momentId)}`);
  }
  /** `{text, media_ids, visibility: {kind, accounts}}` → `{moment_id}`. */
  postMoment(body) {
    return this.post('/moments', body);
  }
  deleteMoment(momentId) {
    return this.delete(`/moments/${encodeURIComponent(momentId)}`);
  }
  likeMoment(momentId) {
    return this.post(`/moments/${encodeURIComponent(momentId)}/likes`);
  }
  unlikeMoment(momentId) {
    return this.delete(`/moments/${encodeURIComponent(momentId)}/likes`);
  }
  /** A comment, or a reply to `replyTo` (a comment of the same post). */
  commentMoment(momentId, text, replyTo = null) {
    const body = replyTo ? { text, reply_to: replyTo } : { text };
    return this.post(`/moments/${encodeURIComponent(momentId)}/comments`, body);
  }
  deleteMomentComment(momentId, commentId) {
    return this.delete(`/moments/${encodeURIComponent(momentId)}/comments/${encodeURIComponent(commentId)}`);
  }

  // Conversations.
  conversations() {
    return this.get('/conversations?limit=200');
  }
  openDirect(peer) {
    return this.post('/conversations/direct', { peer });
  }
  createGroup(title, members) {
    return this.post('/conversations', { title, members });
  }
  /**
   * A group's `{title?, avatar_media_id?, announcement?, join_approval?}`
   * (its owner and admins; null clears the picture, '' the announcement).
   */
  updateGroup(conversationId, changes) {
    return this.patch(`/conversations/${encodeURIComponent(conversationId)}`, changes);
  }
  addMember(conversationId, accountId) {
    return this.post(`/conversations/${encodeURIComponent(conversationId)}/members`, {
      account_id: accountId,
    });
  }
  removeMember(conversationId, accountId) {
    return this.delete(
      `/conversations/${encodeURIComponent(conversationId)}/members/${encodeURIComponent(accountId)}`,
    );
  }
  /** A conversation with every member's role, its announcement and approval mode. */
  group(conversationId) {
    return this.get(`/conversations/${encodeURIComponent(conversationId)}`);
  }
  makeAdmin(conversationId, accountId) {
    return this.post(`/conversations/${encodeURIComponent(conversationId)}/admins/${encodeURIComponent(accountId)}`);
  }
  unmakeAdmin(conversationId, accountId) {
    return this.delete(`/conversations/${encodeURIComponent(conversationId)}/admins/${encodeURIComponent(accountId)}`);
  }
  leaveGroup(conversationId) {
    return this.post(`/conversations/${encodeURIComponent(conversationId)}/leave`);
  }
  /** `{invite_id, payload, expires_at, qr_svg}`: the one time the link is shown. */
  createInvite(conversationId) {
    return this.post(`/conversations/${encodeURIComponent(conversationId)}/invites`);
  }
  revokeInvite(conversationId, inviteId) {
    return this.delete(`/conversations/${encodeURIComponent(conversationId)}/invites/${encodeURIComponent(inviteId)}`);
  }
  /** `{conversation_id, state: 'joined' | 'pending'}`. */
  acceptInvite(payload) {
    return this.post('/invites/accept', { payload });
  }
  joinRequests(conversationId) {
    return this.get(`/conversations/${encodeURIComponent(conversationId)}/join-requests`);
  }
  /** `decision` is 'approve' or 'decline'. */
  decideJoinRequest(conversationId, accountId, decision) {
    return this.post(
      `/conversations/${encodeURIComponent(conversationId)}/join-requests/${encodeURIComponent(accountId)}/${decision}`,
    );
  }
  history(conversationId, before, limit) {
    const query = new URLSearchParams({ limit: String(limit) });
    if (before) query.set('before', String(before));
    return this.get(`/conversations/${encodeURIComponent(conversationId)}/messages?${query}`);
  }
  /** A text message, or with `mediaId` an image whose caption is `text`. */
  send(conversationId, clientMsgId, text, mediaId = null) {
    return this.sendMessage(conversationId, clientMsgId, mediaId ? { text, media_id: mediaId } : { text });
  }
  /**
   * A message of any kind: `fields` are what it carries beside its
   * client_msg_id (`text`, `media_id`, `location`, `card`, `forward_of`,
   * `reply_to`, `mentions`, `mention_all`).
   * @param {string} conversationId
   * @param {string} clientMsgId
   * @param {Record<string, any>} fields
   */
  sendMessage(conversationId, clientMsgId, fields) {
    return this.post(`/conversations/${encodeURIComponent(conversationId)}/messages`, { client_msg_id: clientMsgId, ...fields });
  }
  /** A page of what I can find: `scope` 'messages' or 'contacts'; `next_cursor` goes on. */
  search({ q, scope = 'messages', conversationId = null, cursor = null, limit = 20 }) {
    const query = new URLSearchParams({ q, scope, limit: String(limit) });
    if (conversationId) query.set('conversation_id', conversationId);
    if (cursor) query.set('cursor', cursor);
    return this.get(`/search?${query}`);
  }
  /** One message as the history shows it (a reply's quoted message not held here). */
  message(conversationId, messageId) {
    return this.get(`/conversations/${encodeURIComponent(conversationId)}/messages/${encodeURIComponent(messageId)}`);
  }
  /** My own `{muted?, pinned?, archived?}` of a conversation; answers all three as they now are. */
  conversationSettings(conversationId, changes) {
    return this.patch(`/conversations/${encodeURIComponent(conversationId)}/settings`, changes);
  }
  /** Takes a message back for everyone; answers the message as it now is (`recalled`). */
  recall(conversationId, messageId) {
    const path = `/conversations/${encodeURIComponent(conversationId)}/messages/${encodeURIComponent(messageId)}/recall`;
    return this.request('POST', path);
  }
  /** Deletes a message from my own history only (every device of mine); others keep it. */
  deleteMessage(conversationId, messageId) {
    const path = `/conversations/${encodeURIComponent(conversationId)}/messages/${encodeURIComponent(messageId)}`;
    return this.delete(path);
  }

  /** Reacts to a message with one emoji; the same one again changes nothing. */
  react(conversationId, messageId, emoji) {
    const path = `/conversations/${encodeURIComponent(conversationId)}/messages/${encodeURIComponent(messageId)}/reactions`;
    return this.post(path, { emoji });
  }
  /** Takes my reaction `emoji` back (nothing happens if I had none). */
  unreact(conversationId, messageId, emoji) {
    const path = `/conversations/${encodeURIComponent(conversationId)}/messages/${encodeURIComponent(messageId)}/reactions/${encodeURIComponent(emoji)}`;
    return this.delete(path);
  }

  // Media: the body is the image itself, typed by its Content-Type.
  async uploadMedia(blob) {
    const response = await this.fetchRaw('/media', {
      method: 'POST',
      headers: { Accept: 'application/json', 'Content-Type': blob.type },
      body: blob,
    }, MEDIA_TIMEOUT_MS);
    const json = await response.json().catch(() => null);
    if (!response.ok) throw new ApiError(response.status, json);
    return json;
  }
  /**
   * Any file, picture, audio or video, with its progress: the body is the
   * bytes, `name` the file's name (shown with a `file` message and given
   * to its download). Its `Content-Type` is the file's own when it names a
   * picture, audio or video (the server checks it against the bytes),
   * else `application/octet-stream` (the server reads what it is).
   * `onProgress(loaded, total)` runs as it goes; `signal` aborts it (an
   * ApiError with code `aborted`). Answers `{media_id, content_type,
   * bytes, width?, height?, duration_ms?, name?}`. XMLHttpRequest, since
   * fetch tells nothing of an upload's progress.
   * @param {Blob} blob
   * @param {{ name?: string, onProgress?: (loaded: number, total: number) => void, signal?: AbortSignal }} [options]
   * @returns {Promise<any>}
   */
  uploadFile(blob, { name = '', onProgress = () => {}, signal } = {}) {
    const declared = /^(image|audio|video)\//.test(blob.type) ? blob.type : 'application/octet-stream';
    const query = name ? `?${new URLSearchParams({ name })}` : '';
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open('POST', `${BASE}/media${query}`);
      xhr.setRequestHeader('Accept', 'application/json');
      xhr.setRequestHeader('Content-Type', declared);
      if (this.token) xhr.setRequestHeader('Authorization', `Bearer ${this.token}`);
      xhr.upload.onprogress = (e) => onProgress(e.loaded, e.lengthComputable ? e.total : blob.size);
      xhr.onload = () => {
        let json;
        try {
          json = JSON.parse(xhr.responseText, serverJson);
        } catch {
          json = null;
        }
        if (xhr.status === 401 && this.token) this.onUnauthorized();
        if (xhr.status >= 200 && xhr.status < 300) resolve(json);
        else reject(new ApiError(xhr.status, json));
      };
      xhr.onerror = () => reject(new ApiError(0, { detail: 'upload failed' }));
      xhr.onabort = () => reject(Object.assign(new ApiError(0, { detail: 'aborted' }), { code: 'aborted' }));
      if (signal?.aborted) {
        reject(Object.assign(new ApiError(0, { detail: 'aborted' }), { code: 'aborted' }));
        return;
      }
      signal?.addEventListener('abort', () => xhr.abort(), { once: true });
      xhr.send(blob);
    });
  }
  /**
   * A media's bytes as a Blob, fetched with the token (for a blob: URL or
   * a download: `<img>`, `<video>` and links cannot send it). No timeout
   * of its own: a video or a file may be large.
   */
  async mediaBlob(mediaId) {
    const init = { method: 'GET', headers: this.token ? { Authorization: `Bearer ${this.token}` } : {} };
    let response;
    try {
      response = await fetch(`${BASE}/media/${encodeURIComponent(mediaId)}`, init);
    } catch (error) {
      throw new ApiError(0, { detail: String(error?.message ?? error) });
    }
    if (response.status === 401 && this.token) this.onUnauthorized();
    if (!response.ok) throw new ApiError(response.status, await response.json().catch(() => null));
    return response.blob();
  }
  /** A picture's preview (at most 1280 px): what a bubble shows. */
  async preview(mediaId) {
    const id = encodeURIComponent(mediaId);
    const response = await this.fetchRaw(`/media/${id}/preview`, { method: 'GET' }, MEDIA_TIMEOUT_MS);
    if (!response.ok) throw new ApiError(response.status, await response.json().catch(() => null));
    return response.blob();
  }
  /** An image's bytes as a Blob (for a blob: URL; `<img>` cannot send the token). */
  async media(mediaId) {
    const response = await this.fetchRaw(`/media/${encodeURIComponent(mediaId)}`, { method: 'GET' }, MEDIA_TIMEOUT_MS);
    if (!response.ok) throw new ApiError(response.status, await response.json().catch(() => null));
    return response.blob();
  }
  /**
   * An image's thumbnail: every avatar comes this way (others may not read
   * an avatar's original).
   */
  async thumbnail(mediaId) {
    const id = encodeURIComponent(mediaId);
    const response = await this.fetchRaw(`/media/${id}/thumbnail`, { method: 'GET' }, MEDIA_TIMEOUT_MS);
    if (!response.ok) throw new ApiError(response.status, await response.json().catch(() => null));
    return response.blob();
  }
  /**
   * One fetch with the token, a timeout and the 401 hook; a network
   * failure becomes `ApiError` code `network`. Every call goes through it.
   */
  async fetchRaw(path, init, timeoutMs) {
    init.headers = { ...(init.headers ?? {}) };
    if (this.token) init.headers.Authorization = `Bearer ${this.token}`;
    init.signal = timeoutSignal(timeoutMs);
    let response;
    try {
      response = await fetch(BASE + path, init);
    } catch (error) {
      throw new ApiError(0, { detail: String(error?.message ?? error) });
    }
    if (response.status === 401 && this.token) this.onUnauthorized();
    return response;
  }
  markRead(conversationId, seq) {
    return this.post(`/conversations/${encodeURIComponent(conversationId)}/read`, { seq });
  }

  // Sync (the HTTP fallback of the socket).
  sync(since, waitMs, limit = 200) {
    const query = new URLSearchParams({ limit: String(limit), wait_ms: String(waitMs) });
    if (since) query.set('since', since);
    return this.get(`/sync?${query}`, { timeoutMs: waitMs + REQUEST_TIMEOUT_MS });
  }
}
