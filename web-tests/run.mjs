// Browser tests of the Piazza web client: headless Debian chromium driven
// by playwright-core, against a running server.
//
//   node web-tests/run.mjs --base-url http://127.0.0.1:8080 [--out DIR] [--only NAME]
//
// Each scenario gets fresh browser contexts, saves a screenshot to
// <out>/<scenario>.png at its end and, when it fails, a Playwright trace to
// <out>/<scenario>-trace.zip (one per context: -trace-2.zip, …) and the
// error on stderr. Scenarios run one after another; the exit code is 1 if
// any failed. Users get fresh names each run, so a server can be reused.

import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '..');
const assets = join(repo, 'crates/piazza-web/assets');

const CHROMIUM = '/usr/bin/chromium';
const PASSWORD = 'correct horse battery';
/** A scenario taking longer than this has hung. */
const SCENARIO_TIMEOUT_MS = 90_000;
/** How long one expectation waits for the page. */
const EXPECT_TIMEOUT_MS = 10_000;
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };

function parseArgs(argv) {
  const args = { baseUrl: 'http://127.0.0.1:8080', out: join(repo, 'target/web-tests'), only: null };
  for (let i = 0; i < argv.length; i += 1) {
    const value = argv[i + 1];
    if (argv[i] === '--base-url') args.baseUrl = value.replace(/\/$/, '');
    else if (argv[i] === '--out') args.out = resolve(value);
    else if (argv[i] === '--only') args.only = value;
    else throw new Error(`unknown argument ${argv[i]}`);
    i += 1;
  }
  return args;
}

const args = parseArgs(process.argv.slice(2));
const run = Date.now().toString(36);
let userCount = 0;

function fail(message) {
  throw new Error(message);
}

function username(role) {
  userCount += 1;
  return `${role}_${run}_${userCount}`.slice(0, 32);
}

// ---------------------------------------------------------------- API setup
// Some scenarios prepare their data through the public API, so they test
// one thing each rather than repeating the whole sign-up in the browser.

/** Times one setup call waits out the server's rate limit (429) before failing. */
const RATE_LIMITED_RETRIES_MAX = 120;

async function call(token, method, path, body, extraHeaders = {}) {
  const headers = { Accept: 'application/json', ...extraHeaders };
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let response;
  // The setup sends fast (10,000 messages); a polite client waits as long
  // as Retry-After says and sends the same request again (every setup call
  // is idempotent: fixed client_msg_id, Idempotency-Key, or harmless).
  for (let attempt = 0; ; attempt += 1) {
    response = await fetch(`${args.baseUrl}/api/v1${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (response.status !== 429 || attempt >= RATE_LIMITED_RETRIES_MAX) break;
    await response.arrayBuffer();
    const waitS = Number(response.headers.get('retry-after')) || 1;
    await new Promise((resolve) => setTimeout(resolve, waitS * 1000 + Math.random() * 200));
  }
  const text = await response.text();
  if (!response.ok) fail(`${method} ${path}: ${response.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

async function apiUser(role) {
  const name = username(role);
  await call(null, 'POST', '/accounts', { username: name, password: PASSWORD, display_name: `${role} ${run}` });
  const session = await call(null, 'POST', '/sessions', { username: name, password: PASSWORD, device_name: 'setup' });
  return { username: name, token: session.token, account_id: session.account_id };
}

async function apiBefriend(a, b) {
  const request = await call(a.token, 'POST', '/contacts/requests', { to: b.username });
  await call(b.token, 'POST', `/contacts/requests/${request.request_id}/accept`);
  const direct = await call(a.token, 'POST', '/conversations/direct', { peer: b.account_id });
  return direct.conversation_id;
}

async function apiSend(user, conversationId, text) {
  return call(user.token, 'POST', `/conversations/${conversationId}/messages`, {
    client_msg_id: `setup-${run}-${Math.random().toString(36).slice(2)}`,
    text,
  });
}

const PIN = '135790';

/** Money through the API: a PIN and a sandbox top-up (the server runs --sandbox-payments). */
async function apiFund(user, amountMinor) {
  await call(user.token, 'PUT', '/wallet/pin', { pin: PIN, password: PASSWORD });
  if (amountMinor) {
    await call(user.token, 'POST', '/wallet/topups', { amount_minor: amountMinor }, { 'Idempotency-Key': `setup-${randomUUID()}` });
  }
}

async function apiBalance(user) {
  return (await call(user.token, 'GET', '/wallet')).balance_minor;
}

/** "You got ¥3.21" → 321: the amount a page shows, read back as minor units. */
function shownMinor(text) {
  const match = /(-?\d+)[.,](\d{2})/.exec(text ?? '');
  if (!match) fail(`no amount in "${text}"`);
  return Number(match[1]) * 100 + Number(match[2]);
}

// ------------------------------------------------------------ page helpers

async function expectVisible(page, selector, what = selector) {
  try {
    await page.locator(selector).first().waitFor({ state: 'visible', timeout: EXPECT_TIMEOUT_MS });
  } catch {
    fail(`${what}: not visible within ${EXPECT_TIMEOUT_MS} ms (url ${page.url()})`);
  }
}

async function expectAttached(page, selector, what = selector) {
  try {
    await page.locator(selector).first().waitFor({ state: 'attached', timeout: EXPECT_TIMEOUT_MS });
  } catch {
    fail(`${what}: not in the page within ${EXPECT_TIMEOUT_MS} ms (url ${page.url()})`);
  }
}

async function expectText(page, selector, text, what = `${selector} with "${text}"`) {
  try {
    await page
      .locator(selector)
      .filter({ hasText: text })
      .first()
      .waitFor({ state: 'visible', timeout: EXPECT_TIMEOUT_MS });
  } catch {
    fail(`${what}: not visible within ${EXPECT_TIMEOUT_MS} ms (url ${page.url()})`);
  }
}

async function expectUrl(page, fragment) {
  try {
    await page.waitForURL((url) => url.hash.startsWith(fragment), { timeout: EXPECT_TIMEOUT_MS });
  } catch {
    fail(`expected to reach ${fragment}, still at ${page.url()}`);
  }
}

async function signUpInBrowser(page, name) {
  await page.goto(`${args.baseUrl}/#/signup`);
  await page.fill('#f-username', name);
  await page.fill('#f-display_name', `${name.split('_')[0]} ${run}`);
  await page.fill('#f-password', PASSWORD);
  await page.click('form button[type=submit]');
  await expectVisible(page, 'pz-chat-list', `${name}'s chat list after sign-up`);
}

async function logInInBrowser(page, name) {
  await page.goto(`${args.baseUrl}/#/login`);
  await page.fill('#f-username', name);
  await page.fill('#f-password', PASSWORD);
  await page.click('form button[type=submit]');
  await expectVisible(page, 'pz-chat-list', `${name}'s chat list after log-in`);
}

async function sendInBrowser(page, text) {
  await page.fill('#composer', text);
  await page.press('#composer', 'Enter');
  await expectText(page, '.msg.mine[data-status=sent]', text, `"${text}" shown as sent`);
}

async function openChatWith(page, title) {
  await page.click(`a[href="#/chats"]`);
  await page.locator('.chat-list a').filter({ hasText: title }).first().click();
  await expectVisible(page, 'pz-conversation #composer', `the conversation "${title}"`);
}

// --------------------------------------------------------------- scenarios

const scenarios = [];
function scenario(name, body) {
  scenarios.push({ name, body });
}

scenario('chat-realtime', async (t) => {
  const alice = await t.page({ viewport: DESKTOP });
  const bob = await t.page({ viewport: PHONE, name: 'phone' });
  const aliceName = username('alice');
  const bobName = username('bob');
  await signUpInBrowser(alice, aliceName);
  await signUpInBrowser(bob, bobName);

  // Alice asks, Bob accepts: both sides update live.
  await alice.click('a[href="#/contacts"]');
  await alice.fill('#contact-search', bobName);
  await alice.click('form.inline button[type=submit]');
  await expectVisible(alice, '.status:not(:empty)', 'the "request sent" line');
  await bob.click('a[href="#/contacts"]');
  await expectVisible(bob, `.requests li[data-from="${aliceName}"]`, "Alice's request at Bob");
  await bob.click(`.requests li[data-from="${aliceName}"] button`);
  await expectVisible(bob, `.contacts li[data-username="${aliceName}"]`, 'Alice among Bob\'s contacts');
  await expectVisible(alice, `.contacts li[data-username="${bobName}"]`, 'Bob among Alice\'s contacts');
  await alice.click(`.contacts li[data-username="${bobName}"] button`);
  await expectVisible(alice, 'pz-conversation #composer', "Alice's conversation with Bob");

  // Bob waits on his chat list; Alice writes; Bob sees the entry, preview
  // and unread badge arrive without reloading.
  await bob.click('a[href="#/chats"]');
  await sendInBrowser(alice, 'Hello Bob, ça va?');
  await expectText(bob, '.chat-list li', 'Hello Bob', "Bob's chat list entry with the preview");
  await expectText(bob, '.chat-list .badge:not([hidden])', '1', "Bob's unread badge");
  await bob.locator('.chat-list a').first().click();
  await expectText(bob, '.msg.theirs', 'Hello Bob, ça va?', 'the message in Bob\'s conversation');
  await expectVisible(bob, 'pz-chat-list[hidden], .two-pane.has-detail', 'the phone layout showing one pane');

  // Replies both ways, each seen live on the other side.
  await sendInBrowser(bob, 'Hi Alice, got it');
  await expectText(alice, '.msg.theirs', 'Hi Alice, got it', 'Bob\'s reply at Alice');
  await sendInBrowser(alice, 'Great, real time works');
  await expectText(bob, '.msg.theirs', 'Great, real time works', 'Alice\'s second message at Bob');
  // A send that fails shows as failed; Retry sends it again.
  let dropNext = 'before';
  await alice.route('**/api/v1/conversations/*/messages', async (route) => {
    if (route.request().method() !== 'POST' || !dropNext) return route.continue();
    const when = dropNext;
    dropNext = null;
    // 'after': the server stores it but the answer is lost, so the retry
    // must be recognised by its client_msg_id and stored only once.
    if (when === 'after') await route.fetch();
    return route.abort('connectionreset');
  });
  await alice.fill('#composer', 'Flaky network');
  await alice.press('#composer', 'Enter');
  await expectText(alice, '.msg.mine[data-status=failed]', 'Flaky network', 'the failed send');
  await alice.click('.msg.mine[data-status=failed] button.retry');
  await expectText(alice, '.msg.mine[data-status=sent]', 'Flaky network', 'the retried send');
  await expectText(bob, '.msg.theirs', 'Flaky network', 'the retried message at Bob');
  dropNext = 'after';
  await alice.fill('#composer', 'Lost answer');
  await alice.press('#composer', 'Enter');
  await expectText(alice, '.msg.mine[data-status=failed], .msg.mine[data-status=sent]', 'Lost answer', 'the send with a lost answer');
  const retry = alice.locator('.msg.mine[data-status=failed] button.retry');
  if (await retry.count()) await retry.click();
  await expectText(alice, '.msg.mine[data-status=sent]', 'Lost answer', 'the send with a lost answer, sent');
  await expectText(bob, '.msg.theirs', 'Lost answer', 'the message with a lost answer at Bob');
  await alice.unroute('**/api/v1/conversations/*/messages');
  const copies = await bob.locator('.msg .text').filter({ hasText: /^Lost answer$/ }).count();
  if (copies !== 1) fail(`"Lost answer" shown ${copies} times at Bob`);

  // Bob read everything with the conversation open: no badge on his list.
  await bob.click('a.back');
  await expectVisible(bob, '.chat-list li:not(.unread)', 'Bob\'s entry without unread');

  // First paint of the chat list on reload (the account is remembered).
  const paints = [];
  for (let i = 0; i < 5; i += 1) {
    await alice.goto(`${args.baseUrl}/#/chats`);
    await alice.reload();
    const paint = await alice.waitForFunction(
      () => performance.getEntriesByName('piazza:chat-list-painted')[0]?.startTime,
      null,
      { timeout: EXPECT_TIMEOUT_MS },
    );
    paints.push(Math.round(await paint.jsonValue()));
  }
  paints.sort((a, b) => a - b);
  t.metric(`chat list first paint (ms since navigation, 5 reloads, sorted): ${paints.join(', ')}; median ${paints[2]}`);
  await expectText(alice, '.chat-list li', 'Lost answer', 'the preview after reload');
  await openChatWith(alice, bobName.split('_')[0]);
  await bob.locator('.chat-list a').first().click();
  await expectText(bob, '.msg.theirs', 'Lost answer', 'the conversation on the phone');
  t.screenshot(alice);
  t.screenshot(bob, 'phone');
});

scenario('qr-login', async (t) => {
  const owner = await apiUser('olga');
  const friend = await apiUser('fred');
  const direct = await apiBefriend(owner, friend);
  const total = 160;
  for (let i = 1; i <= total; i += 1) {
    await apiSend(i % 2 ? owner : friend, direct, `history ${i}`);
  }
  const approver = await t.page({ viewport: DESKTOP });
  await logInInBrowser(approver, owner.username);

  const fresh = await t.page({ viewport: DESKTOP, name: 'new' });
  await fresh.goto(`${args.baseUrl}/#/login`);
  await fresh.click('[data-testid=qr-login-link]');
  await expectVisible(fresh, 'img.qr', 'the QR image');
  const loaded = await fresh.locator('img.qr').evaluate((img) => img.complete && img.naturalWidth > 0);
  if (!loaded) fail('the QR image did not load');
  const payload = (await fresh.locator('[data-testid=qr-payload]').textContent()).trim();
  if (!payload.startsWith('piazza-login:')) fail(`unexpected payload ${payload}`);
  await t.screenshotNow(fresh, 'page');

  await approver.click('a[href="#/devices"]');
  await approver.click('[data-testid=approve-link]');
  await approver.fill('#approve-payload', payload);
  await approver.click('form button[type=submit]');
  // First what the server saw of the fresh browser (its kind from its
  // User-Agent, its address, when it asked), not the name it gave itself;
  // nothing is approved until the explicit Approve under those facts.
  await expectVisible(approver, '[data-testid=login-review]', 'the login request under review');
  const fact = async (name) => (await approver.locator(`[data-testid=login-${name}]`).textContent()).trim();
  const browserKind = await fact('browser');
  if (!/^Chrome on (Linux|macOS|Windows)$/.test(browserKind)) fail(`the approver sees the browser as "${browserKind}"`);
  const address = await fact('address');
  if (!['127.0.0.1', '::1'].includes(address)) fail(`the approver sees the address as "${address}"`);
  if (!/\d/.test(await fact('requested-at'))) fail('the approver sees no time of asking');
  const review = await approver.locator('[data-testid=login-review]').textContent();
  if (review.includes('Web browser')) fail('the approver is shown the name the requesting page chose');
  const waiting = await call(owner.token, 'GET', '/devices');
  if (waiting.devices.length !== 2) fail(`approved before the confirmation: ${waiting.devices.length} devices`);
  t.metric(`qr-login: the approver sees ${browserKind} at ${address}`);
  await t.screenshotNow(approver, 'review');
  await approver.click('[data-testid=approve-confirm]');
  await expectVisible(approver, 'form .status:not(:empty)', 'the approval confirmation');

  // The new browser polls, becomes a device of the account, and rebuilds
  // the whole history from the server.
  await expectVisible(fresh, 'pz-chat-list', 'the chat list in the QR-logged-in browser');
  await expectText(fresh, '.chat-list li', `history ${total}`, 'the newest message as the preview');
  await fresh.locator('.chat-list a').first().click();
  await expectText(fresh, '.msg', `history ${total}`, 'the newest message');
  // Scroll up until the first message is loaded: pages come from the
  // history API; only rows near the viewport are ever in the DOM.
  let rowsMax = 0;
  for (let i = 0; i < 40; i += 1) {
    const found = await fresh.locator('.msg .text').filter({ hasText: /^history 1$/ }).count();
    rowsMax = Math.max(rowsMax, await fresh.locator('.msg').count());
    if (found) break;
    await fresh.locator('.messages').evaluate((el) => (el.scrollTop = 0));
    await fresh.waitForTimeout(150);
  }
  await expectText(fresh, '.msg .text', /^history 1$/, 'the first message after scrolling up');
  if (rowsMax >= total) fail(`the list is not virtualised: ${rowsMax} rows in the DOM`);
  t.metric(`qr-login: ${total} messages, at most ${rowsMax} rows in the DOM`);
  const devices = await call(owner.token, 'GET', '/devices');
  if (devices.devices.length !== 3) fail(`expected 3 devices, got ${devices.devices.length}`);
  t.screenshot(fresh);
});

scenario('group', async (t) => {
  const [owner, bea, carl] = [await apiUser('gina'), await apiUser('bea'), await apiUser('carl')];
  await apiBefriend(owner, bea);
  const ginaCarl = await apiBefriend(owner, carl);
  const ginaPage = await t.page({ viewport: DESKTOP });
  const beaPage = await t.page({ viewport: DESKTOP, name: 'bea' });
  const carlPage = await t.page({ viewport: PHONE, name: 'carl', locale: 'zh-CN' });
  await logInInBrowser(ginaPage, owner.username);
  await logInInBrowser(beaPage, bea.username);
  await logInInBrowser(carlPage, carl.username);
  // Carl's browser speaks Chinese: the language comes from navigator.language.
  await expectText(carlPage, '.areas a', '聊天', 'the Chinese navigation');

  const title = `Picnic ${run}`;
  await ginaPage.click('[data-testid=new-group]');
  await ginaPage.fill('#group-title', title);
  await ginaPage.check(`input[data-username="${bea.username}"]`);
  await ginaPage.check(`input[data-username="${carl.username}"]`);
  await ginaPage.click('.group-form button[type=submit]');
  await expectVisible(ginaPage, 'pz-conversation #composer', 'the new group');
  await expectText(ginaPage, '.subtitle', '3', 'three members');
  await sendInBrowser(ginaPage, 'Saturday at noon?');

  await openChatWith(beaPage, title);
  await expectText(beaPage, '.msg.theirs', 'Saturday at noon?', 'the group message at Bea');
  await openChatWith(carlPage, title);
  await expectText(carlPage, '.msg.theirs', 'Saturday at noon?', 'the group message at Carl');
  await sendInBrowser(beaPage, 'Yes!');
  await sendInBrowser(carlPage, 'I bring bread');
  await expectText(ginaPage, '.msg.theirs', 'Yes!', "Bea's answer at Gina");
  await expectText(ginaPage, '.msg.theirs', 'I bring bread', "Carl's answer at Gina");
  await expectText(beaPage, '.msg.theirs', 'I bring bread', "Carl's answer at Bea");

  // The owner removes Carl and adds him back; Bea leaves.
  await ginaPage.click('[data-testid=group-info]');
  await expectVisible(ginaPage, `.members li[data-account-id="${carl.account_id}"] button`, 'Carl in the member list');
  await ginaPage.click(`.members li[data-account-id="${carl.account_id}"] button`);
  await expectAttached(ginaPage, `#add-member option[value="${carl.account_id}"]`, 'Carl addable again');
  // Carl had the group open: it tells him he is out and stops his sending.
  await expectVisible(carlPage, 'pz-conversation textarea:disabled', "Carl's composer disabled after his removal");
  await carlPage.click('a.back');
  await carlPage.waitForFunction(
    (name) => ![...document.querySelectorAll('.chat-list li')].some((li) => li.textContent.includes(name)),
    title,
    { timeout: EXPECT_TIMEOUT_MS },
  ).catch(() => fail('the group still in Carl\'s list after his removal'));
  await ginaPage.selectOption('#add-member', carl.account_id);
  await ginaPage.click('.group-info form.inline button[type=submit]');
  await expectVisible(ginaPage, `.members li[data-account-id="${carl.account_id}"]`, 'Carl back in the group');
  await expectText(carlPage, '.chat-list li', title, 'the group back in Carl\'s list');

  await beaPage.click('[data-testid=group-info]');
  await beaPage.click('[data-testid=leave-group]');
  await expectUrl(beaPage, '#/chats');
  await beaPage.waitForFunction(
    (name) => ![...document.querySelectorAll('.chat-list li')].some((li) => li.textContent.includes(name)),
    title,
    { timeout: EXPECT_TIMEOUT_MS },
  ).catch(() => fail('the group still in Bea\'s list after she left'));
  const groups = await call(owner.token, 'GET', '/conversations');
  const group = groups.conversations.find((c) => c.title === title);
  if (group?.member_count !== 2) fail(`expected 2 members after Bea left, got ${group?.member_count}`);
  // Live reordering: a message in another conversation moves it to the top.
  await expectText(ginaPage, '.chat-list li:first-child', title, 'the group on top of Gina\'s list');
  await apiSend(carl, ginaCarl, 'Unrelated ping');
  await expectText(ginaPage, '.chat-list li:first-child', 'Unrelated ping', 'the direct chat moved to the top');
  await expectText(ginaPage, '.chat-list li:first-child .badge:not([hidden])', '1', 'its unread badge');
  await ginaPage.click(`.chat-list a[href="#/chats/${encodeURIComponent(group.conversation_id)}"]`);
  await expectText(ginaPage, '.msg.theirs', 'I bring bread', 'the group conversation again');
  t.screenshot(ginaPage);
});

scenario('revoked-device', async (t) => {
  const user = await apiUser('rita');
  const laptop = await t.page({ viewport: DESKTOP });
  const phone = await t.page({ viewport: PHONE, name: 'phone' });
  await logInInBrowser(laptop, user.username);
  await logInInBrowser(phone, user.username);
  const laptopDevice = await laptop.evaluate(() => JSON.parse(localStorage.getItem('piazza.accounts'))[0].device_id);
  await laptop.waitForFunction(() => document.querySelector('.sync-status')?.dataset.status === 'online', null, {
    timeout: EXPECT_TIMEOUT_MS,
  });

  await phone.click('a[href="#/devices"]');
  await phone.click(`.devices li[data-device-id="${laptopDevice}"] button`);
  // The laptop does nothing: its socket is closed by the server (4001) and
  // the page goes to the login page by itself.
  await expectUrl(laptop, '#/login');
  await expectVisible(laptop, '.notice', 'the "logged out" notice');
  const left = await laptop.evaluate(() => localStorage.getItem('piazza.accounts'));
  if (left && JSON.parse(left).length) fail(`the revoked token is still stored: ${left}`);
  // The phone is still in.
  await phone.reload();
  await expectVisible(phone, '.devices li', "the phone's device list");
  t.screenshot(laptop);
});

scenario('long-conversation', async (t) => {
  const reader = await apiUser('lena');
  const writer = await apiUser('walt');
  const direct = await apiBefriend(reader, writer);
  const total = 10_000;
  const parallel = 32;
  const setupStarted = Date.now();
  for (let next = 1; next <= total; next += parallel) {
    const batch = [];
    for (let i = next; i < next + parallel && i <= total; i += 1) {
      batch.push(apiSend(i % 3 ? writer : reader, direct, `line ${i} ${'lorem ipsum '.repeat(i % 7)}`));
    }
    await Promise.all(batch);
  }
  t.metric(`long-conversation: ${total} messages stored in ${Date.now() - setupStarted} ms`);
  const page = await t.page({ viewport: DESKTOP });
  await logInInBrowser(page, reader.username);
  await page.locator('.chat-list a').first().click();
  await expectText(page, '.msg .text', `line ${total}`, 'the newest message');

  // Load the whole history by scrolling to the top again and again.
  const loadStarted = Date.now();
  for (let i = 0; i < 400; i += 1) {
    if (await page.locator('.msg .text').filter({ hasText: /^line 1(\s|$)/ }).count()) break;
    await page.locator('.messages').evaluate((el) => (el.scrollTop = 0));
    await page.waitForTimeout(30);
  }
  await expectText(page, '.msg .text', /^line 1(\s|$)/, 'the first of 10,000 messages');
  const loadMs = Date.now() - loadStarted;

  // Then scroll down through it with the wheel, recording frame times.
  await page.hover('.messages');
  await page.evaluate(() => {
    window.__frames = [];
    const tick = (now) => {
      window.__frames.push(now);
      if (window.__frames.length < 100000) requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  });
  let rowsMax = 0;
  for (let i = 0; i < 120; i += 1) {
    await page.mouse.wheel(0, 900);
    await page.waitForTimeout(16);
    rowsMax = Math.max(rowsMax, await page.locator('.msg').count());
  }
  const frames = await page.evaluate(() => window.__frames);
  const deltas = frames.slice(1).map((now, i) => now - frames[i]).sort((a, b) => a - b);
  const at = (q) => deltas[Math.min(deltas.length - 1, Math.floor(q * deltas.length))].toFixed(1);
  t.metric(
    `long-conversation: whole history paged in ${loadMs} ms; wheel scroll over ${deltas.length} frames: ` +
      `p50 ${at(0.5)} ms, p95 ${at(0.95)} ms, max ${deltas[deltas.length - 1].toFixed(1)} ms; at most ${rowsMax} rows in the DOM`,
  );
  if (rowsMax > 200) fail(`the list is not virtualised: ${rowsMax} rows in the DOM`);
  t.screenshot(page);
});

scenario('sync-fallback', async (t) => {
  const reader = await apiUser('sam');
  const writer = await apiUser('tess');
  const direct = await apiBefriend(reader, writer);
  const page = await t.page({ viewport: DESKTOP });
  // A network that refuses WebSockets: the client must fall back to
  // long-polling /sync and still get every message live.
  await page.context().routeWebSocket('**/api/v1/ws**', (socket) => socket.close({ code: 1011, reason: 'blocked' }));
  await logInInBrowser(page, reader.username);
  await page.waitForFunction(() => document.querySelector('.sync-status')?.dataset.status === 'polling', null, {
    timeout: EXPECT_TIMEOUT_MS,
  }).catch(() => fail('the client did not fall back to long-polling'));
  await page.locator('.chat-list a').first().click();
  await expectVisible(page, 'pz-conversation #composer', 'the conversation');
  await apiSend(writer, direct, 'Through long-polling');
  await expectText(page, '.msg.theirs', 'Through long-polling', 'the message delivered by /sync');
  await sendInBrowser(page, 'Sent over plain HTTP');
  t.screenshot(page);
});

scenario('accounts-menu', async (t) => {
  const first = await apiUser('ann');
  const second = await apiUser('ben');
  const page = await t.page({ viewport: DESKTOP });
  await logInInBrowser(page, first.username);
  await expectText(page, '[data-testid=account-menu]', 'ann', 'the first account in the header');

  // The language can be switched from the menu.
  await page.click('[data-testid=account-menu]');
  await page.selectOption('.menu-language select', 'it');
  await expectText(page, '.areas a', 'Contatti', 'the Italian navigation');

  // A second account in the same browser, from the menu.
  await page.click('[data-testid=account-menu]');
  await page.click('[data-testid=add-account]');
  await expectUrl(page, '#/login');
  await page.fill('#f-username', second.username);
  await page.fill('#f-password', PASSWORD);
  await page.click('form button[type=submit]');
  await expectText(page, '[data-testid=account-menu]', 'ben', 'the second account in the header');

  // Switch back, then log the first one out: the second one remains.
  await page.click('[data-testid=account-menu]');
  await page.click(`[data-switch="${first.username}"]`);
  await expectText(page, '[data-testid=account-menu]', 'ann', 'switched back to the first account');
  await page.click('[data-testid=account-menu]');
  await page.click('[data-testid=log-out]');
  await expectText(page, '[data-testid=account-menu]', 'ben', 'the second account after logging out the first');
  const stored = await page.evaluate(() => JSON.parse(localStorage.getItem('piazza.accounts')).map((a) => a.username));
  if (stored.join() !== second.username) fail(`accounts left in the browser: ${stored}`);
  // Logging out revoked that browser's device on the server.
  const devices = await call(first.token, 'GET', '/devices');
  if (devices.devices.length !== 1) fail(`the logged-out device is still listed: ${JSON.stringify(devices)}`);
  t.screenshot(page);
});

scenario('image', async (t) => {
  const ann = await apiUser('ann');
  const bob = await apiUser('bob');
  await apiBefriend(ann, bob);
  const annPage = await t.page({ viewport: DESKTOP });
  const bobPage = await t.page({ viewport: PHONE, name: 'bob' });
  await logInInBrowser(annPage, ann.username);
  await logInInBrowser(bobPage, bob.username);
  await openChatWith(bobPage, `ann ${run}`);
  await openChatWith(annPage, `bob ${run}`);

  // A small PNG drawn in the page (a red card with a white square).
  const png = await annPage.evaluate(async () => {
    const canvas = new OffscreenCanvas(96, 64);
    const g = canvas.getContext('2d');
    g.fillStyle = '#d33';
    g.fillRect(0, 0, 96, 64);
    g.fillStyle = '#fff';
    g.fillRect(24, 16, 48, 32);
    const bytes = new Uint8Array(await (await canvas.convertToBlob({ type: 'image/png' })).arrayBuffer());
    let binary = '';
    for (const byte of bytes) binary += String.fromCharCode(byte);
    return btoa(binary);
  });
  // The first send fails on the way (the upload went through): the row
  // shows as failed, and Retry sends the same client_msg_id and media id
  // without uploading again, so one message is stored.
  const uploads = [];
  const sends = [];
  await annPage.route('**/api/v1/media', (route) => {
    uploads.push(route.request().headers()['content-type']);
    return route.continue();
  });
  await annPage.route('**/api/v1/conversations/*/messages', async (route) => {
    if (route.request().method() !== 'POST') return route.continue();
    sends.push(route.request().postDataJSON());
    return sends.length > 1 ? route.continue() : route.abort('connectionreset');
  });
  await annPage.fill('#composer', 'a red card');
  await annPage.setInputFiles('[data-testid=attach-input]', {
    name: 'card.png',
    mimeType: 'image/png',
    buffer: Buffer.from(png, 'base64'),
  });
  await expectVisible(annPage, '.msg.mine[data-status=failed] img[data-testid=chat-image]', "Ann's image, failed");
  await annPage.click('.msg.mine[data-status=failed] button.retry');
  await expectVisible(annPage, '.msg.mine[data-status=sent] img[data-testid=chat-image]', "Ann's image, sent");
  await annPage.unroute('**/api/v1/conversations/*/messages');
  await annPage.unroute('**/api/v1/media');
  const [first, second] = sends;
  if (uploads.join() !== 'image/png') fail(`uploads: ${JSON.stringify(uploads)}`);
  if (sends.length !== 2 || first.client_msg_id !== second.client_msg_id || !first.media_id || first.media_id !== second.media_id) {
    fail(`the retry did not repeat the send: ${JSON.stringify(sends)}`);
  }

  // Bob sees it arrive live and render from a blob: URL, captioned.
  const rendered = async (page, who) => {
    try {
      await page.waitForFunction(
        () => {
          const img = document.querySelector('.msg img[data-testid=chat-image]');
          return img && img.complete && img.naturalWidth === 96 && img.src.startsWith('blob:');
        },
        null,
        { timeout: EXPECT_TIMEOUT_MS },
      );
    } catch {
      fail(`${who}: the image did not render within ${EXPECT_TIMEOUT_MS} ms`);
    }
  };
  await rendered(bobPage, 'Bob');
  await expectText(bobPage, '.msg.theirs figcaption', 'a red card', 'the caption at Bob');
  const alt = await bobPage.getAttribute('.msg.theirs img[data-testid=chat-image]', 'alt');
  if (alt !== 'a red card') fail(`the image's alt text is "${alt}"`);
  // Stored as an image message pointing at the upload.
  const history = await call(bob.token, 'GET', `/conversations/${await apiDirect(ann, bob)}/messages?limit=5`);
  const images = history.messages.filter((message) => message.kind === 'image');
  if (images.length !== 1 || images[0].ref !== first.media_id) {
    fail(`not one image message naming the upload: ${JSON.stringify(history)}`);
  }
  t.screenshot(bobPage);
});

/** The direct conversation of two contacts (opening it again finds the same one). */
async function apiDirect(a, b) {
  return (await call(a.token, 'POST', '/conversations/direct', { peer: b.account_id })).conversation_id;
}

// ------------------------------------------------------------ wallet scenarios

async function expectBalance(page, minor, what) {
  const text = `¥${Math.trunc(minor / 100)}.${String(minor % 100).padStart(2, '0')}`;
  await expectText(page, '[data-testid=wallet-balance]', text, `${what}: balance ${text}`);
}

async function openWallet(page) {
  await page.click('a[href="#/wallet"]');
  await expectVisible(page, '[data-testid=wallet-balance]', 'the wallet page');
}

/**
 * Reads a Code 128 barcode back from the bars the page drew (`M<x> 0h<w>…`
 * per bar), with its own copy of the symbol table: the digits, or a failure
 * naming what is wrong (an unknown symbol, a bad check value, no stop).
 */
const CODE128_TABLE = `212222 222122 222221 121223 121322 131222 122213 122312 132212 221213 221312 231212 112232 122132 122231
113222 123122 123221 223211 221132 221231 213212 223112 312131 311222 321122 321221 312212 322112 322211 212123 212321 232121 111323
131123 131321 112313 132113 132311 211313 231113 231311 112133 112331 132131 113123 113321 133121 313121 211331 231131 213113 213311
213131 311123 311321 331121 312113 312311 332111 314111 221411 431111 111224 111422 121124 121421 141122 141221 112214 112412 122114
122411 142112 142211 241211 221114 413111 241112 134111 111242 121142 121241 114212 124112 124211 411212 421112 421211 212141 214121
412121 111143 111341 131141 114113 114311 411113 411311 113141 114131 311141 411131 211412 211214 211232`.split(/\s+/);

function decodeCode128C(pathData) {
  const bars = [...pathData.matchAll(/M(\d+) 0h(\d+)/g)].map((m) => [Number(m[1]), Number(m[2])]);
  const widths = [];
  bars.forEach(([x, width], i) => {
    if (i > 0) widths.push(x - (bars[i - 1][0] + bars[i - 1][1]));
    widths.push(width);
  });
  const stop = widths.splice(-7).join('');
  if (stop !== '2331112') fail(`the barcode does not end with a stop symbol (${stop})`);
  const values = [];
  for (let i = 0; i < widths.length; i += 6) {
    const value = CODE128_TABLE.indexOf(widths.slice(i, i + 6).join(''));
    if (value < 0) fail(`unknown Code 128 symbol ${widths.slice(i, i + 6).join('')}`);
    values.push(value);
  }
  const [start, ...rest] = values;
  const check = rest.pop();
  if (start !== 105) fail(`the barcode does not start in set C (${start})`);
  const sum = rest.reduce((total, value, i) => total + value * (i + 1), start);
  if (sum % 103 !== check) fail(`bad Code 128 check value ${check}, expected ${sum % 103}`);
  return rest.map((value) => String(value).padStart(2, '0')).join('');
}

scenario('red-packet', async (t) => {
  const ann = await apiUser('ann');
  const bob = await apiUser('bob');
  const cat = await apiUser('cat');
  await apiBefriend(ann, bob);
  await apiBefriend(ann, cat);
  const title = `Lunch club ${run}`;
  await call(ann.token, 'POST', '/conversations', { title, members: [bob.account_id, cat.account_id] });
  const annPage = await t.page({ viewport: DESKTOP });
  const bobPage = await t.page({ viewport: PHONE, name: 'bob' });
  const catPage = await t.page({ viewport: DESKTOP, name: 'cat', locale: 'zh-CN' });
  await logInInBrowser(annPage, ann.username);
  await logInInBrowser(bobPage, bob.username);
  await logInInBrowser(catPage, cat.username);

  // Ann sets her payment PIN (her password proves it is her) and tops up.
  await openWallet(annPage);
  await expectBalance(annPage, 0, 'Ann before topping up');
  const pins = annPage.locator('[data-testid=pin-form] [data-testid=pin-input]');
  await pins.nth(0).fill(PIN);
  await pins.nth(1).fill(PIN);
  await annPage.fill('[data-testid=pin-password]', PASSWORD);
  await annPage.click('[data-testid=pin-form] button[type=submit]');
  await expectVisible(annPage, '[data-testid=pin-form] .status:not(:empty)', 'the "PIN set" line');
  await annPage.fill('[data-testid=topup-form] input', '100');
  await annPage.click('[data-testid=topup-form] button[type=submit]');
  await expectBalance(annPage, 10000, 'Ann after topping up');
  await expectVisible(annPage, '[data-testid=statement] li[data-kind=topup]', 'the top-up in the statement');

  // A lucky red packet of 10.00 in 3 shares into the group.
  await openChatWith(annPage, title);
  await annPage.click('[data-testid=send-money]');
  await annPage.click('[data-testid=choose-red-packet]');
  const form = annPage.locator('[data-testid=red-packet-form]');
  await form.locator('[data-testid=total-input]').fill('10.00');
  await form.locator('input[name=count]').fill('3');
  await form.locator('select[name=mode]').selectOption('lucky');
  await form.locator('input[name=greeting]').fill('Lunch is on me');
  await form.locator('[data-testid=pin-input]').fill(PIN);
  await form.locator('[data-testid=money-submit]').click();
  await expectText(annPage, 'pz-red-packet-card', 'Lunch is on me', "the red packet in Ann's chat");

  // Bob (phone) and Cat (Chinese) open it in their own browsers.
  const amounts = {};
  for (const [who, page] of [['bob', bobPage], ['cat', catPage]]) {
    await openChatWith(page, title);
    await expectVisible(page, 'pz-red-packet-card [data-testid=red-packet-open]', `the Open button at ${who}`);
    await page.click('pz-red-packet-card [data-testid=red-packet-open]');
    await expectVisible(page, 'pz-red-packet-card [data-testid=red-packet-mine]', `${who}'s share`);
    amounts[who] = shownMinor(await page.locator('pz-red-packet-card [data-testid=red-packet-mine]').first().textContent());
  }
  await t.screenshotNow(bobPage, 'bob');
  // Ann takes the last share, then reads the details.
  await annPage.click('pz-red-packet-card [data-testid=red-packet-open]');
  await expectVisible(annPage, 'pz-red-packet-card [data-testid=red-packet-mine]', "Ann's share");
  amounts.ann = shownMinor(await annPage.locator('pz-red-packet-card [data-testid=red-packet-mine]').first().textContent());
  await annPage.click('pz-red-packet-card [data-testid=red-packet-details]');
  const dialog = annPage.locator('[data-testid=red-packet-dialog]');
  await expectVisible(annPage, '[data-testid=red-packet-dialog] .claims li', 'the claims in the details');
  await expectText(annPage, '[data-testid=red-packet-summary]', '3 of 3', 'all three shares taken');
  const claims = await dialog.locator('.claims li').evaluateAll((items) =>
    items.map((li) => ({ account: li.dataset.accountId, minor: Number(li.dataset.amountMinor), text: li.textContent })),
  );
  const byAccount = Object.fromEntries(claims.map((claim) => [claim.account, claim]));
  for (const [who, user] of [['ann', ann], ['bob', bob], ['cat', cat]]) {
    const claim = byAccount[user.account_id];
    if (!claim) fail(`${who} missing from the details: ${JSON.stringify(claims)}`);
    if (claim.minor !== amounts[who] || shownMinor(claim.text) !== amounts[who]) {
      fail(`${who} saw ${amounts[who]} but the details say ${JSON.stringify(claim)}`);
    }
  }
  const sum = amounts.ann + amounts.bob + amounts.cat;
  if (sum !== 1000) fail(`the shares ${JSON.stringify(amounts)} sum to ${sum}, not 1000`);
  t.metric(`red-packet: shares ${JSON.stringify(amounts)} (minor units), sum ${sum}`);
  // The money really moved: each wallet holds its share.
  if ((await apiBalance(bob)) !== amounts.bob) fail("Bob's wallet does not hold his share");
  if ((await apiBalance(ann)) !== 10000 - 1000 + amounts.ann) fail("Ann's wallet is off");
  t.screenshot(annPage);
});

scenario('transfer', async (t) => {
  const ann = await apiUser('ann');
  const bob = await apiUser('bob');
  await apiBefriend(ann, bob);
  await apiFund(ann, 10000);
  const annPage = await t.page({ viewport: DESKTOP });
  const bobPage = await t.page({ viewport: PHONE, name: 'bob' });
  await logInInBrowser(annPage, ann.username);
  await logInInBrowser(bobPage, bob.username);
  // A second tab in each browser keeps the wallet open, to see it change live.
  const annWallet = await annPage.context().newPage();
  const bobWallet = await bobPage.context().newPage();
  await annWallet.goto(`${args.baseUrl}/#/wallet`);
  await bobWallet.goto(`${args.baseUrl}/#/wallet`);
  await expectBalance(annWallet, 10000, 'Ann before');
  await expectBalance(bobWallet, 0, 'Bob before');

  await openChatWith(annPage, `bob ${run}`);
  await annPage.click('[data-testid=send-money]');
  await annPage.click('[data-testid=choose-transfer]');
  const form = annPage.locator('[data-testid=transfer-dialog]');
  await form.locator('[data-testid=amount-input]').fill('12.345');
  await form.locator('input[name=note]').fill('for lunch');
  await form.locator('[data-testid=pin-input]').fill(PIN);
  await form.locator('[data-testid=money-submit]').click();
  // Three decimals are refused before anything is sent.
  await expectVisible(annPage, '[data-testid=transfer-dialog] .error:not(:empty)', 'the "two decimals" error');
  await form.locator('[data-testid=amount-input]').fill('12.34');
  await form.locator('[data-testid=money-submit]').click();
  await expectVisible(annPage, 'pz-transfer-card[data-status=pending]', "the pending transfer in Ann's chat");
  await expectBalance(annWallet, 8766, 'Ann after sending (live)');

  await openChatWith(bobPage, `ann ${run}`);
  await expectText(bobPage, 'pz-transfer-card [data-testid=transfer-amount]', '¥12.34', 'the amount at Bob');
  await bobPage.click('pz-transfer-card [data-testid=transfer-accept]');
  await expectVisible(bobPage, 'pz-transfer-card[data-status=accepted]', 'accepted at Bob');
  await expectVisible(annPage, 'pz-transfer-card[data-status=accepted]', 'accepted at Ann (live)');
  await expectBalance(bobWallet, 1234, 'Bob after accepting (live)');
  await expectBalance(annWallet, 8766, 'Ann after the acceptance');
  await expectVisible(bobWallet, '[data-testid=statement] li[data-kind=transfer_accepted]', "the transfer in Bob's statement");
  if ((await apiBalance(bob)) !== 1234) fail("Bob's wallet does not hold the transfer");
  await t.screenshotNow(annWallet, 'ann-wallet');
  t.screenshot(bobPage);
});

scenario('payment-code', async (t) => {
  const shop = await apiUser('shop');
  const buyer = await apiUser('buyer');
  await apiFund(buyer, 100000);
  const merchant = await call(shop.token, 'POST', '/merchants', { name: `Corner ${run}`.slice(0, 25) });
  const page = await t.page({ viewport: PHONE });
  await logInInBrowser(page, buyer.username);
  await openWallet(page);
  await page.click('[data-testid=wallet-code-link]');
  // No code without the PIN: this browser never typed it.
  await expectVisible(page, '[data-testid=code-pin-form]', 'the PIN asked before the code');
  await page.fill('[data-testid=code-pin-form] [data-testid=pin-input]', '000000');
  await page.click('[data-testid=code-pin-form] button[type=submit]');
  await expectVisible(page, '[data-testid=code-pin-form] .error:not(:empty)', 'the wrong PIN refused');
  await page.fill('[data-testid=code-pin-form] [data-testid=pin-input]', PIN);
  await page.click('[data-testid=code-pin-form] button[type=submit]');
  await expectVisible(page, 'img[data-testid=payment-code-qr]', 'the payment code as a QR code');
  await expectVisible(page, 'svg.barcode', 'the payment code as a barcode');
  const first = await page.locator('pz-payment-code').getAttribute('data-code');
  if (!/^\d{18}$/.test(first ?? '')) fail(`the page shows no 18-digit code: ${first}`);
  const digits = (await page.locator('[data-testid=payment-code-digits]').textContent()).replace(/\s/g, '');
  if (digits !== first) fail(`the digits shown (${digits}) are not the code (${first})`);
  const barcode = decodeCode128C(await page.locator('pz-payment-code svg.barcode path').getAttribute('d'));
  if (barcode !== first) fail(`the barcode reads ${barcode}, not ${first}`);
  const loaded = await page.locator('img[data-testid=payment-code-qr]').evaluate((img) => img.complete && img.naturalWidth > 0);
  if (!loaded) fail('the QR image did not load');

  // The merchant's till collects 5.50 (under the no-PIN limit): done at once.
  const small = await call(shop.token, 'POST', `/merchants/${merchant.merchant_id}/collect`, { payment_code: first, amount_minor: 550 }, { 'Idempotency-Key': randomUUID() });
  if (small.status !== 'completed') fail(`collect answered ${JSON.stringify(small)}`);
  await expectBalance(page, 100000 - 550, 'the buyer after the till collected');
  // Announced on top of the page, with the merchant and the amount.
  await expectText(page, '[data-testid=money-alert]', '¥5.50 paid to Corner', 'the payment alert, with the merchant');
  // A used code is replaced at once (the PIN typed a moment ago still counts).
  await page.waitForFunction((old) => {
    const code = document.querySelector('pz-payment-code')?.dataset.code;
    return code && code !== old;
  }, first, { timeout: EXPECT_TIMEOUT_MS }).catch(() => fail('the used code was not replaced'));
  const second = await page.locator('pz-payment-code').getAttribute('data-code');
  await t.screenshotNow(page, 'paid');

  // Above the no-PIN limit (500.00) the buyer confirms with the PIN.
  const large = await call(shop.token, 'POST', `/merchants/${merchant.merchant_id}/collect`, { payment_code: second, amount_minor: 60000 }, { 'Idempotency-Key': randomUUID() });
  if (large.status !== 'needs_confirmation') fail(`a large collect answered ${JSON.stringify(large)}`);
  await expectVisible(page, '[data-testid=confirm-dialog]', 'the confirmation dialog');
  await expectText(page, '[data-testid=confirm-text]', 'Corner', 'the merchant named in the dialog');
  await page.fill('[data-testid=confirm-dialog] [data-testid=pin-input]', PIN);
  await page.click('[data-testid=confirm-payment]');
  await expectBalance(page, 100000 - 550 - 60000, 'the buyer after confirming');
  const payment = await call(shop.token, 'GET', `/payments/${large.payment_id}`);
  if (payment.status !== 'completed') fail(`the confirmed payment is ${payment.status}`);
  t.screenshot(page);
});

scenario('collection-alert', async (t) => {
  // A till collects from a code shown on the buyer's other device: the
  // browser, on another page altogether, announces each collection at once,
  // and one past the day's no-PIN cap waits for the buyer, who declines it.
  const shop = await apiUser('shop');
  const buyer = await apiUser('buyer');
  await apiFund(buyer, 500000);
  const name = `Night ${run}`.slice(0, 25);
  const merchant = await call(shop.token, 'POST', '/merchants', { name });
  const page = await t.page({ viewport: DESKTOP });
  await logInInBrowser(page, buyer.username);
  await page.click('a[href="#/contacts"]');
  const collect = async (amountMinor) => {
    const code = await call(buyer.token, 'POST', '/wallet/payment-code', { pin: PIN });
    return call(shop.token, 'POST', `/merchants/${merchant.merchant_id}/collect`, { payment_code: code.code, amount_minor: amountMinor }, { 'Idempotency-Key': randomUUID() });
  };
  const first = await collect(30000);
  if (first.status !== 'completed') fail(`the first collection answered ${JSON.stringify(first)}`);
  await expectText(page, `[data-testid=money-alert][data-payment-id="${first.payment_id}"]`, '¥300.00', 'the first collection announced');
  await expectText(page, `[data-testid=money-alert][data-payment-id="${first.payment_id}"]`, name, 'with the merchant named');
  // 300.00 + 400.00 stays within the day's 1,000.00 without the PIN; one
  // more 400.00 would pass it, so it waits for the buyer.
  const second = await collect(40000);
  if (second.status !== 'completed') fail(`the second collection answered ${JSON.stringify(second)}`);
  const third = await collect(40000);
  if (third.status !== 'needs_confirmation') fail(`past the day's cap a collection answered ${JSON.stringify(third)}`);
  await expectVisible(page, `[data-testid=money-alert][data-payment-id="${third.payment_id}"]`, 'the waiting collection announced');
  await expectVisible(page, '[data-testid=confirm-dialog]', 'the confirmation dialog over the contacts page');
  await expectText(page, '[data-testid=confirm-text]', '¥400.00', 'the amount asked');
  await t.screenshotNow(page, 'asked');
  await page.click('[data-testid=decline-payment]');
  await page.locator('[data-testid=confirm-dialog]').waitFor({ state: 'detached', timeout: EXPECT_TIMEOUT_MS });
  const declined = await call(shop.token, 'GET', `/payments/${third.payment_id}`);
  if (declined.status !== 'declined') fail(`the declined collection is ${declined.status}`);
  if ((await apiBalance(buyer)) !== 500000 - 70000) fail('the buyer paid other than the two collections');
  // Alerts stay until dismissed.
  await page.click(`[data-testid=money-alert][data-payment-id="${first.payment_id}"] .alert-dismiss`);
  await page.locator(`[data-testid=money-alert][data-payment-id="${first.payment_id}"]`).waitFor({ state: 'detached', timeout: EXPECT_TIMEOUT_MS });
  t.screenshot(page);
});

scenario('pin-reset', async (t) => {
  // The PIN card: change with the current PIN; forgot it, reset with the
  // password and read the wait; money held (the payment code refuses);
  // the current PIN cancels the reset.
  const ann = await apiUser('ann');
  await apiFund(ann, 10000);
  const NEW_PIN = '246813';
  const page = await t.page({ viewport: PHONE });
  await logInInBrowser(page, ann.username);
  await openWallet(page);
  const form = page.locator('[data-testid=pin-form][data-mode=change]');
  await form.waitFor({ state: 'visible', timeout: EXPECT_TIMEOUT_MS }).catch(() => fail('no "change PIN" form for a set PIN'));
  let pins = form.locator('[data-testid=pin-input]');
  await pins.nth(0).fill('000000');
  await pins.nth(1).fill(NEW_PIN);
  await pins.nth(2).fill(NEW_PIN);
  await form.locator('button[type=submit]').click();
  await expectText(page, '[data-testid=pin-form] .error', 'Wrong payment PIN', 'a wrong current PIN refused');
  await pins.nth(0).fill(PIN);
  await form.locator('button[type=submit]').click();
  await expectText(page, '[data-testid=pin-form] .status', 'changed', 'the PIN changed');

  // Forgotten: the password resets it, after a wait the card explains first.
  await page.click('[data-testid=pin-forgot]');
  const reset = page.locator('[data-testid=pin-form][data-mode=reset]');
  await expectText(page, '[data-testid=pin-form][data-mode=reset] .hint', 'no money can leave', 'the wait explained');
  pins = reset.locator('[data-testid=pin-input]');
  await pins.nth(0).fill(PIN);
  await pins.nth(1).fill(PIN);
  await reset.locator('[data-testid=pin-password]').fill(PASSWORD);
  await reset.locator('button[type=submit]').click();
  await expectText(page, '[data-testid=pin-form] .status', 'takes effect at', 'when the new PIN works');
  await expectVisible(page, '[data-testid=pin-reset-banner]', 'the banner while money is held');
  await expectVisible(page, '[data-testid=money-alert][data-type="wallet.pin_reset"]', 'the alert every device gets');
  await t.screenshotNow(page, 'held');
  const wallet = await call(ann.token, 'GET', '/wallet');
  if (!wallet.pin_reset_effective_at) fail(`the server holds no reset: ${JSON.stringify(wallet)}`);

  // Money is held: the page shows no payment code, and says why.
  await page.click('[data-testid=wallet-code-link]');
  await expectText(page, 'pz-payment-code .status', 'being reset', 'the code refused during the wait');
  if (await page.locator('img[data-testid=payment-code-qr]').count()) fail('a code was shown during the wait');

  // The owner still knows the current PIN: changing it cancels the reset.
  await openWallet(page);
  const change = page.locator('[data-testid=pin-form][data-mode=change]');
  pins = change.locator('[data-testid=pin-input]');
  await pins.nth(0).fill(NEW_PIN);
  await pins.nth(1).fill(NEW_PIN);
  await pins.nth(2).fill(NEW_PIN);
  await change.locator('button[type=submit]').click();
  await page.locator('[data-testid=pin-reset-banner]').waitFor({ state: 'hidden', timeout: EXPECT_TIMEOUT_MS }).catch(() => fail('the banner stayed after the cancel'));
  const after = await call(ann.token, 'GET', '/wallet');
  if (after.pin_reset_effective_at) fail(`the reset was not cancelled: ${JSON.stringify(after)}`);
  t.screenshot(page);
});

scenario('merchant-pay', async (t) => {
  const shop = await apiUser('shop');
  const buyer = await apiUser('buyer');
  await apiFund(buyer, 10000);
  const shopPage = await t.page({ viewport: DESKTOP, name: 'shop' });
  const buyerPage = await t.page({ viewport: PHONE, name: 'buyer' });
  await logInInBrowser(shopPage, shop.username);
  await logInInBrowser(buyerPage, buyer.username);

  // The shop opens a merchant and shows its code (to print, or as text).
  await openWallet(shopPage);
  await shopPage.click('[data-testid=wallet-merchant-link]');
  await shopPage.fill('#merchant-name', 'Noodle Bar');
  await shopPage.fill('#merchant-city', 'Shanghai');
  await shopPage.click('[data-testid=merchant-form] button[type=submit]');
  await expectVisible(shopPage, 'img[data-testid=merchant-qr]', "the merchant's QR code");
  await expectVisible(shopPage, '[data-testid=merchant-print]', 'the Print button');
  const loaded = await shopPage.locator('img[data-testid=merchant-qr]').evaluate((img) => img.complete && img.naturalWidth > 0);
  if (!loaded) fail("the merchant's QR image did not load");
  const payload = (await shopPage.locator('[data-testid=merchant-payload]').textContent()).trim();
  if (!payload.startsWith('000201')) fail(`not an EMVCo payload: ${payload}`);
  await expectText(shopPage, '[data-testid=merchant-balance]', '¥0.00', 'the empty till');

  // The buyer pastes it and pays 8.80. The first answer is lost on the way
  // back: paying again reuses the idempotency key, so it is paid once.
  await openWallet(buyerPage);
  await buyerPage.click('[data-testid=wallet-pay-link]');
  await buyerPage.fill('#pay-payload', payload);
  await expectText(buyerPage, '[data-testid=pay-preview]', 'Noodle Bar', 'the merchant named before paying');
  await buyerPage.fill('[data-testid=pay-amount-input]', '8.80');
  await buyerPage.fill('[data-testid=pay-form] [data-testid=pin-input]', PIN);
  const keys = [];
  let loseAnswer = true;
  await buyerPage.route('**/api/v1/payments', async (route) => {
    keys.push(route.request().headers()['idempotency-key']);
    if (!loseAnswer) return route.continue();
    loseAnswer = false;
    await route.fetch();
    return route.abort('connectionreset');
  });
  await buyerPage.click('[data-testid=pay-submit]');
  await expectVisible(buyerPage, '[data-testid=pay-form] .error:not(:empty)', 'the failed attempt');
  await buyerPage.click('[data-testid=pay-submit]');
  await expectText(buyerPage, '[data-testid=pay-done]', '8.80', 'the payment done');
  if (keys.length !== 2 || keys[0] !== keys[1] || !keys[0]) fail(`the retry did not reuse the key: ${keys}`);
  if ((await apiBalance(buyer)) !== 10000 - 880) fail('the buyer paid other than once');
  await expectText(shopPage, '[data-testid=merchant-balance]', '¥8.80', 'the till after the payment (live)');
  await t.screenshotNow(shopPage, 'shop');
  // Printed, the page is the merchant's sheet alone.
  await shopPage.emulateMedia({ media: 'print' });
  if (await shopPage.locator('.topbar').isVisible()) fail('the header is printed');
  if (await shopPage.locator('[data-testid=merchant-form]').isVisible()) fail('the form is printed');
  await expectVisible(shopPage, 'img[data-testid=merchant-qr]', 'the QR code on the printed sheet');
  await t.screenshotNow(shopPage, 'print');
  await shopPage.emulateMedia({ media: 'screen' });
  t.screenshot(buyerPage);
});

// ------------------------------------------------------------------ runner

/** Checks the message catalogs before any browser starts. */
function checkCatalogs() {
  const catalogs = Object.fromEntries(
    ['en', 'zh', 'it'].map((code) => [code, JSON.parse(readFileSync(join(assets, `i18n/${code}.json`), 'utf8'))]),
  );
  const problems = [];
  const english = Object.keys(catalogs.en);
  for (const [code, catalog] of Object.entries(catalogs)) {
    for (const key of english) if (!catalog[key]) problems.push(`${code}: missing ${key}`);
    for (const key of Object.keys(catalog)) if (!(key in catalogs.en)) problems.push(`${code}: extra ${key}`);
  }
  const files = [];
  const walk = (dir) => {
    for (const entry of readdirSync(dir)) {
      const path = join(dir, entry);
      if (statSync(path).isDirectory()) walk(path);
      else if (path.endsWith('.js')) files.push(path);
    }
  };
  walk(assets);
  for (const file of files) {
    const source = readFileSync(file, 'utf8');
    for (const [, key] of source.matchAll(/\bt\('([a-z_]+\.[a-z_.]+)'/g)) {
      if (!(key in catalogs.en)) problems.push(`${file.slice(repo.length + 1)}: t('${key}') not in the catalog`);
    }
  }
  if (problems.length) fail(`message catalogs:\n  ${problems.join('\n  ')}`);
}

async function runScenario(browser, { name, body }) {
  const contexts = [];
  const shots = [];
  const consoleErrors = [];
  const t = {
    async page({ viewport, name: label = null, locale = 'en-US' }) {
      const context = await browser.newContext({ viewport, locale });
      await context.tracing.start({ screenshots: true, snapshots: true });
      contexts.push(context);
      const page = await context.newPage();
      page.on('pageerror', (error) => consoleErrors.push(`${label ?? 'main'}: ${error.message}`));
      page.on('console', (message) => {
        if (message.type() === 'error') consoleErrors.push(`${label ?? 'main'}: ${message.text()}`);
      });
      return page;
    },
    screenshot(page, suffix = null) {
      shots.push({ page, file: join(args.out, suffix ? `${name}-${suffix}.png` : `${name}.png`) });
    },
    /** A screenshot of the page as it is now (the end state gets its own). */
    async screenshotNow(page, suffix) {
      const file = join(args.out, `${name}-${suffix}.png`);
      await page.screenshot({ path: file });
      console.log(`  saved ${file}`);
    },
    metric(line) {
      console.log(`  · ${line}`);
    },
  };
  const started = Date.now();
  let error = null;
  let timer;
  try {
    await Promise.race([
      body(t),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${SCENARIO_TIMEOUT_MS} ms`)), SCENARIO_TIMEOUT_MS);
      }),
    ]);
    // Uncaught exceptions in the page are failures; console errors from
    // refused connections (a revoked socket, a 401) are expected noise.
    const thrown = consoleErrors.filter((line) => !/Failed to load resource|WebSocket/.test(line));
    if (thrown.length) throw new Error(`errors in the page:\n  ${thrown.join('\n  ')}`);
  } catch (caught) {
    error = caught;
  } finally {
    clearTimeout(timer);
  }
  if (!shots.length && contexts.length) {
    const pages = contexts[0].pages();
    if (pages.length) shots.push({ page: pages[0], file: join(args.out, `${name}.png`) });
  }
  const files = [];
  for (const shot of shots) {
    try {
      await shot.page.screenshot({ path: shot.file });
      files.push(shot.file);
    } catch (screenshotError) {
      console.error(`  screenshot ${shot.file}: ${screenshotError.message}`);
    }
  }
  for (const [index, context] of contexts.entries()) {
    try {
      if (error) {
        const path = join(args.out, index ? `${name}-trace-${index + 1}.zip` : `${name}-trace.zip`);
        await context.tracing.stop({ path });
        files.push(path);
      } else {
        await context.tracing.stop();
      }
    } catch {
      // A context that crashed has no trace to give.
    }
    await context.close().catch(() => {});
  }
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  if (error) {
    console.error(`✗ ${name} (${seconds} s): ${error.stack ?? error}`);
    if (consoleErrors.length) console.error(`  page console:\n    ${consoleErrors.join('\n    ')}`);
  } else {
    console.log(`✓ ${name} (${seconds} s)`);
  }
  for (const file of files) console.log(`  saved ${file}`);
  return !error;
}

async function main() {
  mkdirSync(args.out, { recursive: true });
  checkCatalogs();
  const health = await fetch(`${args.baseUrl}/healthz`).catch((error) => fail(`server at ${args.baseUrl}: ${error.message}`));
  if (!health.ok) fail(`server at ${args.baseUrl}: /healthz ${health.status}`);
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // Containers often run tests as root, where chromium's sandbox cannot start.
    args: ['--no-sandbox'],
  });
  const started = Date.now();
  let failed = 0;
  try {
    for (const one of scenarios) {
      if (args.only && one.name !== args.only) continue;
      if (!(await runScenario(browser, one))) failed += 1;
    }
  } finally {
    await browser.close();
  }
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  console.log(`${failed ? 'FAILED' : 'passed'}: ${failed} of ${args.only ? 1 : scenarios.length} scenarios failed, ${seconds} s`);
  process.exitCode = failed ? 1 : 0;
}

main().catch((error) => {
  console.error(error.stack ?? String(error));
  process.exitCode = 1;
});
