// Accounts and devices: QR log-in, revoked devices, several accounts in one browser.

import {
  PASSWORD,
  EXPECT_TIMEOUT_MS,
  DESKTOP,
  PHONE,
  args,
  fail,
  username,
  call,
  apiUser,
  apiBefriend,
  apiSend,
  expectVisible,
  expectText,
  expectUrl,
  logInInBrowser,
  scenario,
} from '../harness.mjs';

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
