// Languages: every screen, in English, Italian and Chinese, switched from
// the account menu (and the public pages' picker) without a reload, shows
// no text of another language: every visible text node and label is
// compared with the English catalog, money is written the language's way,
// and no button wraps its label.

import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import {
  PIN,
  DESKTOP,
  PHONE,
  args,
  assets,
  run,
  fail,
  call,
  apiUser,
  apiBefriend,
  apiSend,
  apiFund,
  expectVisible,
  logInInBrowser,
  scenario,
} from '../harness.mjs';

export const CATALOGS = Object.fromEntries(
  ['en', 'it', 'zh'].map((code) => [code, JSON.parse(readFileSync(join(assets, `i18n/${code}.json`), 'utf8'))]),
);

const escape = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * What of the English catalog must not show in `lang`: each value that
 * differs in `lang`, as a whole-text pattern (placeholders match
 * anything), and its phrases (literal runs of 8+ characters with a space)
 * that must not show even inside a longer text.
 */
function englishOf(lang) {
  const whole = [];
  const phrases = new Set();
  for (const [key, english] of Object.entries(CATALOGS.en)) {
    if (CATALOGS[lang][key] === english) continue;
    const parts = english.trim().split(/\{\w+\}/);
    // A template of placeholders and a short word (" to ") would match any text.
    if (parts.join('').replace(/[^\p{L}]/gu, '').length >= 4) {
      whole.push({ key, pattern: new RegExp(`^${parts.map(escape).join('.+?')}$`, 'su') });
    }
    for (const part of parts) {
      const phrase = part.trim();
      if (phrase.length >= 8 && /\s/.test(phrase)) phrases.add(phrase);
    }
  }
  return { whole, phrases: [...phrases] };
}

/** Latin words the Chinese catalog itself uses ("PIN", "PNG", "piazza-login"). */
const ZH_LATIN = new Set(Object.values(CATALOGS.zh).flatMap((value) => value.match(/[A-Za-z]{3,}/g) ?? []));

/**
 * Everything visible on the page a reader would read, in the page: text
 * nodes, labels (placeholder, aria-label, title, alt), the document title;
 * and the buttons whose label wraps onto a second line.
 */
async function readPage(page) {
  return page.evaluate(() => {
    const texts = [];
    const visible = (element) => element.checkVisibility({ checkOpacity: true, checkVisibilityCSS: true });
    // A language's own name in the picker is marked with its `lang`, and
    // codes and payloads are `translate="no"`: neither is in a language.
    // Avatars' initials are `aria-hidden` (the name is written beside them).
    const foreign = (element) =>
      element.closest('[lang]') !== document.documentElement || !!element.closest('[translate=no], [aria-hidden=true]');
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const parent = node.parentElement;
      const text = node.textContent.trim();
      if (!text || !parent || ['SCRIPT', 'STYLE'].includes(parent.tagName)) continue;
      if (parent.tagName === 'OPTION' ? !parent.parentElement || !visible(parent.parentElement) : !visible(parent)) continue;
      if (!foreign(parent)) texts.push(text);
    }
    for (const element of document.body.querySelectorAll('[placeholder], [aria-label], [title], img[alt]')) {
      if (!visible(element) || foreign(element)) continue;
      for (const name of ['placeholder', 'aria-label', 'title', 'alt']) {
        const value = element.getAttribute(name)?.trim();
        if (value) texts.push(value);
      }
    }
    texts.push(document.title);
    const wrapped = [];
    // A label wraps when one of its text nodes is drawn on two lines.
    for (const button of document.querySelectorAll('button, .button')) {
      if (!visible(button)) continue;
      const labels = document.createTreeWalker(button, NodeFilter.SHOW_TEXT);
      for (let node = labels.nextNode(); node; node = labels.nextNode()) {
        if (!node.textContent.trim()) continue;
        const range = document.createRange();
        range.selectNodeContents(node);
        const lines = new Set([...range.getClientRects()].filter((r) => r.width > 0).map((r) => Math.round(r.top)));
        if (lines.size > 1) wrapped.push(button.textContent.trim());
      }
    }
    return { texts, wrapped };
  });
}

/**
 * Fails when `page` shows text of a language other than `lang`. `data` is
 * what the test itself put there (names, messages): it is taken out first.
 */
export async function expectOnlyLanguage(page, lang, where, data = []) {
  const { texts, wrapped } = await readPage(page);
  const { whole, phrases } = englishOf(lang === 'en' ? 'en' : lang);
  const problems = [];
  const allowed = [...data].filter(Boolean).sort((a, b) => b.length - a.length);
  for (const original of texts) {
    let text = original;
    for (const item of allowed) text = text.split(item).join(' ');
    text = text.trim();
    if (!/[\p{L}]/u.test(text)) continue;
    if (lang !== 'en') {
      const hit = whole.find(({ pattern }) => pattern.test(text));
      if (hit) problems.push(`English (${hit.key}): "${original}"`);
      else {
        const phrase = phrases.find((p) => text.includes(p));
        if (phrase) problems.push(`English phrase "${phrase}" in "${original}"`);
      }
    }
    if (lang === 'zh') {
      const words = (text.match(/[A-Za-z]{3,}/g) ?? []).filter((word) => !ZH_LATIN.has(word) && word !== 'Piazza');
      if (words.length) problems.push(`Latin words ${words.join(', ')} in "${original}"`);
    }
    if (lang !== 'zh' && /[\u3400-\u9fff]/.test(text)) problems.push(`Chinese in "${original}"`);
    if (lang !== 'en' && /\b(AM|PM|Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\b/.test(text)) {
      problems.push(`an English date or time in "${original}"`);
    }
    if (lang === 'it' && /¥\s*[-+]?\d|\d\.\d\d\s*¥/.test(text)) problems.push(`money not written the Italian way: "${original}"`);
    if (/¥\s*[-+]/.test(text)) problems.push(`a sign after the currency symbol: "${original}"`);
  }
  for (const label of wrapped) problems.push(`the button "${label}" wraps`);
  if (problems.length) fail(`${where} in ${lang}:\n    ${[...new Set(problems)].join('\n    ')}`);
  return texts.length;
}

// ------------------------------------------------------------ the scenario

async function goTo(page, hash, ready, what) {
  await page.evaluate((target) => (location.hash = target), hash);
  await expectVisible(page, ready, what);
}

/** Ann's account with a little of everything on it, made through the API. */
async function setUp() {
  const ann = await apiUser('ann');
  const bob = await apiUser('bob');
  const cat = await apiUser('cat');
  const shop = await apiUser('shop');
  await apiFund(ann, 100000);
  await apiFund(bob, 50000);
  const direct = await apiBefriend(ann, bob);
  const withCat = await apiBefriend(ann, cat);
  const group = (await call(ann.token, 'POST', '/conversations', { title: '🎉 2025', members: [bob.account_id, cat.account_id] })).conversation_id;
  const key = () => ({ 'Idempotency-Key': randomUUID() });
  // Reactions on it: the chips' labels name who reacted, in each language.
  const wave = await apiSend(bob, direct, '👋 42');
  for (const [user, emoji] of [[ann, '❤️'], [bob, '👍']]) {
    await call(user.token, 'POST', `/conversations/${direct}/messages/${wave.message_id}/reactions`, { emoji });
  }
  // A reply, a place and a contact card in the chat, a forward and a
  // mention in the group; a chat archived, the group pinned and muted:
  // their quotes, labels and marks are worded in each language too.
  const send = (user, id, fields) => call(user.token, 'POST', `/conversations/${id}/messages`, { client_msg_id: `setup-${randomUUID()}`, ...fields });
  await send(bob, direct, { text: '🙂 7', reply_to: wave.message_id });
  await send(bob, direct, { location: { lat: 41.8992, lon: 12.4731, name: 'Piazza Navona' } });
  await send(bob, direct, { card: { account_id: bob.account_id } });
  await send(ann, group, { forward_of: { conversation_id: direct, message_id: wave.message_id } });
  await send(bob, group, { text: `@ann ${run} 🎉`, mentions: [ann.account_id] });
  await call(ann.token, 'PATCH', `/conversations/${withCat}/settings`, { archived: true });
  await call(ann.token, 'PATCH', `/conversations/${group}/settings`, { pinned: true, muted: true });
  await call(bob.token, 'POST', '/transfers', { to: ann.account_id, amount_minor: 1234, pin: PIN }, key());
  await call(ann.token, 'POST', '/transfers', { to: bob.account_id, amount_minor: 888, pin: PIN }, key());
  await call(bob.token, 'POST', '/red-packets', { conversation_id: group, total_minor: 600, count: 2, mode: 'lucky', pin: PIN }, key());
  const merchant = await call(shop.token, 'POST', '/merchants', { name: 'Bar 7878', city: 'Roma' });
  const payload = (await call(shop.token, 'GET', `/merchants/${merchant.merchant_id}/qr?format=payload&amount_minor=7878`)).payload;
  await call(ann.token, 'POST', '/payments', { qr_payload: payload, pin: PIN }, key());
  const dan = await apiUser('dan');
  await call(dan.token, 'POST', '/contacts/requests', { to: ann.username, greeting: '🙂' });
  const data = [['ann', ann], ['bob', bob], ['cat', cat], ['dan', dan]].flatMap(([role, u]) => [u.username, `${role} ${run}`]);
  return { ann, bob, shop, merchant, direct, group, payload, data: [...data, 'Bar 7878', 'Roma', payload, '🎉 2025', '👋 42', '🙂 7', '🙂', 'setup', 'Piazza Navona', 'Piazza'] };
}

async function switchLanguage(page, lang) {
  await page.click('[data-testid=account-menu]');
  await page.selectOption('#menu-language', lang);
  await page.waitForFunction((code) => document.documentElement.lang.startsWith(code), lang);
}

/** The screens of a logged-in account, each: where, what shows it is ready. */
function screens(world) {
  const transferLabel = (lang) => `[${CATALOGS[lang]['chat.kind.transfer']}]`;
  return [
    { name: 'chats', hash: '#/chats', ready: '.chat-list li', wait: async (page, lang) => {
      await page.locator('.chat-list .row-subtitle').filter({ hasText: transferLabel(lang) }).first().waitFor({ timeout: 10_000 });
    } },
    { name: 'conversation', hash: `#/chats/${world.direct}`, ready: 'pz-transfer-card[data-status=pending] [data-testid=transfer-accept]' },
    { name: 'group', hash: `#/chats/${world.group}`, ready: 'pz-red-packet-card[data-status=open] [data-testid=red-packet-open]' },
    { name: 'group-info', hash: `#/chats/${world.group}/info`, ready: '.members li.row' },
    { name: 'new-group', hash: '#/groups/new', ready: '.choice' },
    { name: 'contacts', hash: '#/contacts', ready: '.requests li.row' },
    { name: 'profile', hash: `#/contacts/${world.bob.account_id}`, ready: '[data-testid=profile-message]' },
    { name: 'me', hash: '#/me', ready: '#me-display-name' },
    { name: 'devices', hash: '#/devices', ready: '.devices li' },
    { name: 'approve', hash: '#/approve', ready: '#approve-payload' },
    { name: 'wallet', hash: '#/wallet', ready: '[data-testid=statement] li[data-kind=merchant_payment]' },
    { name: 'pay', hash: '#/wallet/pay', ready: '#pay-payload', wait: async (page) => {
      await page.fill('#pay-payload', world.payload);
      await expectVisible(page, '[data-testid=pay-preview]:not(:empty)', 'the merchant named before paying');
    } },
    { name: 'payment-code', hash: '#/wallet/code', ready: 'pz-payment-code', wait: async (page) => {
      const form = page.locator('[data-testid=code-pin-form]');
      if (await form.count()) {
        await form.locator('[data-testid=pin-input]').fill(PIN);
        await form.locator('button[type=submit]').click();
      }
      await expectVisible(page, 'img[data-testid=payment-code-qr]', 'the payment code');
    } },
    { name: 'merchant', hash: '#/wallet/merchant', ready: '[data-testid=merchant-form]' },
  ];
}

async function checkLoggedIn(t, page, lang, world, prefix) {
  for (const screen of screens(world)) {
    await goTo(page, screen.hash, screen.ready, `${screen.name} in ${lang}`);
    await screen.wait?.(page, lang);
    await expectOnlyLanguage(page, lang, screen.name, world.data);
    await t.screenshotNow(page, `${prefix}${lang}-${screen.name}`);
  }
  // A dialog: sending money from the conversation.
  await goTo(page, `#/chats/${world.direct}`, '[data-testid=send-money]', 'the conversation');
  await page.click('[data-testid=send-money]');
  await page.click('[data-testid=choose-transfer]');
  await expectVisible(page, '[data-testid=transfer-dialog] [data-testid=amount-input]', 'the transfer dialog');
  await expectOnlyLanguage(page, lang, 'the transfer dialog', world.data);
  await t.screenshotNow(page, `${prefix}${lang}-transfer-dialog`);
  await page.keyboard.press('Escape');
}

async function checkPublic(t, page, lang, prefix) {
  await page.goto(`${args.baseUrl}/#/login`);
  await expectVisible(page, '#f-username', 'the login page');
  if (lang !== 'en' || (await page.evaluate(() => document.documentElement.lang)) !== 'en') {
    await page.selectOption('[data-testid=language-select]', lang);
    await page.waitForFunction((code) => document.documentElement.lang.startsWith(code), lang);
  }
  for (const [name, hash, ready] of [
    ['login', '#/login', '#f-username'],
    ['signup', '#/signup', '#f-display_name'],
    ['qr-login', '#/login/qr', '[data-testid=qr-payload]'],
  ]) {
    await goTo(page, hash, ready, `${name} in ${lang}`);
    await expectOnlyLanguage(page, lang, name, ['Piazza']);
    await t.screenshotNow(page, `${prefix}${lang}-${name}`);
  }
}

function languagesScenario(viewport, prefix) {
  return async (t) => {
    const world = await setUp();
    const outside = await t.page({ viewport, name: 'public' });
    for (const lang of ['it', 'zh', 'en']) await checkPublic(t, outside, lang, prefix);

    const page = await t.page({ viewport });
    await logInInBrowser(page, world.ann.username);
    // Switched while a conversation is open: it is redrawn at once. On a
    // desktop a payment's alert (over every page until dismissed) is
    // there too, and is told again in the new language.
    await goTo(page, `#/chats/${world.direct}`, 'pz-transfer-card[data-status=pending]', 'the conversation in English');
    const alerted = viewport === DESKTOP;
    if (alerted) {
      const code = await call(world.ann.token, 'POST', '/wallet/payment-code', { pin: PIN });
      await call(world.shop.token, 'POST', `/merchants/${world.merchant.merchant_id}/collect`, { payment_code: code.code, amount_minor: 100 }, { 'Idempotency-Key': randomUUID() });
      await expectVisible(page, '[data-testid=money-alert]', 'the payment alert');
    }
    for (const lang of ['it', 'zh', 'en']) {
      await switchLanguage(page, lang);
      await expectVisible(page, 'pz-transfer-card[data-status=pending]', `the conversation after switching to ${lang}`);
      await expectOnlyLanguage(page, lang, 'the conversation right after the switch', world.data);
      if (alerted) await t.screenshotNow(page, `${prefix}${lang}-alert`);
      await checkLoggedIn(t, page, lang, world, prefix);
    }
    t.screenshot(page);
  };
}

scenario('i18n', languagesScenario(DESKTOP, ''));
scenario('i18n-phone', languagesScenario(PHONE, ''));
