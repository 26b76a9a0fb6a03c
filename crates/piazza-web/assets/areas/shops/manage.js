// Running a shop: opening one (handle, name, words, a logo uploaded as
// every picture is), and its page for the owner and staff — today's
// takings (and, for the owner, what its merchant holds), the incoming
// orders by status, the products with their stock (set it, or move it by
// one), prices and listing, and, for the owner, the staff. Adding a
// product, with its pictures and variants, is a page of its own.

import { h, icon, replace } from '../../lib/dom.js';
import { formatNumber, t } from '../../lib/i18n.js';
import { emptyState, iconButton, listRow, toast } from '../../lib/ui.js';
import { errorLine, field } from '../auth/index.js';
import { amountField, formDialog, readAmount } from '../wallet/ui.js';
import { backLink } from './catalog.js';
import { onOrders, ordersList } from './orders.js';
import { shopsOf } from './state.js';
import { majorText, moneyText, pagedList, picture, shopProblem } from './ui.js';

const id = encodeURIComponent;
const HANDLE_PATTERN = '[a-z0-9_.]{3,32}';
const NAME_MAX = 120;
const DESCRIPTION_MAX = 5000;
/** Statuses whose money the shop took (or holds in escrow for it). */
const TAKEN = new Set(['paid', 'shipped', 'completed']);
/** Pages of today's orders read for the takings at most (50 each). */
const TAKINGS_PAGES_MAX = 20;

/**
 * A picture picked from the device for a form: a button, a hidden file
 * input and the previews (nothing is uploaded before the form is sent).
 * @param {{ max: number, labelKey: string, testid: string }} options
 */
export function picturePicker({ max, labelKey, testid }) {
  /** @type {File[]} */
  let files = [];
  const previews = h('div', { class: 'picked-pictures', 'data-testid': `${testid}-previews` });
  const input = h('input', { type: 'file', accept: 'image/*', multiple: max > 1, class: 'sr-only', tabindex: '-1', 'aria-hidden': 'true', 'data-testid': `${testid}-input` });
  const button = h('button', { type: 'button', 'data-testid': testid, onclick: () => input.click() }, icon('image'), h('span', {}, t(labelKey)));
  const show = () => {
    for (const img of previews.querySelectorAll('img')) URL.revokeObjectURL(/** @type {HTMLImageElement} */ (img).src);
    replace(
      previews,
      files.map((file, index) =>
        h('span', { class: 'picked-picture' }, h('img', { src: URL.createObjectURL(file), alt: file.name }), iconButton('close', t('shops.picture_remove'), { onclick: () => { files.splice(index, 1); show(); } })),
      ),
    );
    button.disabled = files.length >= max;
  };
  input.addEventListener('change', () => {
    const chosen = [...(input.files ?? [])];
    if (files.length + chosen.length > max) toast(t('shops.too_many_pictures', { max: formatNumber(max) }), { tone: 'error' });
    files = max === 1 ? chosen.slice(0, 1) : [...files, ...chosen].slice(0, max);
    input.value = '';
    show();
  });
  return { element: h('div', { class: 'picture-picker' }, previews, button, input), files: () => files };
}

/** Uploads the pictures picked, each once even when the form is sent again after a failure. */
export async function uploadAll(session, files, uploaded) {
  const ids = [];
  for (const file of files) {
    if (!uploaded.has(file)) uploaded.set(file, (await session.api.uploadMedia(file)).media_id);
    ids.push(uploaded.get(file));
  }
  return ids;
}

function textArea(labelKey, name, max, testid) {
  const input = h('textarea', { id: `f-${name}`, name, rows: 3, maxlength: max, 'data-testid': testid });
  return { input, element: h('div', { class: 'field' }, h('label', { for: `f-${name}` }, t(labelKey)), input) };
}

export function newShopView(ctx) {
  const { session } = ctx;
  const shops = shopsOf(session);
  const error = errorLine();
  const description = textArea('shops.shop_description', 'description', DESCRIPTION_MAX, 'shop-description');
  const logo = picturePicker({ max: 1, labelKey: 'shops.logo_pick', testid: 'shop-logo' });
  const uploaded = new Map();
  const submit = h('button', { type: 'submit', class: 'primary', 'data-testid': 'shop-submit' }, t('shops.open_shop'));
  const form = h(
    'form',
    { class: 'card shop-form', 'aria-labelledby': 'new-shop-title', 'data-testid': 'shop-form' },
    h('h1', { id: 'new-shop-title' }, t('shops.open_shop')),
    field('shops.handle', { name: 'handle', autocapitalize: 'none', autocomplete: 'off', pattern: HANDLE_PATTERN, maxlength: 32, 'aria-describedby': 'shop-handle-hint', translate: 'no' }),
    h('p', { class: 'hint', id: 'shop-handle-hint' }, t('shops.handle_hint')),
    field('shops.shop_name', { name: 'name', maxlength: NAME_MAX }),
    description.element,
    h('div', { class: 'field' }, h('span', { class: 'label' }, t('shops.logo')), logo.element),
    h('p', { class: 'hint' }, t('shops.open_hint')),
    error,
    h('div', { class: 'actions' }, h('a', { class: 'button', href: '#/shops' }, t('ui.cancel')), submit),
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    error.textContent = '';
    submit.disabled = true;
    const data = new FormData(form);
    try {
      const [logoId] = await uploadAll(session, logo.files(), uploaded);
      const body = { handle: String(data.get('handle')).trim(), name: String(data.get('name')).trim(), description: description.input.value.trim() };
      const created = await shops.createShop(logoId ? { ...body, logo_media_id: logoId } : body);
      toast(t('shops.opened', { name: body.name }), { tone: 'success', testid: 'shop-toast' });
      ctx.navigate(`/shop/${id(created.shop_id)}/manage`);
    } catch (failure) {
      error.textContent = shopProblem(failure);
      submit.disabled = false;
    }
  });
  return h('section', { class: 'page' }, backLink('#/shops', 'shops.back'), form);
}

// ------------------------------------------------------------- the shop's page

export function manageView(ctx) {
  const { session } = ctx;
  const shops = shopsOf(session);
  const shopId = ctx.params.id;
  shops.seen();
  const error = errorLine();
  const page = h('section', { class: 'page manage-page', 'data-testid': 'shop-manage' }, error);
  shops.shop(shopId).then(
    (view) => {
      if (view.your_role === 'customer') {
        error.textContent = t('shops.error.not_shop_staff');
        return;
      }
      const orders = ordersList(ctx, { role: 'shop', shopId, error });
      replace(
        page,
        backLink('#/shops', 'shops.back'),
        manageHeading(session, view),
        error,
        takingsCard(ctx, view),
        h('h2', { class: 'section-title' }, t('shops.incoming_orders')),
        orders.element,
        h('div', { class: 'section-heading' }, h('h2', { class: 'section-title' }, t('shops.products')), h('a', { class: 'button primary', href: `#/shop/${id(shopId)}/add`, 'data-testid': 'add-product' }, icon('plus'), h('span', {}, t('shops.add_product')))),
        productsAdmin(ctx, shopId, error),
        view.your_role === 'owner' ? staffSection(ctx, view, error) : null,
      );
    },
    (failure) => (error.textContent = shopProblem(failure)),
  );
  return page;
}

function manageHeading(session, view) {
  const shop = view.shop;
  return h(
    'header',
    { class: 'shop-heading' },
    picture(session, shop.logo_media_id, 'shop-logo-lg', { iconName: 'store' }),
    h(
      'div',
      { class: 'shop-heading-text' },
      h('h1', { 'data-testid': 'shop-name' }, shop.name),
      h('p', { class: 'hint' }, h('span', { translate: 'no' }, `@${shop.handle}`), ' · ', t(view.your_role === 'owner' ? 'shops.role_owner' : 'shops.role_staff')),
    ),
    h('div', { class: 'actions' }, h('a', { class: 'button', href: `#/shop/${id(shop.shop_id)}`, 'data-testid': 'view-shop' }, t('shops.view_shop')), h('a', { class: 'button', href: shop.url, target: '_blank', rel: 'noopener' }, t('shops.public_page'))),
  );
}

/**
 * Today's takings: the orders placed since local midnight that were paid
 * (paid, shipped or completed), less what was refunded of them, from the
 * shop's own list of orders.
 */
async function todaysTakings(shops, shopId) {
  const midnight = new Date();
  midnight.setHours(0, 0, 0, 0);
  let cursor = null;
  const sum = { minor: 0, count: 0 };
  for (let read = 0; read < TAKINGS_PAGES_MAX; read += 1) {
    const page = await shops.orderPage({ role: 'shop', shopId, cursor, limit: 50 });
    for (const order of page.orders) {
      // Newest first: the first order placed before today ends the day.
      if (new Date(order.placed_at) < midnight) return sum;
      if (!TAKEN.has(order.status)) continue;
      sum.minor += order.total_minor - order.refunded_minor;
      sum.count += 1;
    }
    cursor = page.next_cursor;
    if (!cursor) break;
  }
  return sum;
}

/** The day's takings and, for the owner, the merchant's balance; kept current by order events. */
function takingsCard(ctx, view) {
  const shops = shopsOf(ctx.session);
  const shopId = view.shop.shop_id;
  const amount = h('strong', { class: 'takings-amount', 'data-testid': 'takings-today' }, '…');
  const count = h('span', { class: 'takings-count' });
  const balance = h('p', { class: 'takings-balance', hidden: true });
  const card = h('section', { class: 'takings', 'aria-labelledby': 'takings-title' }, h('h2', { id: 'takings-title' }, t('shops.takings_today')), amount, count, balance);
  const refresh = async () => {
    try {
      const sum = await todaysTakings(shops, shopId);
      amount.textContent = moneyText(sum.minor);
      amount.dataset.minor = String(sum.minor);
      count.textContent = t('shops.takings_orders', { count: formatNumber(sum.count) });
      if (view.your_role !== 'owner' || !view.merchant_id) return;
      const merchant = await shops.merchant(view.merchant_id);
      replace(balance, t('shops.merchant_balance'), ' ', h('strong', { 'data-testid': 'shop-merchant-balance', dataset: { minor: String(merchant.balance_minor) } }, moneyText(merchant.balance_minor)));
      balance.hidden = false;
    } catch {
      // The next order event tries again.
    }
  };
  onOrders(shops, card, (event) => {
    if (!event || event.shop_id === shopId) refresh();
  });
  refresh();
  return card;
}

// ------------------------------------------------------------- products

function productsAdmin(ctx, shopId, error) {
  const shops = shopsOf(ctx.session);
  const list = h('ul', { class: 'admin-products', 'data-testid': 'admin-products' });
  const paged = pagedList({
    list,
    testid: 'more-admin-products',
    load: (cursor) => shops.productPage({ shopId, cursor }).then((page) => ({ items: page.products, next: page.next_cursor })),
    render: (product) => adminProduct(ctx, product, error),
    empty: () => emptyState({ iconName: 'store', title: t('shops.no_products'), text: t('shops.no_products_hint') }),
    onError: (failure) => (error.textContent = shopProblem(failure)),
  });
  paged.reload();
  // Orders reserve and sell units: the counts follow them.
  onOrders(shops, list, (event) => {
    if (!event || event.shop_id === shopId) paged.reload();
  });
  return h('div', {}, list, paged.more);
}

/** One product for its shop: listed or not (a switch), and each variant's price and stock. */
function adminProduct(ctx, product, error) {
  const { session } = ctx;
  const shops = shopsOf(session);
  const item = h('li', { class: 'card admin-product', 'data-testid': 'admin-product', dataset: { productId: product.product_id } });
  const render = (shown) => {
    item.dataset.listed = String(shown.listed);
    const toggle = h('button', { type: 'button', 'data-testid': 'listed-toggle', 'aria-pressed': String(shown.listed) }, t(shown.listed ? 'shops.unlist' : 'shops.list'));
    toggle.addEventListener('click', async () => {
      toggle.disabled = true;
      try {
        render(await shops.patchProduct(shown.product_id, { listed: !shown.listed }));
      } catch (failure) {
        error.textContent = shopProblem(failure);
        toggle.disabled = false;
      }
    });
    const changed = (variant) => render({ ...shown, variants: shown.variants.map((v) => (v.variant_id === variant.variant_id ? variant : v)) });
    replace(
      item,
      h(
        'div',
        { class: 'admin-product-head' },
        picture(session, shown.media_ids[0], 'admin-product-picture', { iconName: 'store' }),
        h('div', { class: 'admin-product-title' }, h('a', { href: `#/product/${id(shown.product_id)}` }, shown.title), h('span', { class: `tag ${shown.listed ? 'accent' : ''}` }, t(shown.listed ? 'shops.listed' : 'shops.unlisted'))),
        toggle,
      ),
      h('ul', { class: 'admin-variants' }, shown.variants.map((variant) => adminVariant(ctx, variant, changed, error))),
    );
  };
  render(product);
  return item;
}

function adminVariant(ctx, variant, changed, error) {
  const shops = shopsOf(ctx.session);
  const step = (delta) => async () => {
    try {
      changed(await shops.patchVariant(variant.variant_id, { stock_delta: delta }));
    } catch (failure) {
      error.textContent = shopProblem(failure);
    }
  };
  return h(
    'li',
    { class: 'admin-variant', 'data-testid': 'admin-variant', dataset: { variantId: variant.variant_id, available: String(variant.available), priceMinor: String(variant.price_minor) } },
    h(
      'div',
      { class: 'admin-variant-text' },
      h('strong', {}, variant.name),
      h('span', { class: 'hint', translate: 'no' }, variant.sku),
      h('span', { class: 'admin-variant-numbers' }, t('shops.variant_numbers', { price: moneyText(variant.price_minor), available: formatNumber(variant.available), reserved: formatNumber(variant.reserved ?? 0), sold: formatNumber(variant.sold ?? 0) })),
    ),
    h(
      'div',
      { class: 'admin-variant-tools' },
      h('button', { type: 'button', class: 'stepper-button', 'aria-label': t('shops.stock_less', { name: variant.name }), disabled: variant.available <= 0, 'data-testid': 'stock-minus', onclick: step(-1) }, '−'),
      h('button', { type: 'button', class: 'stepper-button', 'aria-label': t('shops.stock_more', { name: variant.name }), 'data-testid': 'stock-plus', onclick: step(1) }, '+'),
      h('button', { type: 'button', 'data-testid': 'variant-edit', onclick: () => editVariant(ctx, variant, changed) }, t('shops.edit')),
    ),
  );
}

/** A variant's price and stock: the stock set to a number, or moved by one up or down. */
function editVariant(ctx, variant, changed) {
  const shops = shopsOf(ctx.session);
  const price = amountField('shops.price', { name: 'variant-price', value: majorText(variant.price_minor) });
  const mode = h('select', { id: 'stock-mode', 'data-testid': 'stock-mode' }, ['set', 'add', 'take'].map((value) => h('option', { value }, t(`shops.stock_mode.${value}`))));
  const count = h('input', { id: 'stock-count', inputmode: 'numeric', pattern: '[0-9]*', maxlength: 10, autocomplete: 'off', 'data-testid': 'stock-count' });
  formDialog({
    title: t('shops.edit_variant', { name: variant.name }),
    testid: 'variant-dialog',
    fields: [
      price.element,
      h('div', { class: 'field' }, h('label', { for: 'stock-mode' }, t('shops.stock')), h('div', { class: 'stock-edit' }, mode, count)),
      h('p', { class: 'hint' }, t('shops.stock_hint', { available: formatNumber(variant.available), reserved: formatNumber(variant.reserved ?? 0) })),
    ],
    submitLabel: t('shops.save'),
    submit: async (close) => {
      const changes = {};
      const minor = readAmount(price.input);
      if (minor !== variant.price_minor) changes.price_minor = minor;
      const typed = count.value.trim();
      if (typed) {
        if (!/^\d{1,10}$/.test(typed)) throw Object.assign(new Error('stock'), { catalogKey: 'shops.stock_invalid' });
        const units = Number(typed);
        if (mode.value === 'set') changes.stock = units;
        else changes.stock_delta = mode.value === 'add' ? units : -units;
      }
      if (Object.keys(changes).length) changed(await shops.patchVariant(variant.variant_id, changes));
      close();
      toast(t('shops.saved'), { tone: 'success', testid: 'variant-toast' });
    },
  });
}

// ------------------------------------------------------------------ staff

/** The owner's staff: who may manage products and orders; added from the owner's contacts. */
function staffSection(ctx, view, error) {
  const { session } = ctx;
  const shops = shopsOf(session);
  const shopId = view.shop.shop_id;
  const staff = new Set(view.staff);
  const list = h('ul', { class: 'rows-list staff-list', 'data-testid': 'shop-staff' });
  const picker = h('select', { 'aria-label': t('shops.staff_pick'), 'data-testid': 'staff-pick' });
  const add = h('button', { type: 'submit' }, t('shops.staff_add'));
  const form = h('form', { class: 'inline staff-form' }, picker, add);
  const change = async (accountId, present) => {
    error.textContent = '';
    try {
      await shops.setStaff(shopId, accountId, present);
      if (present) staff.add(accountId);
      else staff.delete(accountId);
      fill();
    } catch (failure) {
      error.textContent = shopProblem(failure);
    }
  };
  const fill = async () => {
    const contacts = await session.contacts().catch(() => []);
    replace(list, [...staff].map((accountId) => listRow({ title: session.name(accountId), trailing: h('button', { type: 'button', onclick: () => change(accountId, false) }, t('shops.staff_remove')), testid: 'staff-row' }).item));
    const others = contacts.filter((contact) => !staff.has(contact.account_id));
    replace(picker, others.map((contact) => h('option', { value: contact.account_id }, contact.remark || contact.display_name || contact.username)));
    form.hidden = !others.length;
  };
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    if (picker.value) change(picker.value, true);
  });
  fill();
  return h('section', { class: 'staff-section' }, h('h2', { class: 'section-title' }, t('shops.staff')), h('p', { class: 'hint' }, t('shops.staff_hint')), list, form);
}
