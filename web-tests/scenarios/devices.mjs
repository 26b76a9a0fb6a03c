// Devices: each says what it is (browser and system, or the CLI) in the
// reader's language, where and when it was last used, this one marked;
// approving a QR log-in by scanning the code with the camera (a fake
// camera and BarcodeDetector, so the whole scanner runs), and what a
// browser that may not use the camera says.

import {
  DESKTOP,
  PHONE,
  PASSWORD,
  args,
  run,
  fail,
  call,
  apiUser,
  expectVisible,
  expectText,
  logInInBrowser,
  fakeCamera,
  showQr,
  scenario,
} from '../harness.mjs';
import { expectOnlyLanguage } from './i18n.mjs';

const CLI = 'piazza-cli/0.1.0 (linux; x86_64)';
const ANDROID = 'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36';
const IPHONE = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1';

/** What each device is called in each language (the catalog's own wording). */
const NAMES = {
  en: { cli: 'Piazza CLI on Linux', android: 'Chrome on Android', iphone: 'Safari on iOS', here: 'Chrome on Linux', current: 'This device' },
  it: { cli: 'Piazza da riga di comando su Linux', android: 'Chrome su Android', iphone: 'Safari su iOS', here: 'Chrome su Linux', current: 'Questo dispositivo' },
  zh: { cli: 'Linux 上的 Piazza 命令行', android: 'Android 上的 Chrome', iphone: 'iOS 上的 Safari', here: 'Linux 上的 Chrome', current: '本设备' },
};

async function logInAs(user, userAgent, deviceName) {
  const session = await call(null, 'POST', '/sessions', { username: user.username, password: PASSWORD, device_name: deviceName }, { 'User-Agent': userAgent });
  return session.device_id;
}

function devicesScenario(viewport, prefix) {
  return async (t) => {
    const ann = await apiUser('ann');
    const cli = await logInAs(ann, CLI, 'ann-laptop');
    const android = await logInAs(ann, ANDROID, 'Web browser (Linux armv8l)');
    const iphone = await logInAs(ann, IPHONE, 'Web browser (iPhone)');
    const page = await t.page({ viewport });
    await logInInBrowser(page, ann.username);
    const here = await page.evaluate(() => JSON.parse(localStorage.getItem('piazza.accounts'))[0].device_id);
    for (const lang of ['en', 'it', 'zh']) {
      await page.evaluate((code) => localStorage.setItem('piazza.lang', code), lang);
      await page.goto(`${args.baseUrl}/#/devices`);
      await page.reload();
      await expectVisible(page, `.devices li[data-device-id="${iphone}"]`, `the devices in ${lang}`);
      const names = NAMES[lang];
      const row = (id) => page.locator(`.devices li[data-device-id="${id}"]`);
      for (const [id, name] of [[cli, names.cli], [android, names.android], [iphone, names.iphone], [here, names.here]]) {
        const title = (await row(id).locator('.row-title').textContent()).trim();
        if (title !== name) fail(`in ${lang} a device is "${title}", not "${name}"`);
      }
      // The name a person gave stays; the ones clients made up go.
      await expectText(page, `.devices li[data-device-id="${cli}"] .row-subtitle`, 'ann-laptop', 'the chosen name');
      const androidLine = await row(android).locator('.row-subtitle').textContent();
      if (androidLine.includes('Web browser')) fail(`a made-up name is shown: ${androidLine}`);
      if (!androidLine.includes('127.0.0.1')) fail(`no address of last use: ${androidLine}`);
      // This device first, marked, and not offered a log-out.
      const first = await page.locator('.devices li').first().getAttribute('data-device-id');
      if (first !== here) fail(`the current device is not first (${first})`);
      await expectText(page, `.devices li[data-device-id="${here}"] [data-testid=this-device]`, names.current, 'this device marked');
      if (await row(here).locator('button.danger').count()) fail('this device offers to log itself out');
      await expectOnlyLanguage(page, lang, `the devices in ${lang}`, [ann.username, `ann ${run}`, 'ann-laptop', 'setup', '127.0.0.1', 'Piazza']);
      await t.screenshotNow(page, `${prefix}${lang}`);
    }
    // Logging one out: it goes, the others stay.
    await page.click(`.devices li[data-device-id="${iphone}"] button.danger`);
    await page.locator(`.devices li[data-device-id="${iphone}"]`).waitFor({ state: 'detached', timeout: 10_000 });
    const left = (await call(ann.token, 'GET', '/devices')).devices.map((d) => d.device_id);
    if (left.includes(iphone) || !left.includes(android)) fail(`devices left: ${left}`);
    t.screenshot(page);
  };
}

scenario('devices', devicesScenario(DESKTOP, ''));
scenario('devices-phone', devicesScenario(PHONE, ''));

scenario('qr-scan-login', async (t) => {
  // The approver's phone films the new browser's QR code: a code that is
  // not a log-in is refused while the camera keeps looking, the right one
  // opens the review (the browser named in the approver's language).
  const owner = await apiUser('olga');
  const approver = await t.page({ viewport: PHONE, name: 'phone' });
  await fakeCamera(approver);
  await logInInBrowser(approver, owner.username);
  await approver.evaluate(() => localStorage.setItem('piazza.lang', 'it'));

  const fresh = await t.page({ viewport: DESKTOP, name: 'new' });
  await fresh.goto(`${args.baseUrl}/#/login/qr`);
  await expectVisible(fresh, '[data-testid=qr-payload]', 'the QR code to scan');
  const payload = (await fresh.locator('[data-testid=qr-payload]').textContent()).trim();

  await approver.goto(`${args.baseUrl}/#/devices`);
  await approver.reload();
  await approver.click('[data-testid=approve-link]');
  await approver.click('[data-testid=approve-scan]');
  await expectVisible(approver, '[data-testid=scanner] video', 'the camera');
  await approver.waitForFunction(() => window.__qrFrames > 2, null, { timeout: 10_000 }).catch(() => fail('no frame of the camera was searched'));
  await showQr(approver, 'https://example.com/not-a-login');
  await expectText(approver, '[data-testid=scanner-status]', 'non è un codice di accesso', 'another QR code refused');
  await t.screenshotNow(approver, 'camera');
  const open = await approver.evaluate(() => document.querySelector('video.scanner-video').srcObject.getVideoTracks()[0].readyState);
  if (open !== 'live') fail(`the camera stopped after a wrong code: ${open}`);
  await showQr(approver, payload);
  await expectVisible(approver, '[data-testid=login-review]', 'the review after scanning');
  const stopped = await approver.evaluate(() => document.querySelector('[data-testid=scanner]') === null);
  if (!stopped) fail('the scanner stayed open');
  const browser = (await approver.locator('[data-testid=login-browser]').textContent()).trim();
  if (!/^Chrome su (Linux|macOS|Windows)$/.test(browser)) fail(`the approver sees the browser as "${browser}"`);
  await t.screenshotNow(approver, 'review');
  await approver.click('[data-testid=approve-confirm]');
  await expectVisible(fresh, 'pz-chat-list', 'the new browser logged in');
  t.screenshot(approver);
});

scenario('scan-denied', async (t) => {
  // A browser that may not use the camera says so and points to pasting.
  const user = await apiUser('dora');
  const page = await t.page({ viewport: DESKTOP });
  await fakeCamera(page, { allow: false });
  await logInInBrowser(page, user.username);
  await page.goto(`${args.baseUrl}/#/approve`);
  await page.click('[data-testid=approve-scan]');
  await expectText(page, '[data-testid=scanner-status].error', 'paste', 'the refusal explained');
  await page.keyboard.press('Escape');
  await page.locator('[data-testid=scanner]').waitFor({ state: 'detached', timeout: 10_000 });
  // Without BarcodeDetector there is no scan button, and pasting works.
  const plain = await t.page({ viewport: PHONE, name: 'plain' });
  await logInInBrowser(plain, user.username);
  await plain.goto(`${args.baseUrl}/#/approve`);
  await expectVisible(plain, '#approve-payload', 'the paste field');
  if (await plain.locator('[data-testid=approve-scan]').isVisible()) fail('a scan button without BarcodeDetector');
  t.screenshot(page);
});
