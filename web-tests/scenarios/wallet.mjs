// The wallet: red packets, transfers, payment codes, alerts, PIN resets, merchants.

import { randomUUID } from 'node:crypto';

import {
  PASSWORD,
  EXPECT_TIMEOUT_MS,
  DESKTOP,
  PHONE,
  args,
  run,
  fail,
  username,
  call,
  apiUser,
  apiBefriend,
  PIN,
  apiFund,
  apiBalance,
  shownMinor,
  expectVisible,
  expectText,
  logInInBrowser,
  openChatWith,
  fakeCamera,
  showQr,
  scenarios,
  scenario,
} from '../harness.mjs';

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
  await expectVisible(annPage, '[data-testid=wallet-toast]', 'the "PIN set" toast');
  // Set, the PIN's card goes; changing it is a dialog from then on.
  await annPage.locator('[data-testid=pin-form]').waitFor({ state: 'hidden', timeout: EXPECT_TIMEOUT_MS }).catch(() => fail('the PIN form stayed'));
  await expectVisible(annPage, '[data-testid=wallet-pin]', 'the change-PIN button');
  await annPage.click('[data-testid=wallet-topup]');
  await annPage.fill('[data-testid=topup-dialog] [data-testid=topup-input]', '100');
  await annPage.click('[data-testid=topup-dialog] [data-testid=dialog-submit]');
  await expectBalance(annPage, 10000, 'Ann after topping up');
  await annPage.locator('[data-testid=topup-dialog]').waitFor({ state: 'detached', timeout: EXPECT_TIMEOUT_MS }).catch(() => fail('the top-up dialog stayed'));
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
  // The card's menu, at its sender: Delete (for her alone), never Recall.
  await annPage.hover('.msg:has(pz-transfer-card)');
  await annPage.click('.msg:has(pz-transfer-card) [data-testid=message-actions]');
  await expectVisible(annPage, '[data-testid=message-menu] [data-testid=delete-message]', "Delete in the transfer card's menu");
  if (await annPage.locator('[data-testid=message-menu] [data-testid=recall-message]').count()) fail('a transfer is offered to recall');
  await annPage.keyboard.press('Escape');
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
  // The PIN dialog: change with the current PIN; forgot it, reset with the
  // password and read the wait; money held (the payment code refuses);
  // the current PIN cancels the reset.
  const ann = await apiUser('ann');
  await apiFund(ann, 10000);
  const NEW_PIN = '246813';
  const page = await t.page({ viewport: PHONE });
  await logInInBrowser(page, ann.username);
  await openWallet(page);
  if (await page.locator('[data-testid=pin-form]').isVisible()) fail('a PIN form on the page of a wallet with a PIN');
  await page.click('[data-testid=wallet-pin]');
  const form = page.locator('[data-testid=pin-dialog][data-mode=change]');
  await form.waitFor({ state: 'visible', timeout: EXPECT_TIMEOUT_MS }).catch(() => fail('no "change PIN" dialog for a set PIN'));
  let pins = form.locator('[data-testid=pin-input]');
  await pins.nth(0).fill('000000');
  await pins.nth(1).fill(NEW_PIN);
  await pins.nth(2).fill(NEW_PIN);
  await form.locator('button[type=submit]').click();
  await expectText(page, '[data-testid=pin-dialog] .error', 'Wrong payment PIN', 'a wrong current PIN refused');
  await pins.nth(0).fill(PIN);
  await form.locator('button[type=submit]').click();
  await expectText(page, '[data-testid=wallet-toast]', 'changed', 'the PIN changed');
  await form.waitFor({ state: 'detached', timeout: EXPECT_TIMEOUT_MS }).catch(() => fail('the dialog stayed after the change'));

  // Forgotten: the password resets it, after a wait the dialog explains first.
  await page.click('[data-testid=wallet-pin]');
  await page.click('[data-testid=pin-forgot]');
  const reset = page.locator('[data-testid=pin-dialog][data-mode=reset]');
  await expectText(page, '[data-testid=pin-dialog][data-mode=reset] .hint', 'no money can leave', 'the wait explained');
  await t.screenshotNow(page, 'forgot');
  pins = reset.locator('[data-testid=pin-input]');
  await pins.nth(0).fill(PIN);
  await pins.nth(1).fill(PIN);
  await reset.locator('[data-testid=pin-password]').fill(PASSWORD);
  await reset.locator('button[type=submit]').click();
  await expectText(page, '[data-testid=wallet-toast]', 'takes effect at', 'when the new PIN works');
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
  await page.click('[data-testid=wallet-pin]');
  const change = page.locator('[data-testid=pin-dialog][data-mode=change]');
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

scenario('wallet-home', async (t) => {
  // The wallet page: the balance and the four actions first and the
  // statement in view without scrolling past a form; no PIN form once a
  // PIN is set, the set-PIN card while there is none; a top-up from the
  // dialog's common amounts; in the dark too.
  const ann = await apiUser('ann');
  await apiFund(ann, 25000);
  const fresh = await apiUser('fred');
  const phone = await t.page({ viewport: PHONE });
  await logInInBrowser(phone, ann.username);
  await openWallet(phone);
  await expectVisible(phone, '[data-testid=statement] li[data-kind=topup]', 'the statement');
  if (await phone.locator('[data-testid=pin-form]').isVisible()) fail('a PIN form beside a set PIN');
  const top = await phone.locator('[data-testid=statement] li').first().evaluate((row) => row.getBoundingClientRect().top);
  if (top > PHONE.height - 120) fail(`the statement starts ${top}px down a ${PHONE.height}px phone`);
  await t.screenshotNow(phone, 'phone');
  await phone.click('[data-testid=wallet-topup]');
  const dialog = phone.locator('[data-testid=topup-dialog]');
  await dialog.locator('.chip').nth(1).click();
  const typed = await dialog.locator('[data-testid=topup-input]').inputValue();
  if (typed !== '100') fail(`the ¥100 chip typed "${typed}"`);
  await t.screenshotNow(phone, 'topup');
  await dialog.locator('[data-testid=dialog-submit]').click();
  await expectBalance(phone, 35000, 'after the top-up');
  await expectText(phone, '[data-testid=wallet-toast]', '¥100.00', 'the top-up said');

  // No PIN yet: the card to set one, the statement's empty state below.
  const dark = await t.page({ viewport: DESKTOP, name: 'fred', colorScheme: 'dark' });
  await logInInBrowser(dark, fresh.username);
  await openWallet(dark);
  await expectVisible(dark, '[data-testid=pin-form][data-mode=set]', 'the set-PIN card');
  await expectVisible(dark, '[data-testid=statement] .empty-state', 'the empty statement');
  if (await dark.locator('[data-testid=wallet-pin]').isVisible()) fail('a change-PIN button without a PIN');
  await t.screenshotNow(dark, 'no-pin-dark');
  t.screenshot(phone);
});

scenario('pay-scan', async (t) => {
  // The buyer's phone films the merchant's code: another kind of QR code
  // is refused while the camera keeps looking; the merchant's fills the
  // form, named before paying.
  const shop = await apiUser('shop');
  const buyer = await apiUser('buyer');
  await apiFund(buyer, 10000);
  const merchant = await call(shop.token, 'POST', '/merchants', { name: 'Gelato 7' });
  const payload = (await call(shop.token, 'GET', `/merchants/${merchant.merchant_id}/qr?format=payload&amount_minor=450`)).payload;
  const page = await t.page({ viewport: PHONE });
  await fakeCamera(page);
  await logInInBrowser(page, buyer.username);
  await openWallet(page);
  await page.click('[data-testid=wallet-pay-link]');
  await expectText(page, '#pay-hint', 'Scan', 'the hint offers the camera');
  await page.click('[data-testid=pay-scan]');
  await expectVisible(page, '[data-testid=scanner] video', 'the camera');
  await page.waitForFunction(() => window.__qrFrames > 2, null, { timeout: EXPECT_TIMEOUT_MS }).catch(() => fail('no frame was searched'));
  await showQr(page, 'piazza-login:lr_x:y');
  await expectText(page, '[data-testid=scanner-status]', "not a merchant's code", 'a log-in code refused');
  await showQr(page, payload);
  await page.locator('[data-testid=scanner]').waitFor({ state: 'detached', timeout: EXPECT_TIMEOUT_MS }).catch(() => fail('the scanner stayed open'));
  await expectText(page, '[data-testid=pay-preview]', '¥4.50 to Gelato 7', 'the merchant and amount before paying');
  if ((await page.inputValue('#pay-payload')) !== payload) fail('the scanned code is not in the form');
  await t.screenshotNow(page, 'preview');
  await page.fill('[data-testid=pay-form] [data-testid=pin-input]', PIN);
  await page.click('[data-testid=pay-submit]');
  await expectText(page, '[data-testid=pay-done]', '¥4.50', 'paid');
  if ((await apiBalance(buyer)) !== 10000 - 450) fail('the buyer did not pay 4.50 once');
  t.screenshot(page);
});
