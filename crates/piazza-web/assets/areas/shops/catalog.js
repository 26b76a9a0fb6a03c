// Browsing: the Shops tab (search every listed product; the Cart and My
// orders; the shops this account runs), a shop's page with its products,
// and a product's page — its pictures (thumbnails, the preview large, the
// viewer on a tap), a variant picker with each one's price and what is
// left, a quantity, Add to cart and Buy now.

import { h, icon, replace } from '../../lib/dom.js';
import { formatNumber, t } from '../../lib/i18n.js';
import { badge, emptyState, listRow, setBadge, toast } from '../../lib/ui.js';
import { errorLine } from '../auth/index.js';
import { openViewer } from '../chat/pictures.js';
import { shareProductButton } from './chat.js';
import { shopsOf } from './state.js';
import { availableUnits, moneyText, pagedList, picture, priceRange, quantityStepper, shopProblem } from './ui.js';

const id = encodeURIComponent;
/** Typing pauses this long before a search is sent. */
const SEARCH_DEBOUNCE_MS = 250;

/** One product in a grid: its first picture, title, price, shop; sold out or unlisted marked. */
export function productTile(session, product) {
  const soldOut = availableUnits(product.variants) === 0;
  return h(
    'li',
    { class: 'product-tile', 'data-testid': 'product-tile', dataset: { productId: product.product_id } },
    h(
      'a',
      { class: 'product-tile-link', href: `#/product/${id(product.product_id)}` },
      picture(session, product.media_ids[0], 'product-tile-picture', { iconName: 'store' }),
      h('span', { class: 'product-tile-title' }, product.title),
      h('span', { class: 'product-tile-price' }, priceRange(product.variants)),
      h(
        'span',
        { class: 'product-tile-meta' },
        h('span', { class: 'product-tile-shop' }, product.shop.name),
        soldOut ? h('span', { class: 'tag' }, t('shops.sold_out')) : null,
        product.listed ? null : h('span', { class: 'tag' }, t('shops.unlisted')),
      ),
    ),
  );
}

/** The Cart and My orders, with the cart's count kept current. */
function shopLinks(session) {
  const shops = shopsOf(session);
  const count = badge(0, { label: t('shops.cart_units', { count: 0 }) });
  count.dataset.testid = 'cart-count';
  const show = () => {
    const units = shops.cartUnits ?? 0;
    setBadge(count, units, { label: t('shops.cart_units', { count: formatNumber(units) }) });
  };
  const links = h(
    'nav',
    { class: 'shop-links', 'aria-label': t('shops.links_label') },
    h('a', { class: 'tool', href: '#/shops/cart', 'data-testid': 'cart-link' }, icon('cart'), h('span', {}, t('shops.cart')), count),
    h('a', { class: 'tool', href: '#/shops/orders', 'data-testid': 'orders-link' }, icon('receipt'), h('span', {}, t('shops.my_orders'))),
  );
  const onCart = () => {
    if (!links.isConnected) return shops.removeEventListener('cart', onCart);
    show();
  };
  shops.addEventListener('cart', onCart);
  show();
  shops.cart().catch(() => {});
  return links;
}

/** The shops this account runs, as this browser knows them (and learns from their orders). */
function myShops(session, error) {
  const shops = shopsOf(session);
  const list = h('ul', { class: 'rows-list my-shops', 'data-testid': 'my-shops', 'aria-labelledby': 'my-shops-title' });
  const section = h(
    'section',
    { class: 'my-shops-section' },
    h('h2', { class: 'section-title', id: 'my-shops-title' }, t('shops.my_shops')),
    list,
    h('a', { class: 'button', href: '#/shops/new', 'data-testid': 'open-shop' }, icon('plus'), h('span', {}, t('shops.open_shop'))),
  );
  list.hidden = true;
  // From the server: a browser new to the account shows them at once.
  shops
    .myShops()
    .then((mine) => {
      replace(list, mine.map((view) => myShopRow(session, view)));
      list.hidden = !mine.length;
    })
    .catch((failure) => (error.textContent = shopProblem(failure)));
  return section;
}

function myShopRow(session, view) {
  return listRow({
    href: `#/shop/${id(view.shop.shop_id)}/manage`,
    avatar: picture(session, view.shop.logo_media_id, 'shop-logo', { iconName: 'store' }),
    title: view.shop.name,
    subtitle: `@${view.shop.handle} · ${t(view.your_role === 'owner' ? 'shops.role_owner' : 'shops.role_staff')}`,
    testid: 'my-shop',
    dataset: { shopId: view.shop.shop_id },
  }).item;
}

/** The Shops tab: search first, then the shops I run. */
export function homeView(ctx) {
  const { session } = ctx;
  const shops = shopsOf(session);
  const error = errorLine();
  const search = h('input', { type: 'search', name: 'q', placeholder: t('shops.search'), 'aria-label': t('shops.search'), 'data-testid': 'product-search', enterkeyhint: 'search' });
  search.value = ctx.query.get('q') ?? '';
  const grid = h('ul', { class: 'product-grid', 'data-testid': 'product-results', 'aria-label': t('shops.products') });
  const results = pagedList({
    list: grid,
    testid: 'more-products',
    load: (cursor) => shops.productPage({ q: search.value.trim(), cursor }).then((page) => ({ items: page.products, next: page.next_cursor })),
    render: (product) => productTile(session, product),
    empty: () => emptyState({ iconName: 'search', title: t(search.value.trim() ? 'shops.no_results' : 'shops.no_products'), text: t('shops.no_results_hint') }),
    onError: (failure) => (error.textContent = shopProblem(failure)),
  });
  let timer = 0;
  search.addEventListener('input', () => {
    clearTimeout(timer);
    timer = window.setTimeout(() => {
      error.textContent = '';
      results.reload();
    }, SEARCH_DEBOUNCE_MS);
  });
  results.reload();
  return h(
    'section',
    { class: 'page shops-page', 'aria-labelledby': 'shops-title' },
    h('div', { class: 'page-heading' }, h('h1', { id: 'shops-title' }, t('shops.title')), shopLinks(session)),
    search,
    error,
    grid,
    results.more,
    myShops(session, error),
  );
}

/** A shop's heading: its logo, name, handle and words; Manage for its staff. */
function shopHeading(session, view) {
  const shop = view.shop;
  const manage = view.your_role === 'customer' ? null : h('a', { class: 'button primary', href: `#/shop/${id(shop.shop_id)}/manage`, 'data-testid': 'manage-shop' }, t('shops.manage'));
  return h(
    'header',
    { class: 'shop-heading' },
    picture(session, shop.logo_media_id, 'shop-logo-lg', { iconName: 'store' }),
    h(
      'div',
      { class: 'shop-heading-text' },
      h('h1', { 'data-testid': 'shop-name' }, shop.name),
      h('p', { class: 'hint', translate: 'no' }, `@${shop.handle}`),
      shop.description ? h('p', { class: 'shop-description' }, shop.description) : null,
    ),
    h('div', { class: 'actions' }, manage, h('a', { class: 'button', href: shop.url, target: '_blank', rel: 'noopener' }, t('shops.public_page'))),
  );
}

/** A shop's page, as its customers see it (its staff also see its unlisted products, marked). */
export function shopView(ctx) {
  const { session } = ctx;
  const shops = shopsOf(session);
  const shopId = ctx.params.id;
  const error = errorLine();
  const heading = h('div', {});
  const grid = h('ul', { class: 'product-grid', 'data-testid': 'shop-products', 'aria-label': t('shops.products') });
  const products = pagedList({
    list: grid,
    testid: 'more-products',
    load: (cursor) => shops.productPage({ shopId, cursor }).then((page) => ({ items: page.products, next: page.next_cursor })),
    render: (product) => productTile(session, product),
    empty: () => emptyState({ iconName: 'store', title: t('shops.no_products') }),
    onError: (failure) => (error.textContent = shopProblem(failure)),
  });
  shops.shop(shopId).then(
    (view) => {
      replace(heading, shopHeading(session, view));
      products.reload();
    },
    (failure) => (error.textContent = shopProblem(failure)),
  );
  return h('section', { class: 'page shop-page' }, backLink('#/shops', 'shops.back'), heading, error, grid, products.more);
}

export function backLink(href, key) {
  return h('p', { class: 'back-link' }, h('a', { href }, icon('back'), h('span', {}, t(key))));
}

/**
 * The pictures: the one chosen large (its preview, at most 1280 px), the
 * others as thumbnails to choose; a tap on the large one opens the viewer,
 * whose arrow keys step through them.
 */
function gallery(session, product) {
  const ids = product.media_ids;
  if (!ids.length) return picture(session, null, 'product-picture-main', { iconName: 'store' });
  const main = h('button', { type: 'button', class: 'product-picture-main', 'aria-label': t('shops.picture_open'), 'data-testid': 'product-picture' });
  let url = null;
  let chosen = 0;
  const show = (index) => {
    chosen = index;
    session.api.preview(ids[index]).then((blob) => {
      if (chosen !== index) return;
      if (url) URL.revokeObjectURL(url);
      url = URL.createObjectURL(blob);
      replace(main, h('img', { src: url, alt: t('shops.picture_of', { title: product.title }) }));
    }, () => replace(main, icon('image')));
    for (const [i, thumb] of thumbs.entries()) thumb.setAttribute('aria-pressed', String(i === index));
  };
  const thumbs = ids.map((mediaId, index) =>
    h('button', { type: 'button', class: 'product-thumb', 'aria-label': t('shops.picture_n', { n: formatNumber(index + 1) }), onclick: () => show(index) }, picture(session, mediaId, 'product-thumb-picture')),
  );
  main.addEventListener('click', () => openViewer(ids.map((mediaId) => ({ media_id: mediaId, text: product.title })), chosen, (item) => session.api.preview(item.media_id)));
  show(0);
  return h('div', { class: 'product-gallery', 'data-testid': 'product-gallery' }, main, ids.length > 1 ? h('div', { class: 'product-thumbs' }, thumbs) : null);
}

/** The variants as choices, each with its price; those with none left are marked and cannot be chosen. */
function variantPicker(product, onPick) {
  const group = h('div', { class: 'variant-picker', role: 'radiogroup', 'aria-label': t('shops.variant') });
  for (const variant of product.variants) {
    const none = variant.available <= 0;
    const option = h(
      'button',
      { type: 'button', role: 'radio', class: 'variant-option', 'aria-checked': 'false', disabled: none, 'data-testid': 'variant-option', dataset: { variantId: variant.variant_id } },
      h('span', {}, variant.name),
      none ? h('small', {}, t('shops.sold_out')) : null,
    );
    option.addEventListener('click', () => {
      for (const other of group.children) other.setAttribute('aria-checked', String(other === option));
      onPick(variant);
    });
    group.append(option);
  }
  return group;
}

/** The price, what is left, the quantity and the buttons, for the variant chosen. */
function buyBox(ctx, product) {
  const { session } = ctx;
  const shops = shopsOf(session);
  const price = h('p', { class: 'product-price', 'data-testid': 'product-price' }, priceRange(product.variants));
  const stock = h('p', { class: 'hint', 'data-testid': 'product-available', role: 'status' });
  const error = errorLine();
  let chosen = null;
  let quantity = quantityStepper({ value: 1, label: t('shops.quantity'), onChange: () => {} });
  const stepperSlot = h('div', { class: 'field' }, h('span', { class: 'label' }, t('shops.quantity')), quantity.element);
  const add = h('button', { type: 'button', class: 'primary', disabled: true, 'data-testid': 'add-to-cart' }, icon('cart'), h('span', {}, t('shops.add_to_cart')));
  const buy = h('button', { type: 'button', class: 'buy-now', disabled: true, 'data-testid': 'buy-now' }, t('shops.buy_now'));
  const pick = (variant) => {
    chosen = variant;
    price.textContent = moneyText(variant.price_minor);
    stock.textContent = t('shops.available', { count: formatNumber(variant.available) });
    quantity = quantityStepper({ value: 1, max: variant.available, label: t('shops.quantity'), onChange: () => {} });
    replace(stepperSlot, h('span', { class: 'label' }, t('shops.quantity')), quantity.element);
    add.disabled = buy.disabled = false;
  };
  add.addEventListener('click', async () => {
    error.textContent = '';
    add.disabled = true;
    try {
      await shops.addToCart(chosen.variant_id, quantity.value);
      toast(t('shops.added', { title: product.title }), { tone: 'success', testid: 'cart-toast' });
    } catch (failure) {
      error.textContent = shopProblem(failure);
    } finally {
      add.disabled = false;
    }
  });
  buy.addEventListener('click', () => {
    const query = new URLSearchParams({ product: product.product_id, variant: chosen.variant_id, quantity: String(quantity.value) });
    ctx.navigate(`/shops/checkout/${id(product.shop.shop_id)}?${query}`);
  });
  const picker = variantPicker(product, pick);
  const first = product.variants.find((v) => v.available > 0);
  if (first) /** @type {HTMLElement} */ (picker.querySelector(`[data-variant-id="${CSS.escape(first.variant_id)}"]`))?.click();
  else stock.textContent = t('shops.sold_out');
  return h('div', { class: 'buy-box' }, price, picker, stock, stepperSlot, error, h('div', { class: 'actions buy-actions' }, add, buy));
}

/** What the shop's own staff see instead of buying: the stock, and Manage. */
function staffBox(product) {
  return h(
    'div',
    { class: 'buy-box', 'data-testid': 'staff-box' },
    h('p', { class: 'product-price' }, priceRange(product.variants)),
    h('p', { class: 'notice' }, t('shops.own_shop')),
    h('ul', { class: 'variant-stock' }, product.variants.map((v) => h('li', {}, t('shops.variant_stock', { name: v.name, price: moneyText(v.price_minor), available: formatNumber(v.available), reserved: formatNumber(v.reserved ?? 0), sold: formatNumber(v.sold ?? 0) })))),
    h('a', { class: 'button primary', href: `#/shop/${id(product.shop.shop_id)}/manage`, 'data-testid': 'manage-shop' }, t('shops.manage')),
  );
}

export function productView(ctx) {
  const { session } = ctx;
  const shops = shopsOf(session);
  const error = errorLine();
  const page = h('section', { class: 'page product-page', 'data-testid': 'product-page' }, error);
  shops.product(ctx.params.id).then(
    (product) => {
      // Only the shop's staff are told what is reserved and sold.
      const staff = product.variants.some((v) => v.reserved !== undefined && v.reserved !== null);
      const shopLink = h('a', { class: 'product-shop', href: `#/shop/${id(product.shop.shop_id)}`, 'data-testid': 'product-shop' }, picture(session, product.shop.logo_media_id, 'shop-logo-sm', { iconName: 'store' }), h('span', {}, product.shop.name));
      replace(
        page,
        backLink(`#/shop/${id(product.shop.shop_id)}`, 'shops.back_to_shop'),
        h(
          'div',
          { class: 'product-layout' },
          gallery(session, product),
          h(
            'div',
            { class: 'product-info' },
            h('h1', { 'data-testid': 'product-title' }, product.title),
            product.listed ? null : h('p', { class: 'tag' }, t('shops.unlisted')),
            // Only a listed product may be shared (the server refuses the others, to its staff too).
            h('div', { class: 'product-shop-row' }, shopLink, product.listed ? shareProductButton(session, product) : null),
            staff ? staffBox(product) : buyBox(ctx, product),
          ),
        ),
        product.description ? h('section', { class: 'product-description' }, h('h2', { class: 'section-title' }, t('shops.description')), h('p', {}, product.description)) : null,
      );
    },
    (failure) => (error.textContent = shopProblem(failure)),
  );
  return page;
}
