// Shops in chats. A product shared from its page ("Share to chat") is a
// `product_card` message, drawn as the shopping apps draw one: its first
// picture, title, price or price range and shop, "Product" on a strip
// below; the card is the product as it was when shared (the server keeps
// that snapshot), and a click opens the product here, in the Shops tab.
// Each order has a conversation of its own (kind `order`) between the
// buyer and the shop's staff, whose first message is the order (kind
// `order`): a card opening the order's page, and a bar over the
// conversation linking to it. The chat view calls in through its
// `chatExtensions`; it knows nothing of shops.

import { h, icon } from '../../lib/dom.js';
import { t } from '../../lib/i18n.js';
import { chatExtensions } from '../chat/conversation.js';
import { shareToChatDialog } from '../chat/forward.js';
import { kindLabel, previewMakers } from '../chat/summary.js';
import { CURRENCY } from '../wallet/money.js';
import { shopsOf } from './state.js';
import { priceBetween } from './ui.js';

const id = encodeURIComponent;

/**
 * A product card's picture: the public thumbnail of a listed product's
 * picture (no token needed), over the placeholder, which stays when there
 * is none or it cannot be read (the product unlisted since).
 * @param {string | null | undefined} mediaId
 */
function cardPicture(mediaId) {
  const box = h('span', { class: 'shop-picture product-card-picture' }, icon('store'));
  if (!mediaId) return box;
  const img = h('img', { alt: '', loading: 'lazy', decoding: 'async', src: `/s/-/media/${id(mediaId)}/thumbnail` });
  img.addEventListener('load', () => box.classList.add('has-picture'), { once: true });
  box.append(img);
  return box;
}

/**
 * A product card's bubble content: a link to the product in the Shops tab.
 * @param {{ product: { product_id: string, title: string, picture_media_id?: string | null, min_price_minor: number, max_price_minor: number, currency?: string, shop_name: string } }} message
 */
export function productCardContent(message) {
  const product = message.product;
  const price = priceBetween(product.min_price_minor, product.max_price_minor, product.currency ?? CURRENCY);
  return h(
    'a',
    { class: 'product-card', href: `#/product/${id(product.product_id)}`, 'data-testid': 'product-card', dataset: { productId: product.product_id } },
    h(
      'span',
      { class: 'product-card-main' },
      cardPicture(product.picture_media_id),
      h(
        'span',
        { class: 'product-card-text' },
        h('strong', { class: 'product-card-title' }, product.title),
        h('span', { class: 'product-card-price', 'data-testid': 'product-card-price' }, price),
        h('span', { class: 'hint product-card-shop' }, product.shop_name),
      ),
    ),
    h('span', { class: 'contact-card-foot' }, h('span', { class: 'contact-card-kind' }, kindLabel('product_card'))),
  );
}

/**
 * The order's own message, first in its conversation: a card opening the
 * order's page. Its text ("Order placed") is the server's English for
 * clients that know no better, never shown.
 * @param {{ ref?: string | null }} message
 */
export function orderCardContent(message) {
  const orderId = message.ref;
  return h(
    'a',
    { class: 'product-card order-card', href: `#/order/${id(orderId)}`, 'data-testid': 'order-card', dataset: { orderId } },
    h(
      'span',
      { class: 'product-card-main' },
      h('span', { class: 'shop-picture product-card-picture' }, icon('receipt')),
      h(
        'span',
        { class: 'product-card-text' },
        h('strong', { class: 'product-card-title' }, t('shops.order_number', { id: orderId })),
        h('span', { class: 'hint' }, t('shops.order_card_open')),
      ),
    ),
    h('span', { class: 'contact-card-foot' }, h('span', { class: 'contact-card-kind' }, kindLabel('order'))),
  );
}

/**
 * The order an order's conversation is about. Its title is the shop's
 * name and the order's id ("Nonna's Pasta · ord_12", as the API
 * documents): every member has it, while the order's own message, the
 * conversation's first, is not seen by staff named after it was placed.
 * @param {{ title?: string }} conversation
 */
export function orderIdOf(conversation) {
  return /(ord_[1-9]\d*)$/.exec(conversation?.title ?? '')?.[1] ?? null;
}

/**
 * The shop's name in an order's conversation title ("Nonna's Pasta ·
 * ord_12").
 * @param {{ title?: string }} conversation
 */
function shopNameOf(conversation) {
  return (conversation?.title ?? '').replace(/ · ord_[1-9]\d*$/, '');
}

/**
 * Who bought each order whose conversation was shown, and the name on its
 * address: `null` while asked, `false` if the order could not be read.
 * @type {Map<string, { buyer: string, name: string } | null | false>}
 */
const buyers = new Map();

/**
 * The name over a message in an order's conversation, as a shop's
 * customer service is shown: the shop's staff speak as the shop (with
 * their own name when the viewer knows it: a colleague), the buyer by the
 * name the viewer knows or the one on the order's address — never an
 * account id. The order is read once, then the rows are made again.
 * @param {{ title?: string }} conversation
 * @param {string} accountId
 * @param {any} view
 */
function orderSender(conversation, accountId, view) {
  const orderId = orderIdOf(conversation);
  if (!orderId) return null;
  const known = buyers.get(orderId);
  if (known === undefined) {
    buyers.set(orderId, null);
    shopsOf(view.session)
      .order(orderId)
      .then(
        (order) => buyers.set(orderId, { buyer: order.buyer, name: order.shipping_address?.name ?? '' }),
        () => buyers.set(orderId, false),
      )
      .then(() => view.schedule());
    return null;
  }
  if (!known) return null;
  const person = view.session.name(accountId);
  const named = person !== accountId;
  if (accountId === known.buyer) return named ? person : known.name || t('shops.buyer');
  const shop = shopNameOf(conversation);
  return named ? `${shop} · ${person}` : shop;
}

/** The bar over an order's conversation: the order, and a link to its page. */
function orderBar(conversation) {
  const orderId = orderIdOf(conversation);
  if (!orderId) return null;
  return h(
    'a',
    { class: 'conversation-bar-link', href: `#/order/${id(orderId)}`, 'data-testid': 'order-link', dataset: { orderId } },
    icon('receipt'),
    h('span', {}, t('shops.order_number', { id: orderId })),
    h('strong', {}, t('shops.order_open')),
  );
}

export function registerChatExtensions() {
  chatExtensions.cards.set('product_card', (message) => (message.product ? productCardContent(message) : null));
  chatExtensions.cards.set('order', (message) => (message.ref ? orderCardContent(message) : null));
  chatExtensions.bars.set('order', orderBar);
  chatExtensions.senders.set('order', orderSender);
  // The chat list's snapshot names the kind only; a live message has its card.
  previewMakers.set('product_card', (message) => {
    const title = /** @type {{ product?: { title?: string } }} */ (message).product?.title ?? '';
    return `[${kindLabel('product_card')}] ${title}`.trim();
  });
  // The snapshot and the live message alike carry the order's id as `ref`.
  previewMakers.set('order', (message) => `[${kindLabel('order')}] ${message.ref ?? ''}`.trim());
}

/**
 * A product as its card shows it, from the product's page (`GET
 * /products/{id}`): its first picture, its price range, its shop. The
 * server makes the same snapshot; this one shows until it answers.
 * @param {any} product
 */
export function productCard(product) {
  const prices = product.variants.map((v) => v.price_minor);
  return {
    product_id: product.product_id,
    title: product.title,
    picture_media_id: product.media_ids[0] ?? null,
    min_price_minor: Math.min(...prices),
    max_price_minor: Math.max(...prices),
    currency: product.variants[0]?.currency ?? CURRENCY,
    shop_id: product.shop.shop_id,
    handle: product.shop.handle,
    shop_name: product.shop.name,
    url: product.url,
  };
}

/** "Share to chat" on a product's page: a choice of my chats, where its card goes at once. */
export function shareProductButton(session, product) {
  const card = productCard(product);
  return h(
    'button',
    { type: 'button', 'data-testid': 'share-to-chat', onclick: () => shareToChatDialog(session, (state, conversationId) => state.sendProduct(conversationId, card)) },
    icon('chat'),
    h('span', {}, t('chat.share')),
  );
}
