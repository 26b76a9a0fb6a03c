// The cart and the checkout. The cart is the server's (`GET /cart`): each
// line at today's price, marked when the price changed since it was added
// or when it cannot be ordered (unlisted, or fewer left than asked); the
// quantities change in place and a line goes with its bin. Lines are
// grouped by shop, since an order is one shop's: each group has its
// subtotal and its Check out. The checkout takes the shipping address
// (the last one used is kept in this browser), places the order with a
// fresh Idempotency-Key, and leads to the order's page, where the PIN pays.

import { h, icon, replace } from '../../lib/dom.js';
import { formatNumber, t } from '../../lib/i18n.js';
import { emptyState, iconButton } from '../../lib/ui.js';
import { errorLine, field } from '../auth/index.js';
import { MoneyAction } from '../wallet/money.js';
import { backLink } from './catalog.js';
import { shopsOf } from './state.js';
import { moneyText, productPicture, quantityStepper, shopProblem } from './ui.js';

const id = encodeURIComponent;

export function cartView(ctx) {
  const { session } = ctx;
  const shops = shopsOf(session);
  const error = errorLine();
  const body = h('div', { class: 'cart-body', 'data-testid': 'cart' });
  const render = (cart) => {
    error.textContent = '';
    replace(body, cart.lines.length ? cartContent(ctx, cart, render, error) : emptyState({
      iconName: 'cart',
      title: t('shops.cart_empty'),
      text: t('shops.cart_empty_hint'),
      action: h('a', { class: 'button primary', href: '#/shops' }, t('shops.browse')),
    }));
  };
  shops.cart().then(render, (failure) => (error.textContent = shopProblem(failure)));
  return h('section', { class: 'page cart-page', 'aria-labelledby': 'cart-title' }, backLink('#/shops', 'shops.back'), h('h1', { id: 'cart-title' }, t('shops.cart')), error, body);
}

function cartContent(ctx, cart, render, error) {
  const byShop = new Map();
  for (const line of cart.lines) {
    if (!byShop.has(line.shop.shop_id)) byShop.set(line.shop.shop_id, { shop: line.shop, lines: [] });
    byShop.get(line.shop.shop_id).lines.push(line);
  }
  // What can be ordered now, at today's prices (the server's total also
  // counts the lines that cannot).
  const total = cart.lines.filter((line) => line.orderable).reduce((sum, line) => sum + line.line_total_minor, 0);
  return [
    [...byShop.values()].map(({ shop, lines }) => shopGroup(ctx, shop, lines, render, error)),
    h('p', { class: 'cart-total' }, h('span', {}, t('shops.total')), h('strong', { 'data-testid': 'cart-total', dataset: { totalMinor: String(total) } }, moneyText(total))),
  ];
}

function shopGroup(ctx, shop, lines, render, error) {
  const orderable = lines.filter((line) => line.orderable);
  const subtotal = orderable.reduce((sum, line) => sum + line.line_total_minor, 0);
  const checkout = h('a', { class: 'button primary', href: `#/shops/checkout/${id(shop.shop_id)}`, 'data-testid': 'checkout', dataset: { shopId: shop.shop_id } }, t('shops.checkout'));
  return h(
    'section',
    { class: 'card cart-shop', 'data-testid': 'cart-shop', dataset: { shopId: shop.shop_id } },
    h('h2', {}, h('a', { href: `#/shop/${id(shop.shop_id)}`, class: 'cart-shop-name' }, icon('store'), h('span', {}, shop.name))),
    h('ul', { class: 'cart-lines' }, lines.map((line) => cartLine(ctx, line, render, error))),
    h(
      'div',
      { class: 'cart-shop-footer' },
      h('span', {}, t('shops.subtotal'), ' ', h('strong', { 'data-testid': 'cart-subtotal' }, moneyText(subtotal))),
      orderable.length ? checkout : h('span', { class: 'hint' }, t('shops.nothing_orderable')),
    ),
  );
}

/** Why a line cannot be ordered, or null when it can. */
function unavailableText(line) {
  if (line.orderable) return null;
  return line.available > 0 ? t('shops.only_left', { count: formatNumber(line.available) }) : t('shops.not_available');
}

function cartLine(ctx, line, render, error) {
  const { session } = ctx;
  const shops = shopsOf(session);
  const slot = productPicture(session, line.product_id, 'cart-picture');
  slot.classList.add('cart-line-picture');
  const change = (quantity) =>
    shops.putCartItem(line.variant_id, quantity).then(render, (failure) => (error.textContent = shopProblem(failure)));
  const stepper = quantityStepper({ value: line.quantity, max: Math.max(line.quantity, line.available), label: t('shops.quantity_of', { title: line.title }), onChange: change, testid: 'line-quantity' });
  const unavailable = unavailableText(line);
  return h(
    'li',
    { class: 'cart-line', 'data-testid': 'cart-line', dataset: { variantId: line.variant_id, priceChanged: String(line.price_changed), orderable: String(line.orderable) } },
    slot,
    h(
      'div',
      { class: 'cart-line-text' },
      h('a', { class: 'cart-line-title', href: `#/product/${id(line.product_id)}` }, line.title),
      h('span', { class: 'hint' }, line.variant_name),
      h(
        'span',
        { class: 'cart-line-marks' },
        line.price_changed ? h('span', { class: 'tag warning', 'data-testid': 'price-changed' }, t('shops.price_changed', { was: moneyText(line.price_when_added_minor) })) : null,
        unavailable ? h('span', { class: 'tag danger', 'data-testid': 'not-available' }, unavailable) : null,
      ),
      h(
        'span',
        { class: 'cart-line-price' },
        h('strong', { 'data-testid': 'line-price' }, moneyText(line.price_minor)),
        line.price_changed ? h('del', {}, moneyText(line.price_when_added_minor)) : null,
      ),
    ),
    h(
      'div',
      { class: 'cart-line-tools' },
      stepper.element,
      iconButton('trash', t('shops.remove_line', { title: line.title }), { 'data-testid': 'line-remove', onclick: () => change(0) }),
    ),
  );
}

// ---------------------------------------------------------------- checkout

const ADDRESS_FIELDS = [
  { name: 'name', label: 'shops.address_name', autocomplete: 'name', required: true },
  { name: 'phone', label: 'shops.address_phone', autocomplete: 'tel', type: 'tel', required: false },
  { name: 'line1', label: 'shops.address_line1', autocomplete: 'address-line1', required: true },
  { name: 'line2', label: 'shops.address_line2', autocomplete: 'address-line2', required: false },
  { name: 'city', label: 'shops.address_city', autocomplete: 'address-level2', required: true },
  { name: 'region', label: 'shops.address_region', autocomplete: 'address-level1', required: false },
  { name: 'postal_code', label: 'shops.address_postal_code', autocomplete: 'postal-code', required: false },
  { name: 'country', label: 'shops.address_country', autocomplete: 'country-name', required: true },
];
/** Each line of an address, as the server takes it. */
const ADDRESS_LINE_MAX = 200;

/** The shipping address form, filled with the last one used here. */
function addressFieldset(shops) {
  const kept = shops.lastAddress();
  return h(
    'fieldset',
    { class: 'address-fields', 'data-testid': 'address-fields' },
    h('legend', {}, t('shops.shipping_address')),
    ADDRESS_FIELDS.map((spec) =>
      field(spec.label, {
        name: spec.name,
        autocomplete: `shipping ${spec.autocomplete}`,
        type: spec.type ?? 'text',
        required: spec.required,
        maxlength: ADDRESS_LINE_MAX,
        value: typeof kept[spec.name] === 'string' ? kept[spec.name] : '',
      }),
    ),
  );
}

function readAddress(form) {
  const data = new FormData(form);
  return Object.fromEntries(ADDRESS_FIELDS.map((spec) => [spec.name, String(data.get(spec.name) ?? '').trim()]));
}

/**
 * What the order will hold: a Buy now's one variant (`?product=&variant=&quantity=`),
 * or the shop's lines of the cart that can be ordered (and those that cannot, to say so).
 */
async function checkoutItems(shops, shopId, query) {
  const variantId = query.get('variant');
  if (variantId) {
    const product = await shops.product(query.get('product') ?? '');
    const variant = product.variants.find((v) => v.variant_id === variantId);
    if (!variant) throw Object.assign(new Error('variant'), { code: 'variant_not_found' });
    const quantity = Math.max(1, Number(query.get('quantity')) || 1);
    return { shop: product.shop, lines: [{ ...variant, title: product.title, variant_name: variant.name, quantity, line_total_minor: variant.price_minor * quantity }], left: [] };
  }
  const cart = await shops.cart();
  const mine = cart.lines.filter((line) => line.shop.shop_id === shopId);
  return { shop: mine[0]?.shop ?? null, lines: mine.filter((line) => line.orderable), left: mine.filter((line) => !line.orderable) };
}

function checkoutLine(line) {
  return h(
    'li',
    { class: 'checkout-line', 'data-testid': 'checkout-line', dataset: { variantId: line.variant_id } },
    h('span', { class: 'checkout-line-title' }, line.title, h('small', {}, line.variant_name)),
    h('span', { class: 'hint' }, t('shops.times', { quantity: formatNumber(line.quantity), price: moneyText(line.price_minor) })),
    h('strong', {}, moneyText(line.line_total_minor)),
  );
}

export function checkoutView(ctx) {
  const { session } = ctx;
  const shops = shopsOf(session);
  const shopId = ctx.params.id;
  const error = errorLine();
  const page = h('section', { class: 'page checkout-page', 'aria-labelledby': 'checkout-title' }, error);
  checkoutItems(shops, shopId, ctx.query).then(
    (items) => {
      const heading = [backLink('#/shops/cart', 'shops.back_to_cart'), h('h1', { id: 'checkout-title' }, t('shops.checkout_title'))];
      if (!items.lines.length) {
        replace(page, heading, emptyState({ iconName: 'cart', title: t('shops.nothing_orderable'), action: h('a', { class: 'button', href: '#/shops/cart' }, t('shops.back_to_cart')) }));
        return;
      }
      replace(page, heading, checkoutForm(ctx, items, shopId));
    },
    (failure) => (error.textContent = shopProblem(failure)),
  );
  return page;
}

function checkoutForm(ctx, items, shopId) {
  const shops = shopsOf(ctx.session);
  const action = new MoneyAction();
  const error = errorLine();
  const total = items.lines.reduce((sum, line) => sum + line.line_total_minor, 0);
  const submit = h('button', { type: 'submit', class: 'primary', 'data-testid': 'place-order' }, t('shops.place_order'));
  const form = h(
    'form',
    { class: 'card checkout-form', 'data-testid': 'checkout-form' },
    h('h2', {}, icon('store'), ' ', items.shop?.name ?? ''),
    h('ul', { class: 'checkout-lines' }, items.lines.map(checkoutLine)),
    items.left.length ? h('p', { class: 'notice', 'data-testid': 'checkout-left-out' }, t('shops.left_out', { count: formatNumber(items.left.length) })) : null,
    h('p', { class: 'checkout-total' }, h('span', {}, t('shops.total')), h('strong', { 'data-testid': 'checkout-total' }, moneyText(total))),
    h('p', { class: 'hint' }, t('shops.prices_fixed')),
    addressFieldset(shops),
    error,
    h('div', { class: 'actions' }, submit),
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    error.textContent = '';
    submit.disabled = true;
    const address = readAddress(form);
    shops.keepAddress(address);
    const body = { shop_id: shopId, items: items.lines.map((line) => ({ variant_id: line.variant_id, quantity: line.quantity })), shipping_address: address };
    try {
      const order = await shops.placeOrder(action, body);
      ctx.navigate(`/order/${id(order.order_id)}?pay=1`);
    } catch (failure) {
      error.textContent = shopProblem(failure);
      submit.disabled = false;
    }
  });
  return form;
}
