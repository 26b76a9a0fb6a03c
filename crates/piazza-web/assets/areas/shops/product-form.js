// Adding a product: its title and words, up to nine pictures (previewed,
// uploaded only when it is sent, each once), and its variants — a SKU, a
// name, a price and the units in stock each, as many rows as it has.

import { h, icon } from '../../lib/dom.js';
import { t } from '../../lib/i18n.js';
import { iconButton, toast } from '../../lib/ui.js';
import { errorLine, field } from '../auth/index.js';
import { parseMajor } from '../wallet/money.js';
import { backLink } from './catalog.js';
import { picturePicker, uploadAll } from './manage.js';
import { shopsOf } from './state.js';
import { shopProblem } from './ui.js';

const id = encodeURIComponent;
const PICTURES_MAX = 9;
const VARIANTS_MAX = 100;
const TITLE_MAX = 120;
const DESCRIPTION_MAX = 5000;
const SKU_MAX = 64;
/** Stock a variant starts with, at most (the server's own cap is higher). */
const STOCK_DIGITS_MAX = 9;

let rowCount = 0;

/** One variant's row: SKU, name, price, stock, and × to take it out. */
function variantRow(rows) {
  rowCount += 1;
  const cell = (key, attributes) => {
    const inputId = `variant-${attributes.name}-${rowCount}`;
    return h('div', { class: 'field' }, h('label', { for: inputId }, t(key)), h('input', { id: inputId, required: true, autocomplete: 'off', ...attributes }));
  };
  const row = h(
    'li',
    { class: 'variant-row', 'data-testid': 'variant-row' },
    cell('shops.variant_name', { name: 'name', maxlength: TITLE_MAX, 'data-testid': 'variant-name' }),
    cell('shops.sku', { name: 'sku', maxlength: SKU_MAX, pattern: '[A-Za-z0-9._\\-]+', autocapitalize: 'none', translate: 'no', 'data-testid': 'variant-sku' }),
    cell('shops.price', { name: 'price', inputmode: 'decimal', maxlength: 16, 'data-testid': 'variant-price' }),
    cell('shops.stock', { name: 'stock', inputmode: 'numeric', pattern: '[0-9]+', maxlength: STOCK_DIGITS_MAX, 'data-testid': 'variant-stock' }),
  );
  row.append(iconButton('close', t('shops.variant_remove'), { class: 'variant-remove', 'data-testid': 'variant-remove', onclick: () => row.remove() }));
  rows.append(row);
  return row;
}

/** The variants typed, or throws an Error carrying a catalog key naming the row's fault. */
function readVariants(rows) {
  const variants = [];
  for (const row of rows.querySelectorAll('.variant-row')) {
    const value = (name) => /** @type {HTMLInputElement} */ (row.querySelector(`input[name=${name}]`)).value.trim();
    const price = parseMajor(value('price'));
    if (price.error) throw Object.assign(new Error('price'), { catalogKey: price.error });
    if (!/^\d+$/.test(value('stock'))) throw Object.assign(new Error('stock'), { catalogKey: 'shops.stock_invalid' });
    variants.push({ sku: value('sku'), name: value('name'), price_minor: price.minor, stock: Number(value('stock')) });
  }
  if (!variants.length) throw Object.assign(new Error('variants'), { catalogKey: 'shops.variants_none' });
  return variants;
}

export function addProductView(ctx) {
  const { session } = ctx;
  const shops = shopsOf(session);
  const shopId = ctx.params.id;
  const error = errorLine();
  const description = h('textarea', { id: 'f-product-description', name: 'description', rows: 4, maxlength: DESCRIPTION_MAX, 'data-testid': 'product-description' });
  const pictures = picturePicker({ max: PICTURES_MAX, labelKey: 'shops.pictures_pick', testid: 'product-pictures' });
  const rows = h('ol', { class: 'variant-rows', 'data-testid': 'variant-rows' });
  variantRow(rows);
  const more = h('button', { type: 'button', 'data-testid': 'add-variant' }, icon('plus'), h('span', {}, t('shops.variant_add')));
  more.addEventListener('click', () => {
    if (rows.children.length < VARIANTS_MAX) variantRow(rows).querySelector('input')?.focus();
  });
  const uploaded = new Map();
  const submit = h('button', { type: 'submit', class: 'primary', 'data-testid': 'product-submit' }, t('shops.add_product'));
  const form = h(
    'form',
    { class: 'card product-form', 'aria-labelledby': 'product-form-title', 'data-testid': 'product-form' },
    h('h1', { id: 'product-form-title' }, t('shops.add_product')),
    field('shops.product_title', { name: 'title', maxlength: TITLE_MAX, 'data-testid': 'product-title-input' }),
    h('div', { class: 'field' }, h('label', { for: 'f-product-description' }, t('shops.description')), description),
    h('div', { class: 'field' }, h('span', { class: 'label' }, t('shops.pictures')), pictures.element),
    h('fieldset', { class: 'variants-fieldset' }, h('legend', {}, t('shops.variants')), h('p', { class: 'hint' }, t('shops.variants_hint')), rows, more),
    error,
    h('div', { class: 'actions' }, h('a', { class: 'button', href: `#/shop/${id(shopId)}/manage` }, t('ui.cancel')), submit),
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    error.textContent = '';
    submit.disabled = true;
    try {
      const variants = readVariants(rows);
      const mediaIds = await uploadAll(session, pictures.files(), uploaded);
      const title = String(new FormData(form).get('title')).trim();
      await shops.addProduct(shopId, { title, description: description.value.trim(), media_ids: mediaIds, variants });
      toast(t('shops.product_added', { title }), { tone: 'success', testid: 'product-toast' });
      ctx.navigate(`/shop/${id(shopId)}/manage`);
    } catch (failure) {
      error.textContent = shopProblem(failure);
      submit.disabled = false;
    }
  });
  return h('section', { class: 'page' }, backLink(`#/shop/${id(shopId)}/manage`, 'shops.back_to_manage'), form);
}
