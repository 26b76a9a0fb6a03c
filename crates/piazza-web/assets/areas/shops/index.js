// Shops: buying and selling inside the app. A buyer searches every listed
// product, opens a shop or a product (pictures, variants, what is left),
// fills a cart, checks out one shop at a time and pays with the wallet's
// PIN into escrow; My orders follows each order to the end (confirm
// receipt, refunds). A shop's owner and staff open the shop, add products
// with variants and pictures, keep stock and prices, ship, decide refunds
// and see the day's takings. Every `order.updated` in the log is said in a
// toast (unless this page made the move) and refreshes what shows the
// order; the tab counts the orders waiting for me (to ship, a refund to
// decide, a parcel to confirm) until the orders are looked at.
//
// catalog.js: the tab, a shop, a product. cart.js: the cart and the
// checkout. orders.js: the lists and an order's page with its moves.
// manage.js and product-form.js: running a shop. state.js: the calls and
// what the views share; ui.js: the pieces they share. chat.js: products
// shared into chats, and orders' own conversations.

import { has, t } from '../../lib/i18n.js';
import { toast } from '../../lib/ui.js';
import { moneyText } from '../wallet/ui.js';
import { registerChatExtensions } from './chat.js';
import { shopsOf } from './state.js';

/** Actions that wait for the buyer (a parcel to confirm) or the shop (an order to ship, a refund to decide). */
const FOR_BUYER = new Set(['shipped']);
const FOR_SHOP = new Set(['paid', 'refund_requested']);

const lazy = (file, name) => () => import(file).then((module) => module[name]);

export const area = {
  id: 'shops',
  nav: { label: 'nav.shops', href: '#/shops', icon: 'store' },
  routes: [
    { path: '/shops', lazy: lazy('./catalog.js', 'homeView') },
    { path: '/shops/new', lazy: lazy('./manage.js', 'newShopView') },
    { path: '/shops/cart', lazy: lazy('./cart.js', 'cartView') },
    { path: '/shops/checkout/:id', lazy: lazy('./cart.js', 'checkoutView') },
    { path: '/shops/orders', lazy: lazy('./orders.js', 'myOrdersView') },
    { path: '/shop/:id', lazy: lazy('./catalog.js', 'shopView') },
    { path: '/shop/:id/manage', lazy: lazy('./manage.js', 'manageView') },
    { path: '/shop/:id/add', lazy: lazy('./product-form.js', 'addProductView') },
    { path: '/product/:id', lazy: lazy('./catalog.js', 'productView') },
    { path: '/order/:id', lazy: lazy('./orders.js', 'orderView') },
  ],
  attach(session) {
    const shops = shopsOf(session);
    shops.addEventListener('order', (/** @type {CustomEvent} */ e) => {
      const event = e.detail;
      if (!event || session.state.shops !== shops) return;
      if (shops.ownMoves.delete(`${event.order_id}:${event.action}`)) return;
      // The buyer placed it: nothing to tell the buyer.
      if (event.action === 'placed' && event.buyer === session.me) return;
      toast(orderEventText(event), { testid: 'order-toast' });
      const waiting = event.buyer === session.me ? FOR_BUYER : FOR_SHOP;
      if (!waiting.has(event.action)) return;
      shops.unseen += 1;
      session.setBadge('shops', shops.unseen);
    });
  },
};

registerChatExtensions();

/** An order's move in words: "Nonna's Pasta: order shipped". */
export function orderEventText(event) {
  const key = `shops.event.${event.action}`;
  const amount = moneyText(event.refund_minor ?? event.total_minor);
  return t(has(key) ? key : 'shops.event.other', { shop: event.shop_name, amount });
}
