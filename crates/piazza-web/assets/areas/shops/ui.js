// Pieces the shops' screens share: pictures of products and shops, prices,
// an order's status, the countdown to `pay_by`, a quantity stepper, an
// address, confirmations, and failures worded for shops.

import { h, icon, replace } from '../../lib/dom.js';
import { formatNumber, has, t } from '../../lib/i18n.js';
import { CURRENCY, DECIMALS } from '../wallet/money.js';
import { failureText, formDialog, moneyText } from '../wallet/ui.js';
import { shopsOf } from './state.js';

/** What a product's order may hold of one variant (the server's cap). */
export const QUANTITY_MAX = 999;

/**
 * A failure in words: a shop's own wording where a code means something
 * else here than elsewhere (`invalid_title` is a group's name in chats,
 * a product's title here), else the wallet's and the app's.
 */
export function shopProblem(error) {
  const key = `shops.error.${error?.code}`;
  if (!error?.catalogKey && has(key)) return t(key);
  return failureText(error);
}

/**
 * A product's or a shop's picture, read as a thumbnail with the token
 * (the session keeps it as a `blob:` URL); a placeholder with an icon
 * when there is none, or while it cannot be read.
 * @param {any} session
 * @param {string | null | undefined} mediaId
 * @param {string} className
 * @param {{ alt?: string, iconName?: string, testid?: string }} [options]
 */
export function picture(session, mediaId, className, { alt = '', iconName = 'image', testid = null } = {}) {
  const box = h('span', { class: `shop-picture ${className}`, 'data-testid': testid }, icon(iconName));
  if (!mediaId) return box;
  const img = h('img', { alt, decoding: 'async' });
  session.thumbnailUrl(mediaId).then(
    (url) => {
      img.addEventListener('load', () => box.classList.add('has-picture'), { once: true });
      img.src = url;
      box.append(img);
    },
    () => {},
  );
  return box;
}

/**
 * A product's first picture where only its id is at hand (a cart's line,
 * an order's): the placeholder at once, the picture once the product is
 * read (each product once; one no longer listed keeps the placeholder).
 * @param {any} session
 * @param {string} productId
 * @param {string} className
 */
export function productPicture(session, productId, className) {
  const slot = h('span', { class: 'product-picture-slot' }, picture(session, null, className, { iconName: 'store' }));
  shopsOf(session)
    .product(productId, { fresh: false })
    .then((product) => product.media_ids[0] && replace(slot, picture(session, product.media_ids[0], className, { iconName: 'store' })), () => {});
  return slot;
}

/** "¥25.00", or "¥25.00 – ¥28.50" when its variants differ. */
export function priceRange(variants) {
  if (!variants?.length) return '';
  const prices = variants.map((v) => v.price_minor);
  return priceBetween(Math.min(...prices), Math.max(...prices));
}

/** A price from `low` to `high` minor units: one price when they are the same. */
export function priceBetween(low, high, currency = CURRENCY) {
  const money = (minor) => moneyText(minor, { currency });
  return low === high ? money(low) : t('shops.price_range', { low: money(low), high: money(high) });
}

/** Units that may be ordered now, over all variants. */
export function availableUnits(variants) {
  return (variants ?? []).reduce((sum, v) => sum + Math.max(0, v.available), 0);
}

/** An order's status as a tag, coloured by what it waits for. */
export function statusTag(status, { testid = 'order-status' } = {}) {
  return h('span', { class: `order-status status-${status}`, 'data-testid': testid, dataset: { status } }, statusText(status));
}

export function statusText(status) {
  const key = `shops.status.${status}`;
  return has(key) ? t(key) : status;
}

/** "Mug (Red) × 2", or with "and 2 more" when the order holds more lines. */
export function itemsSummary(items) {
  if (!items?.length) return '';
  const first = t('shops.item_line', { title: items[0].title, variant: items[0].variant_name, quantity: formatNumber(items[0].quantity) });
  return items.length === 1 ? first : t('shops.items_more', { first, count: formatNumber(items.length - 1) });
}

/** "14:05" or "1:02:03": a span of seconds as a clock shows it. */
function clock(seconds) {
  const hours = Math.floor(seconds / 3600);
  const minutes = Math.floor((seconds % 3600) / 60);
  const rest = String(seconds % 60).padStart(2, '0');
  return hours ? `${hours}:${String(minutes).padStart(2, '0')}:${rest}` : `${minutes}:${rest}`;
}

/**
 * The time left to pay, "Pay within 14:05", told again every second while
 * it is on the page; at zero it says the time is over and, if it was
 * counting on the page, runs `onEnd` (the server cancels the order then
 * and says so with `order.updated`).
 * @param {string} until an RFC 3339 time (`pay_by`)
 * @param {{ onEnd?: () => void }} [options]
 */
export function countdown(until, { onEnd = () => {} } = {}) {
  const element = h('span', { class: 'countdown', role: 'timer', 'data-testid': 'pay-countdown' });
  const end = new Date(until).getTime();
  let shown = false;
  let counting = false;
  const tick = () => {
    if (element.isConnected) shown = true;
    else if (shown) return clearInterval(timer);
    const left = Math.max(0, Math.ceil((end - Date.now()) / 1000));
    element.dataset.secondsLeft = String(left);
    element.textContent = left ? t('shops.pay_within', { time: clock(left) }) : t('shops.pay_time_over');
    if (left) {
      counting = true;
    } else {
      clearInterval(timer);
      if (counting) onEnd();
    }
  };
  const timer = setInterval(tick, 1000);
  tick();
  return element;
}

let stepperCount = 0;

/**
 * − [n] +: a quantity from 1 to `max`, typed or stepped. `onChange(n)`
 * runs with each new value (after a typed one is done: on change).
 * @param {{ value: number, max?: number, label: string, onChange: (n: number) => void, testid?: string }} options
 */
export function quantityStepper({ value, max = QUANTITY_MAX, label, onChange, testid = 'quantity' }) {
  stepperCount += 1;
  const limit = Math.max(1, Math.min(max, QUANTITY_MAX));
  const input = h('input', { id: `quantity-${stepperCount}`, class: 'stepper-value', inputmode: 'numeric', pattern: '[0-9]*', 'aria-label': label, value: String(value), 'data-testid': `${testid}-input` });
  const minus = h('button', { type: 'button', class: 'stepper-button', 'aria-label': t('shops.less'), 'data-testid': `${testid}-minus` }, '−');
  const plus = h('button', { type: 'button', class: 'stepper-button', 'aria-label': t('shops.more'), 'data-testid': `${testid}-plus` }, '+');
  let current = value;
  const set = (next) => {
    const clamped = Math.max(1, Math.min(limit, Number.isInteger(next) ? next : current));
    input.value = String(clamped);
    minus.disabled = clamped <= 1;
    plus.disabled = clamped >= limit;
    if (clamped === current) return;
    current = clamped;
    onChange(clamped);
  };
  minus.addEventListener('click', () => set(current - 1));
  plus.addEventListener('click', () => set(current + 1));
  input.addEventListener('change', () => set(/^\d+$/.test(input.value.trim()) ? Number(input.value.trim()) : current));
  minus.disabled = current <= 1;
  plus.disabled = current >= limit;
  return { element: h('span', { class: 'stepper', role: 'group', 'aria-label': label }, minus, input, plus), get value() { return current; } };
}

/** A shipping address as the lines of a label. */
export function addressLines(address) {
  if (!address) return [];
  const place = [address.postal_code, address.city, address.region].filter(Boolean).join(' ');
  return [
    [address.name, address.phone].filter(Boolean).join(' · '),
    address.line1,
    address.line2,
    place,
    address.country,
  ].filter(Boolean);
}

export function addressBlock(address) {
  return h('address', { class: 'shop-address', 'data-testid': 'order-address' }, addressLines(address).map((line) => h('span', {}, line)));
}

/**
 * "Are you sure?" for a move that cannot be undone: its text, Cancel and
 * the move's button; `run()` does it (its failure is said in the dialog).
 * @param {{ title: string, text: string, confirmLabel: string, testid: string, run: () => Promise<void> }} options
 */
export function confirmMove({ title, text, confirmLabel, testid, run }) {
  return formDialog({
    title,
    testid,
    fields: [h('p', {}, text)],
    submitLabel: confirmLabel,
    submitTestid: 'confirm-move',
    submit: async (close) => {
      await run();
      close();
    },
  });
}

/**
 * A list read a page at a time, newest first: `load(cursor)` answers
 * `{items, next}`, `render(item)` makes an item's `<li>`; "More" reads the
 * next page. `reload()` starts again; a page that comes back after a newer
 * reload began is dropped.
 * @param {{ list: HTMLElement, load: (cursor: string | null) => Promise<{ items: any[], next: string | null }>,
 *   render: (item: any) => Node, empty: () => Node, onError: (failure: any) => void, testid: string }} options
 */
export function pagedList({ list, load, render, empty, onError, testid }) {
  const more = h('button', { type: 'button', class: 'more-button', hidden: true, 'data-testid': testid }, t('shops.load_more'));
  let cursor = null;
  let ticket = 0;
  async function read(older) {
    const mine = older ? ticket : (ticket += 1);
    more.disabled = true;
    try {
      const page = await load(older ? cursor : null);
      if (mine !== ticket) return;
      cursor = page.next ?? null;
      const rows = page.items.map(render);
      if (older) list.append(...rows);
      else replace(list, rows.length ? rows : h('li', { class: 'empty-item' }, empty()));
      more.hidden = !cursor;
    } catch (failure) {
      if (mine === ticket) onError(failure);
    } finally {
      more.disabled = false;
    }
  }
  more.addEventListener('click', () => read(true));
  return { more, reload: () => read(false) };
}

/**
 * Minor units as the plain decimal an amount field takes ("12.50"), by
 * integer arithmetic (the wallet's `parseMajor` reads it back exactly).
 * @param {number} minor
 */
export function majorText(minor) {
  const scale = 10 ** DECIMALS;
  return DECIMALS ? `${Math.trunc(minor / scale)}.${String(minor % scale).padStart(DECIMALS, '0')}` : String(minor);
}

/** Money for the eye: the wallet's (integer minor units to the language's writing). */
export { moneyText };
