// What every scenario shares: the arguments, API set-up calls, page
// expectations and the scenario registry. Scenarios live in
// `scenarios/<area>.mjs`, one file per area of the client; a file registers
// its scenarios with `scenario(name, body)` and `run.mjs` loads every file.

import { randomUUID } from 'node:crypto';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const here = dirname(fileURLToPath(import.meta.url));
export const repo = resolve(here, '..');
export const assets = join(repo, 'crates/piazza-web/assets');

export const CHROMIUM = '/usr/bin/chromium';
export const PASSWORD = 'correct horse battery';
/** A scenario taking longer than this has hung. */
export const SCENARIO_TIMEOUT_MS = 90_000;
/** How long one expectation waits for the page. */
export const EXPECT_TIMEOUT_MS = 10_000;
export const DESKTOP = { width: 1280, height: 800 };
export const PHONE = { width: 390, height: 844 };

export function parseArgs(argv) {
  const args = { baseUrl: 'http://127.0.0.1:8080', out: join(repo, 'target/web-tests'), only: null, killUrl: null };
  for (let i = 0; i < argv.length; i += 1) {
    const value = argv[i + 1];
    if (argv[i] === '--base-url') args.baseUrl = value.replace(/\/$/, '');
    else if (argv[i] === '--out') args.out = resolve(value);
    else if (argv[i] === '--only') args.only = value;
    else if (argv[i] === '--kill-url') args.killUrl = value;
    else throw new Error(`unknown argument ${argv[i]}`);
    i += 1;
  }
  return args;
}

export const args = parseArgs(process.argv.slice(2));
export const run = Date.now().toString(36);
export let userCount = 0;

export function fail(message) {
  throw new Error(message);
}

export function username(role) {
  userCount += 1;
  return `${role}_${run}_${userCount}`.slice(0, 32);
}

// ---------------------------------------------------------------- API setup
// Some scenarios prepare their data through the public API, so they test
// one thing each rather than repeating the whole sign-up in the browser.

/** Times one setup call waits out the server's rate limit (429) before failing. */
export const RATE_LIMITED_RETRIES_MAX = 120;

export async function call(token, method, path, body, extraHeaders = {}) {
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

export async function apiUser(role) {
  const name = username(role);
  await call(null, 'POST', '/accounts', { username: name, password: PASSWORD, display_name: `${role} ${run}` });
  const session = await call(null, 'POST', '/sessions', { username: name, password: PASSWORD, device_name: 'setup' });
  return { username: name, token: session.token, account_id: session.account_id };
}

export async function apiBefriend(a, b) {
  const request = await call(a.token, 'POST', '/contacts/requests', { to: b.username });
  await call(b.token, 'POST', `/contacts/requests/${request.request_id}/accept`);
  const direct = await call(a.token, 'POST', '/conversations/direct', { peer: b.account_id });
  return direct.conversation_id;
}

export async function apiSend(user, conversationId, text) {
  return call(user.token, 'POST', `/conversations/${conversationId}/messages`, {
    client_msg_id: `setup-${run}-${Math.random().toString(36).slice(2)}`,
    text,
  });
}

export const PIN = '135790';

/** Money through the API: a PIN and a sandbox top-up (the server runs --sandbox-payments). */
export async function apiFund(user, amountMinor) {
  await call(user.token, 'PUT', '/wallet/pin', { pin: PIN, password: PASSWORD });
  if (amountMinor) {
    await call(user.token, 'POST', '/wallet/topups', { amount_minor: amountMinor }, { 'Idempotency-Key': `setup-${randomUUID()}` });
  }
}

export async function apiBalance(user) {
  return (await call(user.token, 'GET', '/wallet')).balance_minor;
}

/** "You got ¥3.21" → 321: the amount a page shows, read back as minor units. */
export function shownMinor(text) {
  const match = /(-?\d+)[.,](\d{2})/.exec(text ?? '');
  if (!match) fail(`no amount in "${text}"`);
  return Number(match[1]) * 100 + Number(match[2]);
}

// ------------------------------------------------------------ page helpers

export async function expectVisible(page, selector, what = selector) {
  try {
    await page.locator(selector).first().waitFor({ state: 'visible', timeout: EXPECT_TIMEOUT_MS });
  } catch {
    fail(`${what}: not visible within ${EXPECT_TIMEOUT_MS} ms (url ${page.url()})`);
  }
}

export async function expectAttached(page, selector, what = selector) {
  try {
    await page.locator(selector).first().waitFor({ state: 'attached', timeout: EXPECT_TIMEOUT_MS });
  } catch {
    fail(`${what}: not in the page within ${EXPECT_TIMEOUT_MS} ms (url ${page.url()})`);
  }
}

export async function expectText(page, selector, text, what = `${selector} with "${text}"`) {
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

export async function expectUrl(page, fragment) {
  try {
    await page.waitForURL((url) => url.hash.startsWith(fragment), { timeout: EXPECT_TIMEOUT_MS });
  } catch {
    fail(`expected to reach ${fragment}, still at ${page.url()}`);
  }
}

export async function signUpInBrowser(page, name) {
  await page.goto(`${args.baseUrl}/#/signup`);
  await page.fill('#f-username', name);
  await page.fill('#f-display_name', `${name.split('_')[0]} ${run}`);
  await page.fill('#f-password', PASSWORD);
  await page.click('form button[type=submit]');
  await expectVisible(page, 'pz-chat-list', `${name}'s chat list after sign-up`);
}

export async function logInInBrowser(page, name) {
  await page.goto(`${args.baseUrl}/#/login`);
  await page.fill('#f-username', name);
  await page.fill('#f-password', PASSWORD);
  await page.click('form button[type=submit]');
  await expectVisible(page, 'pz-chat-list', `${name}'s chat list after log-in`);
}

export async function sendInBrowser(page, text) {
  await page.fill('#composer', text);
  await page.press('#composer', 'Enter');
  await expectText(page, '.msg.mine[data-status=sent]', text, `"${text}" shown as sent`);
}

export async function openChatWith(page, title) {
  await page.click(`a[href="#/chats"]`);
  await page.locator('.chat-list a').filter({ hasText: title }).first().click();
  await expectVisible(page, 'pz-conversation #composer', `the conversation "${title}"`);
}

// ------------------------------------------------------------ the camera

/**
 * Lets `page` film with chromium's fake camera (a moving test pattern) and
 * gives it a `BarcodeDetector` (chromium on Linux has none) that reads
 * the codes queued by `showQr(page, text)` — only from a <video> playing a
 * live camera stream with frames, so the scanner's whole path runs: the
 * permission, getUserMedia, the video, the frame loop, the dialog.
 */
export async function fakeCamera(page, { allow = true } = {}) {
  if (allow) await page.context().grantPermissions(['camera'], { origin: args.baseUrl });
  await page.context().addInitScript(() => {
    window.__qrQueue = [];
    window.__qrFrames = 0;
    window.BarcodeDetector = class {
      static async getSupportedFormats() {
        return ['qr_code', 'ean_13'];
      }
      constructor({ formats = [] } = {}) {
        if (!formats.includes('qr_code')) throw new TypeError('this fake reads QR codes only');
      }
      async detect(source) {
        const stream = source?.srcObject;
        const live = stream instanceof MediaStream && stream.getVideoTracks().some((track) => track.readyState === 'live');
        if (!(source instanceof HTMLVideoElement) || !live || source.readyState < 2 || !source.videoWidth) return [];
        window.__qrFrames += 1;
        const text = window.__qrQueue.shift();
        return text ? [{ rawValue: text, format: 'qr_code', boundingBox: new DOMRectReadOnly(0, 0, 10, 10), cornerPoints: [] }] : [];
      }
    };
  });
}

/** Puts `text` before the fake camera: the next frame searched reads it. */
export async function showQr(page, text) {
  await page.evaluate((code) => window.__qrQueue.push(code), text);
}

// --------------------------------------------------------------- scenarios

export const scenarios = [];
/**
 * A scenario. `options.cluster`: it needs a cluster behind a load
 * balancer of the test's (crates/piazza/tests/web.rs), so it runs only
 * when `--only` names it.
 */
export function scenario(name, body, options = {}) {
  scenarios.push({ name, body, cluster: Boolean(options.cluster) });
}