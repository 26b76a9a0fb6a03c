// The shops of one account: the calls of shops, products, the cart and
// orders (docs/api.md, "Shops and orders"), the shops the account runs
// (`GET /me/shops`), the cart's count for the Cart button, and every
// `order.updated` of the account's log handed to the views as 'order'.

import { MoneyAction } from '../wallet/money.js';

/** Products and orders a page asks for at once (the server's page cap is 50). */
export const PAGE_LEN = 20;
/** Products kept for their pictures and titles (the cart's lines name none). */
const PRODUCTS_KEPT_MAX = 200;

const id = encodeURIComponent;
const keyed = (key) => ({ headers: { 'Idempotency-Key': key } });

export class ShopsState extends EventTarget {
  constructor(session) {
    super();
    this.session = session;
    this.api = session.api;
    /** Units in the cart (null until read): the Cart button's count. */
    this.cartUnits = null;
    /** Order events that ask something of me, since the orders were last looked at. */
    this.unseen = 0;
    /** Moves this page made, `order_id:action`: their events need no toast. */
    this.ownMoves = new Set();
    /** One `MoneyAction` per order and move, so a retry keeps its key. */
    this.moves = new Map();
    /** @type {Map<string, any>} products read, by id */
    this.products = new Map();
    /** @type {Map<string, Promise<any>>} products being read, by id */
    this.productReads = new Map();
    session.addEventListener('event', (e) => this.apply(e.detail));
    session.addEventListener('connected', (e) => {
      // Events missed while away are not replayed to a fresh socket: the
      // views read their orders again (an 'order' without detail).
      if (!e.detail?.resumed) this.dispatchEvent(new CustomEvent('order', { detail: null }));
    });
  }

  // ------------------------------------------------------ shops and products

  shop(shopId) {
    return this.api.get(`/shops/${id(shopId)}`);
  }

  async createShop(body) {
    return this.api.post('/shops', body);
  }

  /** `{products, next_cursor}`: listed ones matching `q`, or a shop's (all of them for its staff). */
  productPage({ q = '', shopId = null, cursor = null, limit = PAGE_LEN } = {}) {
    const query = new URLSearchParams({ limit: String(limit) });
    if (q) query.set('q', q);
    if (shopId) query.set('shop_id', shopId);
    if (cursor) query.set('cursor', cursor);
    return this.api.get(`/products?${query}`).then((page) => {
      for (const product of page.products) this.keepProduct(product);
      return page;
    });
  }

  /**
   * A product; with `fresh: false` the one read before will do, and reads
   * asked at once (a list's rows naming the same product) share one call.
   */
  product(productId, { fresh = true } = {}) {
    if (!fresh && this.products.has(productId)) return Promise.resolve(this.products.get(productId));
    if (!fresh && this.productReads.has(productId)) return this.productReads.get(productId);
    const read = this.api.get(`/products/${id(productId)}`).then((product) => this.keepProduct(product));
    this.productReads.set(productId, read);
    const done = () => this.productReads.get(productId) === read && this.productReads.delete(productId);
    read.then(done, done);
    return read;
  }

  keepProduct(product) {
    this.products.delete(product.product_id);
    this.products.set(product.product_id, product);
    if (this.products.size > PRODUCTS_KEPT_MAX) this.products.delete(this.products.keys().next().value);
    return product;
  }

  addProduct(shopId, body) {
    return this.api.post(`/shops/${id(shopId)}/products`, body);
  }

  /** `{title?, description?, media_ids?, listed?}`. */
  async patchProduct(productId, changes) {
    return this.keepProduct(await this.api.patch(`/products/${id(productId)}`, changes));
  }

  /** `{name?, price_minor?, stock? | stock_delta?}`. */
  patchVariant(variantId, changes) {
    return this.api.patch(`/variants/${id(variantId)}`, changes);
  }

  setStaff(shopId, accountId, present) {
    const path = `/shops/${id(shopId)}/staff/${id(accountId)}`;
    return present ? this.api.put(path, {}) : this.api.delete(path);
  }

  merchant(merchantId) {
    return this.api.get(`/merchants/${id(merchantId)}`);
  }

  // ------------------------------------------------------------- the cart

  async cart() {
    return this.noteCart(await this.api.get('/cart'));
  }

  /** A variant's quantity in the cart (0 takes it out); answers the cart. */
  async putCartItem(variantId, quantity) {
    return this.noteCart(await this.api.put('/cart/items', { variant_id: variantId, quantity }));
  }

  /** Adds to what the cart holds of a variant already. */
  async addToCart(variantId, quantity) {
    const cart = await this.cart();
    const held = cart.lines.find((line) => line.variant_id === variantId)?.quantity ?? 0;
    return this.putCartItem(variantId, held + quantity);
  }

  noteCart(cart) {
    const units = cart.lines.reduce((sum, line) => sum + line.quantity, 0);
    if (units !== this.cartUnits) {
      this.cartUnits = units;
      this.dispatchEvent(new Event('cart'));
    }
    return cart;
  }

  // --------------------------------------------------------------- orders

  /** Places an order, once for `action`'s key while the same body is retried. */
  async placeOrder(action, body) {
    const key = action.keyFor(JSON.stringify(body));
    try {
      const order = await this.api.post('/orders', body, keyed(key));
      action.settle();
      this.cart().catch(() => {});
      return order;
    } catch (failure) {
      action.settle(failure);
      throw failure;
    }
  }

  order(orderId) {
    return this.api.get(`/orders/${id(orderId)}`);
  }

  /**
   * The order's own conversation id: opened by the first side to ask
   * (the server answers the same one to every later ask).
   */
  async orderConversation(orderId) {
    return (await this.api.post(`/orders/${id(orderId)}/conversation`, {})).conversation_id;
  }

  /** `{orders, next_cursor}`, newest first: `role` 'buyer' or 'shop'. */
  orderPage({ role = 'buyer', shopId = null, status = '', cursor = null, limit = PAGE_LEN } = {}) {
    const query = new URLSearchParams({ role, limit: String(limit) });
    if (shopId) query.set('shop_id', shopId);
    if (status) query.set('status', status);
    if (cursor) query.set('cursor', cursor);
    return this.api.get(`/orders?${query}`);
  }

  pay(orderId, pin) {
    return this.move(orderId, 'pay', { pin }, 'paid');
  }

  ship(orderId, carrier, tracking) {
    return this.move(orderId, 'ship', { carrier, tracking }, 'shipped');
  }

  confirm(orderId) {
    return this.move(orderId, 'confirm', {}, 'confirmed');
  }

  cancel(orderId) {
    return this.move(orderId, 'cancel', {}, 'cancelled');
  }

  requestRefund(orderId, amountMinor, reason) {
    return this.move(orderId, 'refund-requests', { amount_minor: amountMinor, reason }, 'refund_requested');
  }

  /** `decision` is 'approve' or 'reject'. */
  decideRefund(orderId, index, decision) {
    const action = decision === 'approve' ? 'refund_approved' : 'refund_rejected';
    return this.move(orderId, `refund-requests/${index}/${decision}`, {}, action);
  }

  /**
   * One move of an order with its `Idempotency-Key`: kept while the same
   * move is retried after an unknown outcome, so money moves once. The
   * event the move causes is marked as this page's (no toast for it).
   */
  async move(orderId, path, body, eventAction) {
    const name = `${orderId}:${path}`;
    if (!this.moves.has(name)) this.moves.set(name, new MoneyAction());
    const action = this.moves.get(name);
    const key = action.keyFor(JSON.stringify(body));
    const own = `${orderId}:${eventAction}`;
    this.ownMoves.add(own);
    try {
      const order = await this.api.post(`/orders/${id(orderId)}/${path}`, body, keyed(key));
      action.settle();
      return order;
    } catch (failure) {
      action.settle(failure);
      this.ownMoves.delete(own);
      throw failure;
    }
  }

  // ------------------------------------------------- shops kept in this browser

  /** The shops I own or am staff of, oldest first, as the server keeps them. */
  async myShops() {
    return (await this.api.get('/me/shops')).shops;
  }

  get addressKey() {
    return `piazza.shops.address.${this.session.me}`;
  }

  /** The shipping address last used in this browser, or an empty one. */
  lastAddress() {
    try {
      const kept = JSON.parse(localStorage.getItem(this.addressKey) ?? '{}');
      return kept && typeof kept === 'object' ? kept : {};
    } catch {
      return {};
    }
  }

  keepAddress(address) {
    localStorage.setItem(this.addressKey, JSON.stringify(address));
  }

  // ---------------------------------------------------------- live updates

  /** The orders were looked at: the tab's count goes. */
  seen() {
    this.unseen = 0;
    this.session.setBadge('shops', 0);
  }

  apply(event) {
    if (event?.type !== 'order.updated') return;
    this.dispatchEvent(new CustomEvent('order', { detail: event }));
  }
}

/**
 * The account's shops state, made on first use.
 * @param {any} session
 * @returns {ShopsState}
 */
export function shopsOf(session) {
  if (!session.state.shops) session.state.shops = new ShopsState(session);
  return session.state.shops;
}
