// The wallet of one account: the calls of Piazza Pay (api-v1.md's
// neighbours in the README: /wallet, /transfers, /red-packets, /merchants,
// /payments) and the state the views share — the balance, kept live by
// sync events, and the transfers and red packets shown in chats.

import { ApiError } from '../../lib/api.js';
import { timeoutSignal } from '../../lib/dom.js';

/** Statement entries per page. */
export const STATEMENT_PAGE_LEN = 50;
/** Money events come in bursts (a claim, a debit); one refetch per burst. */
const REFRESH_DEBOUNCE_MS = 120;
/** Merchants remembered per account in this browser (there is no list call). */
const MERCHANTS_MAX = 20;

const money = (key) => ({ headers: { 'Idempotency-Key': key } });
const id = encodeURIComponent;

export class WalletState extends EventTarget {
  constructor(session) {
    super();
    this.session = session;
    this.api = session.api;
    this.balance = null;
    this.currency = null;
    /** Where the payment PIN stands: `{ set, lockedUntil, resetAt }` (null until read). */
    this.pin = null;
    this.transfers = new Map();
    this.packets = new Map();
    /** Transfers and packets a chat preview asked for (once each). */
    this.previewsAsked = new Set();
    this.refreshTimer = null;
    session.addEventListener('event', (e) => this.apply(e.detail));
    session.addEventListener('connected', (e) => {
      // Missed events are not replayed to a fresh socket: read it again.
      if (!e.detail.resumed) this.refresh();
    });
  }

  // ------------------------------------------------------------ the calls

  async refresh() {
    try {
      const wallet = await this.api.get('/wallet');
      this.setBalance(wallet.balance_minor, wallet.currency);
      this.setPinState({
        set: wallet.pin_set === true,
        lockedUntil: wallet.pin_locked_until ?? null,
        resetAt: wallet.pin_reset_effective_at ?? null,
      });
    } catch {
      // The next event or view will ask again.
    }
  }

  statement(cursor) {
    const query = new URLSearchParams({ limit: String(STATEMENT_PAGE_LEN) });
    if (cursor) query.set('cursor', cursor);
    return this.api.get(`/wallet/statement?${query}`);
  }

  /**
   * With the password: the first PIN (answers null), or a forgotten PIN's
   * reset (answers `{ effective_at }`: until then no money leaves).
   */
  async setPin(pin, password) {
    const answer = await this.api.request('PUT', '/wallet/pin', { pin, password });
    this.refresh();
    return answer;
  }

  /** With the current PIN: the new one works at once (a waiting reset is cancelled). */
  async changePin(oldPin, pin) {
    await this.api.request('PUT', '/wallet/pin', { old_pin: oldPin, pin });
    this.refresh();
  }

  async topUp(key, amountMinor) {
    const done = await this.api.post('/wallet/topups', { amount_minor: amountMinor }, money(key));
    this.setBalance(done.balance_minor);
    return done;
  }

  sendTransfer(key, body) {
    return this.api.post('/transfers', body, money(key));
  }

  async transfer(transferId, { fresh = false } = {}) {
    if (!fresh && this.transfers.has(transferId)) return this.transfers.get(transferId);
    const view = await this.api.get(`/transfers/${id(transferId)}`);
    this.noteTransfer(view);
    return view;
  }

  async decideTransfer(transferId, decision) {
    const answer = await this.api.post(`/transfers/${id(transferId)}/${decision}`);
    const known = this.transfers.get(transferId);
    if (known) this.noteTransfer({ ...known, status: answer.status });
    return answer;
  }

  sendRedPacket(key, body) {
    return this.api.post('/red-packets', body, money(key));
  }

  async redPacket(packetId, { fresh = false } = {}) {
    if (!fresh && this.packets.has(packetId)) return this.packets.get(packetId);
    const view = await this.api.get(`/red-packets/${id(packetId)}`);
    this.notePacket(view);
    return view;
  }

  async claim(packetId) {
    try {
      return await this.api.post(`/red-packets/${id(packetId)}/claim`);
    } finally {
      // Whatever happened (a share, empty, expired), show the packet as it is now.
      this.redPacket(packetId, { fresh: true }).catch(() => {});
    }
  }

  /** A payment code; without `pin`, only within minutes of this device entering it. */
  paymentCode(pin = null) {
    return this.api.post('/wallet/payment-code', pin ? { pin } : {});
  }

  async createMerchant(name, city) {
    const body = { name };
    if (city) body.city = city;
    const created = await this.api.post('/merchants', body);
    this.rememberMerchant(created.merchant_id);
    return created;
  }

  merchant(merchantId) {
    return this.api.get(`/merchants/${id(merchantId)}`);
  }

  merchantPayload(merchantId, amountMinor) {
    const query = new URLSearchParams({ format: 'payload' });
    if (amountMinor) query.set('amount_minor', String(amountMinor));
    return this.api.get(`/merchants/${id(merchantId)}/qr?${query}`);
  }

  /** The merchant's code drawn by the server, as an SVG Blob (bearer-authenticated). */
  async merchantQrImage(merchantId, amountMinor) {
    const query = new URLSearchParams({ format: 'svg' });
    if (amountMinor) query.set('amount_minor', String(amountMinor));
    let response;
    try {
      response = await fetch(`/api/v1/merchants/${id(merchantId)}/qr?${query}`, {
        headers: { Authorization: `Bearer ${this.api.token}` },
        signal: timeoutSignal(15000),
      });
    } catch (error) {
      throw new ApiError(0, { detail: String(error?.message ?? error) });
    }
    if (response.status === 401) this.api.onUnauthorized();
    if (!response.ok) throw new ApiError(response.status, await response.json().catch(() => null));
    return new Blob([await response.text()], { type: 'image/svg+xml' });
  }

  pay(key, body) {
    return this.api.post('/payments', body, money(key));
  }

  payment(paymentId) {
    return this.api.get(`/payments/${id(paymentId)}`);
  }

  confirmPayment(paymentId, pin) {
    return this.api.post(`/payments/${id(paymentId)}/confirm`, { pin });
  }

  declinePayment(paymentId) {
    return this.api.post(`/payments/${id(paymentId)}/decline`);
  }

  // ------------------------------------------------------ merchants kept here

  get merchantsKey() {
    return `piazza.merchants.${this.session.me}`;
  }

  merchantIds() {
    try {
      const list = JSON.parse(localStorage.getItem(this.merchantsKey) ?? '[]');
      return Array.isArray(list) ? list.filter((m) => typeof m === 'string') : [];
    } catch {
      return [];
    }
  }

  rememberMerchant(merchantId) {
    const list = this.merchantIds().filter((m) => m !== merchantId);
    list.unshift(merchantId);
    localStorage.setItem(this.merchantsKey, JSON.stringify(list.slice(0, MERCHANTS_MAX)));
  }

  // ---------------------------------------------------------- live updates

  setBalance(balanceMinor, currency = this.currency) {
    if (typeof balanceMinor !== 'number') return;
    this.currency = currency ?? this.currency;
    if (this.balance === balanceMinor) return;
    this.balance = balanceMinor;
    this.dispatchEvent(new Event('balance'));
  }

  setPinState(pin) {
    const same = this.pin && ['set', 'lockedUntil', 'resetAt'].every((key) => this.pin[key] === pin[key]);
    if (same) return;
    this.pin = pin;
    this.dispatchEvent(new Event('pin'));
  }

  noteTransfer(view) {
    this.transfers.set(view.transfer_id, view);
    this.dispatchEvent(new CustomEvent('transfer', { detail: view.transfer_id }));
  }

  notePacket(view) {
    this.packets.set(view.red_packet_id, view);
    this.dispatchEvent(new CustomEvent('red-packet', { detail: view.red_packet_id }));
  }

  scheduleRefresh() {
    clearTimeout(this.refreshTimer);
    this.refreshTimer = setTimeout(() => this.refresh(), REFRESH_DEBOUNCE_MS);
  }

  apply(event) {
    const type = event.type ?? '';
    if (type === 'wallet.credited' || type === 'wallet.debited') {
      this.setBalance(event.balance_minor, event.currency);
      // A replayed (older) event may arrive after a fresher read: read again.
      this.scheduleRefresh();
      return;
    }
    if (type.startsWith('transfer.')) {
      const known = this.transfers.get(event.transfer_id);
      if (known) this.noteTransfer({ ...known, status: event.status });
      else this.transfer(event.transfer_id).catch(() => {});
      this.scheduleRefresh();
    } else if (type.startsWith('red_packet.')) {
      if (this.packets.has(event.red_packet_id)) this.redPacket(event.red_packet_id, { fresh: true }).catch(() => {});
      this.scheduleRefresh();
    } else if (type.startsWith('payment.')) {
      this.dispatchEvent(new CustomEvent('payment', { detail: event }));
      this.scheduleRefresh();
    } else if (type === 'wallet.pin_reset' || type === 'wallet.pin_changed') {
      this.dispatchEvent(new CustomEvent('pin-event', { detail: event }));
      this.scheduleRefresh();
    }
  }
}
