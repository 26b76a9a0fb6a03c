// All user-visible text comes from one catalog per language. A missing key
// falls back to English, then to the key itself, so a gap shows up plainly.
// Numbers, money, dates and times are formatted by `Intl` for the chosen
// language, never by hand. Switching language tells `languageEvents`
// listeners ('change'), and the shell draws every page again from the
// catalog: nothing built in the old language stays on screen.

export const LANGUAGES = [
  { code: 'en', name: 'English' },
  { code: 'zh', name: '简体中文' },
  { code: 'it', name: 'Italiano' },
];
const STORAGE_KEY = 'piazza.lang';
/** The BCP 47 tag each language formats with (and sets as the page's `lang`). */
const LOCALES = { en: 'en', zh: 'zh-Hans-CN', it: 'it-IT' };

let current = 'en';
/** @type {Record<string, string>} */
let catalog = {};
/** @type {Record<string, string>} */
let fallback = {};

/** 'change' is dispatched after a new language's catalog is in use. */
export const languageEvents = new EventTarget();

function pickLanguage() {
  const stored = localStorage.getItem(STORAGE_KEY);
  if (stored && LANGUAGES.some((l) => l.code === stored)) return stored;
  for (const wanted of navigator.languages ?? [navigator.language]) {
    const base = String(wanted).toLowerCase().split('-')[0];
    if (LANGUAGES.some((l) => l.code === base)) return base;
  }
  return 'en';
}

/**
 * @param {string} code
 * @returns {Promise<Record<string, string>>}
 */
async function load(code) {
  const response = await fetch(`/i18n/${code}.json`);
  if (!response.ok) throw new Error(`catalog ${code}: ${response.status}`);
  return response.json();
}

/** @type {(value?: unknown) => void} */
let markReady = () => {};
/**
 * Settles once the first catalog is in use (or failed to load): what the
 * server sends is read after it (`serverJson`), though it may be fetched
 * before.
 */
export const catalogReady = new Promise((resolve) => {
  markReady = resolve;
});

/** Loads the catalog of the browser's (or the chosen) language. */
export async function initI18n() {
  try {
    const wanted = pickLanguage();
    const [english, chosen] = await Promise.all([
      load('en'),
      wanted === 'en' ? null : load(wanted).catch(() => null),
    ]);
    fallback = english;
    catalog = chosen ?? english;
    current = chosen ? wanted : 'en';
    document.documentElement.lang = locale();
  } finally {
    markReady();
  }
}

/**
 * Remembers the choice and loads its catalog; listeners of
 * `languageEvents` hear 'change' once it is in use.
 * @param {string} code
 */
export async function setLanguage(code) {
  localStorage.setItem(STORAGE_KEY, code);
  await initI18n();
  languageEvents.dispatchEvent(new Event('change'));
}

/** The language in use: 'en', 'zh' or 'it'. */
export function language() {
  return current;
}

/** The locale `Intl` formats with for the language in use. */
export function locale() {
  return LOCALES[/** @type {keyof typeof LOCALES} */ (current)] ?? 'en';
}

/**
 * `t('group.member_count', {count: 3})` → "3 members"; `{name}` placeholders.
 * @param {string} key
 * @param {Record<string, string | number>} [params]
 */
export function t(key, params = {}) {
  const text = catalog[key] ?? fallback[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (whole, name) =>
    name in params ? String(params[name]) : whole,
  );
}

/** What the server calls a deleted account, to everyone (api-v1: `display_name`). */
const DELETED_ACCOUNT = 'Deleted account';

/**
 * A `JSON.parse` reviver for what the server sends: the one name it
 * writes itself, a deleted account's, comes out in the reader's language.
 * Parse only after `catalogReady`.
 * @param {string} key
 * @param {unknown} value
 */
export function serverJson(key, value) {
  return key === 'display_name' && value === DELETED_ACCOUNT ? t('account.deleted') : value;
}

/** True when the catalog has `key` (for keys made from server codes). */
export function has(key) {
  return key in catalog || key in fallback;
}

/** @type {Map<string, Intl.NumberFormat>} */
const numberFormats = new Map();

/**
 * A number in the language's digits and separators ("1,234", "1.234").
 * @param {number} value
 */
export function formatNumber(value) {
  const key = `${locale()}|number`;
  let format = numberFormats.get(key);
  if (!format) {
    format = new Intl.NumberFormat(locale());
    numberFormats.set(key, format);
  }
  return format.format(value);
}

/**
 * A decimal number with up to `digits` decimals, in the language's
 * separators ("45.46421", "45,46421"): a place's coordinates.
 * @param {number} value
 * @param {number} digits
 */
export function formatDecimal(value, digits) {
  const key = `${locale()}|decimal${digits}`;
  let format = numberFormats.get(key);
  if (!format) {
    format = new Intl.NumberFormat(locale(), { maximumFractionDigits: digits, useGrouping: false });
    numberFormats.set(key, format);
  }
  return format.format(value);
}

/**
 * Items joined the language's way ("Ann, Bob and Cat", "Ann、Bob和Cat"):
 * `Intl.ListFormat`, or commas where a browser lacks it.
 * @param {string[]} items
 */
export function formatList(items) {
  if (typeof Intl.ListFormat !== 'function') return items.join(', ');
  return new Intl.ListFormat(locale(), { type: 'conjunction' }).format(items);
}

/**
 * An amount of money given in integer minor units, formatted by
 * `Intl.NumberFormat` for the language and the currency: the sign, the
 * symbol's side and the decimal separator are the locale's ("-¥8.88",
 * "8,88 ¥"). `signed` adds "+" to money in. The minor units become a
 * decimal string (never a float) that `Intl` reads exactly.
 * @param {number} minor
 * @param {{ currency?: string, signed?: boolean, decimals?: number }} [options]
 */
export function formatMoney(minor, { currency = 'CNY', signed = false, decimals = 2 } = {}) {
  const value = Number(minor);
  if (!Number.isSafeInteger(value)) return '—';
  const key = `${locale()}|${currency}|${signed}|${decimals}`;
  let format = numberFormats.get(key);
  if (!format) {
    format = new Intl.NumberFormat(locale(), {
      style: 'currency',
      currency,
      // "¥", not "CN¥": the wallet holds one currency, and the narrow
      // symbol is what people there write.
      currencyDisplay: 'narrowSymbol',
      signDisplay: signed ? 'exceptZero' : 'auto',
      minimumFractionDigits: decimals,
      maximumFractionDigits: decimals,
    });
    numberFormats.set(key, format);
  }
  const scale = 10 ** decimals;
  const magnitude = Math.abs(value);
  const digits = decimals
    ? `${Math.trunc(magnitude / scale)}.${String(magnitude % scale).padStart(decimals, '0')}`
    : String(magnitude);
  // A decimal string is read exactly (Intl.NumberFormat v3); an older
  // engine reads it as a Number, exact for every amount a wallet holds.
  return format.format(/** @type {any} */ (`${value < 0 ? '-' : ''}${digits}`));
}

/**
 * A date and time in the language's own way ("3 mar 2025, 14:05").
 * @param {string | number | Date} when
 */
export function formatDateTime(when) {
  const date = new Date(when);
  if (Number.isNaN(date.getTime())) return '';
  return date.toLocaleString(locale(), { dateStyle: 'medium', timeStyle: 'short' });
}

/** @type {Map<string, Intl.RelativeTimeFormat>} */
const relativeFormats = new Map();
const RELATIVE_UNITS = /** @type {const} */ ([
  ['minute', 60, 3600],
  ['hour', 3600, 86400],
  ['day', 86400, 7 * 86400],
]);

/**
 * How long ago (or from now) in the language's words: "now", "5 minutes
 * ago", "昨天"; past a week, the date and time.
 * @param {string | number | Date} when
 */
export function formatRelative(when) {
  const time = new Date(when).getTime();
  if (Number.isNaN(time)) return '';
  let format = relativeFormats.get(locale());
  if (!format) {
    format = new Intl.RelativeTimeFormat(locale(), { numeric: 'auto' });
    relativeFormats.set(locale(), format);
  }
  const seconds = (time - Date.now()) / 1000;
  if (Math.abs(seconds) < 60) return format.format(0, 'second');
  for (const [unit, size, below] of RELATIVE_UNITS) {
    if (Math.abs(seconds) < below) return format.format(Math.round(seconds / size), unit);
  }
  return formatDateTime(time);
}
