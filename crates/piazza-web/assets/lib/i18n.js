// All user-visible text comes from one catalog per language. A missing key
// falls back to English, then to the key itself, so a gap shows up plainly.

export const LANGUAGES = [
  { code: 'en', name: 'English' },
  { code: 'zh', name: '简体中文' },
  { code: 'it', name: 'Italiano' },
];
const STORAGE_KEY = 'piazza.lang';

let current = 'en';
let catalog = {};
let fallback = {};

function pickLanguage() {
  const stored = localStorage.getItem(STORAGE_KEY);
  if (stored && LANGUAGES.some((l) => l.code === stored)) return stored;
  for (const wanted of navigator.languages ?? [navigator.language]) {
    const base = String(wanted).toLowerCase().split('-')[0];
    if (LANGUAGES.some((l) => l.code === base)) return base;
  }
  return 'en';
}

async function load(code) {
  const response = await fetch(`/i18n/${code}.json`);
  if (!response.ok) throw new Error(`catalog ${code}: ${response.status}`);
  return response.json();
}

/** Loads the catalog of the browser's (or the chosen) language. */
export async function initI18n() {
  current = pickLanguage();
  const [english, chosen] = await Promise.all([
    load('en'),
    current === 'en' ? null : load(current).catch(() => null),
  ]);
  fallback = english;
  catalog = chosen ?? english;
  if (!chosen) current = 'en';
  document.documentElement.lang = current === 'zh' ? 'zh-Hans' : current;
}

/** Remembers the choice; the caller re-renders. */
export async function setLanguage(code) {
  localStorage.setItem(STORAGE_KEY, code);
  await initI18n();
}

export function language() {
  return current;
}

/** `t('group.member_count', {count: 3})` → "3 members"; `{name}` placeholders. */
export function t(key, params = {}) {
  const text = catalog[key] ?? fallback[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (whole, name) =>
    name in params ? String(params[name]) : whole,
  );
}
