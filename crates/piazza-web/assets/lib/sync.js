// One account's live feed: the same WebSocket sync as every client. The
// socket pushes the account's log as it grows; after a reconnect the client
// asks for a replay from the last cursor it saw, so nothing is missed.
// When the socket keeps failing, it falls back to HTTP long-polling of
// /sync from the same cursor. Events are handed out in log order, each once.
// Frames with a `type` and no `cursor` (typing, presence) are ephemeral:
// never in the log, they are handed out as 'ephemeral' and move nothing.

import { catalogReady, serverJson } from './i18n.js';

/** Reconnect delays grow to this cap. */
const BACKOFF_MAX_MS = 15000;
const BACKOFF_START_MS = 500;
/** Socket failures in a row before long-polling takes over for a while. */
const SOCKET_FAILURES_BEFORE_POLLING = 3;
/** How long a long-poll waits for something new (the server caps at 30 s). */
const POLL_WAIT_MS = 25000;
/** Closing codes the server uses (see piazza-server hub.rs). */
export const CLOSE_REVOKED = 4001;

/** Compares `v1.<hex>` cursors by their log position. */
function position(cursor) {
  const hex = String(cursor ?? '').split('.')[1];
  return hex ? parseInt(hex, 16) : 0;
}

export class Sync extends EventTarget {
  /**
   * `api` is the account's Api; `onRevoked` runs once when the server says
   * this device is no longer allowed in.
   */
  constructor(api, onRevoked) {
    super();
    this.api = api;
    this.onRevoked = onRevoked;
    this.cursor = null;
    this.socket = null;
    this.stopped = false;
    this.failures = 0;
    this.mode = 'socket';
    this.timer = null;
  }

  start() {
    this.connect();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    if (this.socket) {
      this.socket.onclose = null;
      this.socket.close(1000, 'bye');
      this.socket = null;
    }
  }

  get online() {
    return this.socket?.readyState === WebSocket.OPEN || this.mode === 'polling';
  }

  connect() {
    if (this.stopped) return;
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    const url = `${scheme}://${location.host}/api/v1/ws?token=${encodeURIComponent(this.api.token)}`;
    const socket = new WebSocket(url);
    this.socket = socket;
    let opened = false;
    socket.onopen = () => {
      opened = true;
      this.failures = 0;
      // Without a cursor the live feed starts now and the caller's REST
      // snapshot covers the past; with one, replay what was missed.
      if (this.cursor) socket.send(JSON.stringify({ op: 'sync', since: this.cursor }));
      this.emitStatus('online');
      this.dispatchEvent(new CustomEvent('connected', { detail: { resumed: !!this.cursor } }));
    };
    // Frames are read in order, once the catalog is in use (`serverJson`).
    let reading = catalogReady;
    socket.onmessage = (message) => {
      reading = reading.then(() => {
        let frame;
        try {
          frame = JSON.parse(message.data, serverJson);
        } catch {
          return;
        }
        if (frame.type) this.deliver(frame);
        // Other frames (`op`: an error about a typing notice, a pong) need no answer.
      });
    };
    socket.onclose = (close) => {
      this.socket = null;
      if (this.stopped) return;
      if (close.code === CLOSE_REVOKED) {
        this.revoked();
        return;
      }
      this.emitStatus('offline');
      this.failures += 1;
      if (!opened) this.checkToken();
      if (this.failures >= SOCKET_FAILURES_BEFORE_POLLING) this.poll();
      else this.retryLater();
    };
  }

  /** A socket refused at the upgrade may be a dead token: ask REST. */
  async checkToken() {
    try {
      await this.api.me();
    } catch (error) {
      if (error.status === 401) this.revoked();
    }
  }

  revoked() {
    if (this.stopped) return;
    this.stop();
    this.onRevoked();
  }

  retryLater() {
    const delay = Math.min(BACKOFF_MAX_MS, BACKOFF_START_MS * 2 ** this.failures);
    const jittered = delay / 2 + Math.random() * (delay / 2);
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.connect(), jittered);
  }

  /** Long-polls /sync for a while, then tries the socket again. */
  async poll() {
    this.mode = 'polling';
    this.emitStatus('polling');
    const until = Date.now() + 60000;
    while (!this.stopped && Date.now() < until) {
      try {
        const page = await this.api.sync(this.cursor, POLL_WAIT_MS);
        for (const event of page.events) this.deliver(event);
        if (page.cursor) this.cursor = page.cursor;
      } catch (error) {
        if (error.status === 401) return this.revoked();
        await new Promise((resolve) => {
          setTimeout(resolve, BACKOFF_MAX_MS);
        });
      }
    }
    this.mode = 'socket';
    this.failures = 0;
    this.connect();
  }

  /**
   * Sends a frame on the socket (`{op: 'typing', …}`) if it is open; false
   * otherwise. Nothing is queued: what goes this way is only worth saying now.
   * @param {Record<string, any>} frame
   */
  send(frame) {
    if (this.socket?.readyState !== WebSocket.OPEN) return false;
    this.socket.send(JSON.stringify(frame));
    return true;
  }

  /**
   * A frame with a `type`: a log event (it has a cursor) goes out once, in
   * order, as 'event', and moves the cursor; an ephemeral one (no cursor:
   * typing, presence) goes out as 'ephemeral' and moves nothing.
   */
  deliver(event) {
    if (event.cursor == null) {
      this.dispatchEvent(new CustomEvent('ephemeral', { detail: event }));
      return;
    }
    if (this.cursor && position(event.cursor) <= position(this.cursor)) return;
    this.cursor = event.cursor;
    this.dispatchEvent(new CustomEvent('event', { detail: event }));
  }

  emitStatus(status) {
    this.dispatchEvent(new CustomEvent('status', { detail: status }));
  }
}
