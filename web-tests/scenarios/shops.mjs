// Shops: an owner opens a shop in the browser (a logo uploaded) and adds a
// product with two pictures and two variants; a buyer on a phone finds it
// by searching, picks a variant and a quantity, fills the cart; the owner
// raises one price and sells the other variant out, which the cart marks;
// the buyer checks out, places the order and pays it with the PIN, the
// time to pay counting down; the owner sees it paid live, with the day's
// takings, and ships it; the buyer sees it shipped live and confirms
// receipt, which settles the shop. Then a partial refund: the buyer asks
// for part of a completed order back (a phone in the dark) and the owner
// approves it; both pages follow live and the money adds up. In chats: a
// product shared from its page is a card that opens it, and an order's
// own conversation shows the order and none of a group's tools.

import { randomUUID } from 'node:crypto';

import { DESKTOP, PHONE, EXPECT_TIMEOUT_MS, PIN, args, run, fail, call, apiUser, apiBefriend, apiFund, apiBalance, expectVisible, expectText, expectUrl, logInInBrowser, openChatWith, sendInBrowser, scenario } from '../harness.mjs';
import { expectOnlyLanguage } from './i18n.mjs';

/** A square picture drawn in the page (a colour and a word), as PNG bytes. */
async function drawPicture(page, colour, word) {
  const base64 = await page.evaluate(
    async ([fill, text]) => {
      const canvas = new OffscreenCanvas(320, 320);
      const g = canvas.getContext('2d');
      g.fillStyle = fill;
      g.fillRect(0, 0, 320, 320);
      g.fillStyle = '#fff';
      g.beginPath();
      g.arc(160, 150, 90, 0, Math.PI * 2);
      g.fill();
      g.fillStyle = fill;
      g.font = 'bold 56px sans-serif';
      g.textAlign = 'center';
      g.fillText(text, 160, 170);
      const bytes = new Uint8Array(await (await canvas.convertToBlob({ type: 'image/png' })).arrayBuffer());
      let binary = '';
      for (const byte of bytes) binary += String.fromCharCode(byte);
      return btoa(binary);
    },
    [colour, word],
  );
  return Buffer.from(base64, 'base64');
}

/** Waits until `check()` (an API read) holds, or fails saying `what`. */
async function eventually(what, check) {
  const until = Date.now() + EXPECT_TIMEOUT_MS;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > until) fail(`${what}: not so within ${EXPECT_TIMEOUT_MS} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function expectPictureLoaded(page, selector, what) {
  await page
    .waitForFunction((s) => [...document.querySelectorAll(s)].some((img) => img.complete && img.naturalWidth > 0), selector, { timeout: EXPECT_TIMEOUT_MS })
    .catch(() => fail(`${what}: the picture did not load`));
}

/** The owner opens a shop from the Shops tab, with a logo; answers its id. */
async function openShop(page, handle, name) {
  await page.click('a[href="#/shops"]');
  await expectVisible(page, '[data-testid=product-search]', 'the Shops tab');
  await page.click('[data-testid=open-shop]');
  await page.fill('#f-handle', handle);
  await page.fill('#f-name', name);
  await page.fill('[data-testid=shop-description]', 'Hand-made mugs, glazed by hand.');
  await page.setInputFiles('[data-testid=shop-logo-input]', { name: 'logo.png', mimeType: 'image/png', buffer: await drawPicture(page, '#0a7d4f', 'MH') });
  await expectVisible(page, '[data-testid=shop-logo-previews] img', "the logo's preview");
  await page.click('[data-testid=shop-submit]');
  await expectVisible(page, '[data-testid=shop-manage] [data-testid=takings-today]', "the new shop's own page");
  await expectPictureLoaded(page, '.shop-heading img', 'the logo');
  return decodeURIComponent(new URL(page.url()).hash.split('/')[2]);
}

async function fillVariant(page, index, { name, sku, price, stock }) {
  const row = page.locator('[data-testid=variant-row]').nth(index);
  await row.locator('[data-testid=variant-name]').fill(name);
  await row.locator('[data-testid=variant-sku]').fill(sku);
  await row.locator('[data-testid=variant-price]').fill(price);
  await row.locator('[data-testid=variant-stock]').fill(stock);
}

/** Edits a variant from the shop's page: a price typed, or the stock set. */
async function editVariant(page, variantId, { price = null, stock = null }) {
  await page.click(`[data-testid=admin-variant][data-variant-id="${variantId}"] [data-testid=variant-edit]`);
  const dialog = page.locator('[data-testid=variant-dialog]');
  if (price !== null) await dialog.locator('[data-testid=variant-price-input]').fill(price);
  if (stock !== null) {
    await dialog.locator('[data-testid=stock-mode]').selectOption('set');
    await dialog.locator('[data-testid=stock-count]').fill(stock);
  }
  await dialog.locator('[data-testid=dialog-submit]').click();
  await dialog.waitFor({ state: 'detached', timeout: EXPECT_TIMEOUT_MS }).catch(() => fail('the variant dialog stayed'));
}

scenario('shops', async (t) => {
  const owner = await apiUser('owner');
  const buyer = await apiUser('buyer');
  await apiFund(buyer, 50000);
  const handle = `mugs.${run}`.slice(0, 32);
  const title = `Ceramic mug ${run}`;

  // The owner opens the shop and adds a product: two pictures, two variants.
  const ownerPage = await t.page({ viewport: DESKTOP });
  await logInInBrowser(ownerPage, owner.username);
  const shopId = await openShop(ownerPage, handle, `Mug House ${run}`);
  await ownerPage.click('[data-testid=add-product]');
  await ownerPage.fill('[data-testid=product-title-input]', title);
  await ownerPage.fill('[data-testid=product-description]', 'Stoneware, 350 ml. Each one a little different.');
  await ownerPage.setInputFiles('[data-testid=product-pictures-input]', [
    { name: 'blue.png', mimeType: 'image/png', buffer: await drawPicture(ownerPage, '#1f7ae0', 'BLUE') },
    { name: 'red.png', mimeType: 'image/png', buffer: await drawPicture(ownerPage, '#d9342b', 'RED') },
  ]);
  await fillVariant(ownerPage, 0, { name: 'Blue', sku: `mug-blue-${run}`, price: '25', stock: '10' });
  await ownerPage.click('[data-testid=add-variant]');
  await fillVariant(ownerPage, 1, { name: 'Red', sku: `mug-red-${run}`, price: '28.50', stock: '3' });
  await t.screenshotNow(ownerPage, 'product-form');
  await ownerPage.click('[data-testid=product-submit]');
  await expectText(ownerPage, '[data-testid=admin-product]', title, 'the product on the shop’s page');
  const listed = (await call(owner.token, 'GET', `/products?shop_id=${shopId}`)).products;
  if (listed.length !== 1 || listed[0].media_ids.length !== 2 || listed[0].variants.length !== 2) fail(`the product stored: ${JSON.stringify(listed)}`);
  const product = listed[0];
  const [blue, red] = ['Blue', 'Red'].map((name) => product.variants.find((v) => v.name === name));
  if (blue.price_minor !== 2500 || red.price_minor !== 2850 || blue.available !== 10 || red.available !== 3) fail(`the variants stored: ${JSON.stringify(product.variants)}`);
  await t.screenshotNow(ownerPage, 'owner-shop');

  // The buyer, on a phone, finds it by searching and looks at it.
  const buyerPage = await t.page({ viewport: PHONE, name: 'buyer' });
  await logInInBrowser(buyerPage, buyer.username);
  await buyerPage.click('a[href="#/shops"]');
  await buyerPage.fill('[data-testid=product-search]', `mug ${run}`);
  const tile = `[data-testid=product-tile][data-product-id="${product.product_id}"]`;
  await expectText(buyerPage, tile, '¥25.00 – ¥28.50', 'the product found, with its price range');
  await expectPictureLoaded(buyerPage, `${tile} img`, "the tile's picture");
  await t.screenshotNow(buyerPage, 'search');
  await buyerPage.click(`${tile} a`);
  await expectText(buyerPage, '[data-testid=product-title]', title, 'the product page');
  await expectPictureLoaded(buyerPage, '[data-testid=product-picture] img', "the product's picture");
  await expectText(buyerPage, '[data-testid=product-price]', '¥25.00', 'the first variant chosen, with its price');

  // Red, two of them, then one Blue.
  await buyerPage.click(`[data-testid=variant-option][data-variant-id="${red.variant_id}"]`);
  await expectText(buyerPage, '[data-testid=product-price]', '¥28.50', "Red's price");
  await expectText(buyerPage, '[data-testid=product-available]', '3 available', "what is left of Red");
  await buyerPage.click('[data-testid=quantity-plus]');
  await t.screenshotNow(buyerPage, 'product');
  await buyerPage.click('[data-testid=add-to-cart]');
  await expectVisible(buyerPage, '[data-testid=cart-toast]', 'the "in your cart" toast');
  await buyerPage.click(`[data-testid=variant-option][data-variant-id="${blue.variant_id}"]`);
  await buyerPage.click('[data-testid=add-to-cart]');
  await eventually('three units in the cart', async () => (await call(buyer.token, 'GET', '/cart')).lines.reduce((n, l) => n + l.quantity, 0) === 3);

  // The owner raises Red's price and sells Blue out; the cart marks both.
  await editVariant(ownerPage, red.variant_id, { price: '30' });
  await expectVisible(ownerPage, `[data-testid=admin-variant][data-variant-id="${red.variant_id}"][data-price-minor="3000"]`, "Red's new price on the shop's page");
  await editVariant(ownerPage, blue.variant_id, { stock: '0' });
  await expectVisible(ownerPage, `[data-testid=admin-variant][data-variant-id="${blue.variant_id}"][data-available="0"]`, 'Blue sold out');
  await buyerPage.goto(`${args.baseUrl}/#/shops/cart`);
  await expectText(buyerPage, `[data-testid=cart-line][data-variant-id="${red.variant_id}"][data-price-changed=true] [data-testid=price-changed]`, '¥28.50', "Red's price marked as changed");
  await expectVisible(buyerPage, `[data-testid=cart-line][data-variant-id="${blue.variant_id}"][data-orderable=false] [data-testid=not-available]`, 'Blue marked not available');
  await expectText(buyerPage, '[data-testid=cart-total]', '¥60.00', 'the total of what can be ordered');
  await t.screenshotNow(buyerPage, 'cart');

  // Checkout: the address, the order placed, paid with the PIN.
  await buyerPage.click(`[data-testid=checkout][data-shop-id="${shopId}"]`);
  await expectText(buyerPage, '[data-testid=checkout-total]', '¥60.00', 'the checkout total');
  await buyerPage.fill('#f-name', 'Bea Buyer');
  await buyerPage.fill('#f-line1', 'Via dei Servi 7');
  await buyerPage.fill('#f-city', 'Firenze');
  await buyerPage.fill('#f-country', 'Italy');
  await buyerPage.click('[data-testid=place-order]');
  const payDialog = buyerPage.locator('[data-testid=pay-dialog]');
  await expectText(buyerPage, '[data-testid=pay-dialog] [data-testid=pay-countdown]', 'Pay within 1', 'the time to pay counting down');
  const orderId = decodeURIComponent(new URL(buyerPage.url()).hash.split('/')[2].split('?')[0]);
  const placed = await call(buyer.token, 'GET', `/orders/${orderId}`);
  if (placed.status !== 'pending_payment' || placed.total_minor !== 6000 || placed.items.length !== 1) fail(`the order placed: ${JSON.stringify(placed)}`);
  const kept = await buyerPage.evaluate(() => Object.entries(localStorage).find(([key]) => key.startsWith('piazza.shops.address.'))?.[1]);
  if (!kept?.includes('Via dei Servi 7')) fail(`the address is not remembered: ${kept}`);
  await t.screenshotNow(buyerPage, 'pay');
  await payDialog.locator('[data-testid=pin-input]').fill(PIN);
  await payDialog.locator('[data-testid=dialog-submit]').click();
  await expectVisible(buyerPage, '[data-testid=order-page][data-status=paid]', 'the order paid');
  if ((await apiBalance(buyer)) !== 44000) fail('the wallet was not charged 60.00 once');

  // The owner sees it paid live, and today's takings; ships it.
  await expectText(ownerPage, '[data-testid=order-toast]', 'order paid', "the owner's live toast");
  await expectVisible(ownerPage, `[data-testid=shop-orders] [data-testid=order-row][data-order-id="${orderId}"][data-status=paid]`, 'the paid order among the shop’s orders');
  await expectText(ownerPage, '[data-testid=takings-today]', '¥60.00', "today's takings");
  await t.screenshotNow(ownerPage, 'owner-orders');
  await ownerPage.click(`[data-testid=order-row][data-order-id="${orderId}"] a`);
  await ownerPage.click('[data-testid=order-ship]');
  await ownerPage.fill('[data-testid=ship-carrier]', 'SF Express');
  await ownerPage.fill('[data-testid=ship-tracking]', `SF${run}`.toUpperCase());
  await ownerPage.click('[data-testid=ship-dialog] [data-testid=dialog-submit]');
  await expectVisible(ownerPage, '[data-testid=order-page][data-status=shipped]', 'the order shipped, for the owner');

  // The buyer's page follows live; the buyer confirms receipt.
  await expectText(buyerPage, '[data-testid=order-toast]', 'order shipped', "the buyer's live toast");
  await expectText(buyerPage, '[data-testid=order-page][data-status=shipped] [data-testid=order-tracking]', `SF${run}`.toUpperCase(), 'the tracking number, live');
  await t.screenshotNow(buyerPage, 'shipped');
  await buyerPage.click('[data-testid=order-confirm]');
  await buyerPage.click('[data-testid=confirm-dialog] [data-testid=confirm-move]');
  await expectVisible(buyerPage, '[data-testid=order-page][data-status=completed]', 'the order completed');
  await expectVisible(ownerPage, '[data-testid=order-page][data-status=completed]', "the owner's page completed, live");
  const shop = await call(owner.token, 'GET', `/shops/${shopId}`);
  if ((await call(owner.token, 'GET', `/merchants/${shop.merchant_id}`)).balance_minor !== 6000) fail('the shop was not settled 60.00');
  const after = (await call(owner.token, 'GET', `/products/${product.product_id}`)).variants.find((v) => v.variant_id === red.variant_id);
  if (after.available !== 1 || after.reserved !== 0 || after.sold !== 2) fail(`Red's stock after: ${JSON.stringify(after)}`);
  await buyerPage.goto(`${args.baseUrl}/#/shops/orders`);
  await expectVisible(buyerPage, `[data-testid=my-orders] [data-testid=order-row][data-order-id="${orderId}"][data-status=completed]`, 'the order in My orders');
  await ownerPage.goto(`${args.baseUrl}/#/shop/${shopId}/manage`);
  await expectText(ownerPage, '[data-testid=shop-merchant-balance]', '¥60.00', "the merchant's balance on the shop's page");
  t.screenshot(ownerPage);
});

/** A shop, a product and a completed order, through the API. */
async function completedOrder(owner, buyer) {
  const shop = await call(owner.token, 'POST', '/shops', { handle: `teas.${run}`.slice(0, 32), name: `Tea Corner ${run}`, description: 'Loose leaf.' });
  const product = await call(owner.token, 'POST', `/shops/${shop.shop_id}/products`, {
    title: `Oolong tin ${run}`,
    description: '100 g.',
    media_ids: [],
    variants: [{ sku: `oolong-${run}`, name: '100 g', price_minor: 4200, stock: 5 }],
  });
  const address = { name: 'Bea Buyer', line1: 'Via dei Servi 7', city: 'Firenze', country: 'Italy' };
  const order = await call(buyer.token, 'POST', '/orders', { shop_id: shop.shop_id, items: [{ variant_id: product.variants[0].variant_id, quantity: 2 }], shipping_address: address }, { 'Idempotency-Key': randomUUID() });
  await call(buyer.token, 'POST', `/orders/${order.order_id}/pay`, { pin: PIN }, { 'Idempotency-Key': randomUUID() });
  await call(owner.token, 'POST', `/orders/${order.order_id}/ship`, { carrier: 'EMS', tracking: `EMS${run}` });
  await call(buyer.token, 'POST', `/orders/${order.order_id}/confirm`);
  return { shopId: shop.shop_id, orderId: order.order_id };
}

scenario('shops-refund', async (t) => {
  const owner = await apiUser('owner');
  const buyer = await apiUser('buyer');
  await apiFund(buyer, 20000);
  const { shopId, orderId } = await completedOrder(owner, buyer);
  const shop = await call(owner.token, 'GET', `/shops/${shopId}`);
  const settled = (await call(owner.token, 'GET', `/merchants/${shop.merchant_id}`)).balance_minor;
  if (settled !== 8400) fail(`the shop holds ${settled} after the order`);

  // The buyer, on a phone in the dark, asks for 10.00 of the 84.00 back.
  const buyerPage = await t.page({ viewport: PHONE, name: 'buyer', colorScheme: 'dark' });
  await logInInBrowser(buyerPage, buyer.username);
  await buyerPage.goto(`${args.baseUrl}/#/order/${orderId}`);
  await expectVisible(buyerPage, '[data-testid=order-page][data-status=completed]', 'the completed order');
  await buyerPage.click('[data-testid=order-refund]');
  const dialog = buyerPage.locator('[data-testid=refund-dialog]');
  await expectText(buyerPage, '[data-testid=refund-dialog]', '¥84.00', 'the most that may be asked');
  await dialog.locator('[data-testid=refund-amount-input]').fill('10');
  await dialog.locator('[data-testid=refund-reason]').fill('One tin arrived dented.');
  await dialog.locator('[data-testid=dialog-submit]').click();
  await expectVisible(buyerPage, '[data-testid=refund-request][data-status=requested]', 'the request, waiting for the shop');
  await t.screenshotNow(buyerPage, 'asked-phone-dark');

  // The owner sees it live among the shop's orders, and approves it.
  const ownerPage = await t.page({ viewport: DESKTOP });
  await logInInBrowser(ownerPage, owner.username);
  await ownerPage.goto(`${args.baseUrl}/#/order/${orderId}`);
  await expectText(ownerPage, '[data-testid=refund-request][data-status=requested]', 'One tin arrived dented.', 'the request, for the owner');
  await ownerPage.click('[data-testid=refund-request] [data-testid=refund-approve]');
  await expectText(ownerPage, '[data-testid=refund-approve-dialog]', '¥10.00', 'the approval naming the amount');
  await ownerPage.click('[data-testid=refund-approve-dialog] [data-testid=confirm-move]');
  await expectVisible(ownerPage, '[data-testid=refund-request][data-status=approved]', 'the refund approved');
  await expectText(ownerPage, '[data-testid=order-refunded]', '¥10.00', 'the refunded amount, for the owner');
  await t.screenshotNow(ownerPage, 'owner');

  // The buyer's page follows live; the money adds up.
  await expectText(buyerPage, '[data-testid=order-toast]', 'refund of ¥10.00 approved', "the buyer's live toast");
  await expectVisible(buyerPage, '[data-testid=refund-request][data-status=approved]', 'the refund approved, live');
  await expectText(buyerPage, '[data-testid=order-refunded]', '¥10.00', 'the refunded amount, live');
  if ((await apiBalance(buyer)) !== 20000 - 8400 + 1000) fail('the buyer was not refunded 10.00 once');
  if ((await call(owner.token, 'GET', `/merchants/${shop.merchant_id}`)).balance_minor !== 7400) fail("the refund did not come from the shop's settlement");
  await ownerPage.goto(`${args.baseUrl}/#/shop/${shopId}/manage`);
  await expectText(ownerPage, '[data-testid=takings-today]', '¥74.00', "today's takings, after the refund");
  await t.screenshotNow(ownerPage, 'takings');
  t.screenshot(buyerPage);
});

/**
 * Every screen of the shops, for a buyer and a shop's owner on phones,
 * in Italian and Chinese: no text of another language, money written the
 * language's way, no button whose label wraps.
 */
scenario('shops-languages', async (t) => {
  const owner = await apiUser('owner');
  const buyer = await apiUser('buyer');
  await apiFund(buyer, 50000);
  const shop = await call(owner.token, 'POST', '/shops', { handle: `lang.${run}`.slice(0, 32), name: `Bottega ${run}`, description: `Bottega ${run}` });
  const product = await call(owner.token, 'POST', `/shops/${shop.shop_id}/products`, {
    title: `Vaso ${run}`,
    description: `Vaso ${run}`,
    media_ids: [],
    variants: [
      { sku: `vaso-s-${run}`, name: 'S', price_minor: 1990, stock: 8 },
      { sku: `vaso-m-${run}`, name: 'M', price_minor: 2990, stock: 0 },
    ],
  });
  const [small] = product.variants;
  const address = { name: `Bea ${run}`, line1: `Via ${run}`, city: `Città ${run}`, country: `Paese ${run}` };
  const place = async () =>
    (await call(buyer.token, 'POST', '/orders', { shop_id: shop.shop_id, items: [{ variant_id: small.variant_id, quantity: 1 }], shipping_address: address }, { 'Idempotency-Key': randomUUID() })).order_id;
  const shipped = await place();
  await call(buyer.token, 'POST', `/orders/${shipped}/pay`, { pin: PIN }, { 'Idempotency-Key': randomUUID() });
  await call(owner.token, 'POST', `/orders/${shipped}/ship`, { carrier: `Corriere ${run}`, tracking: `TR${run}` });
  await call(buyer.token, 'POST', `/orders/${shipped}/refund-requests`, { amount_minor: 500, reason: `Motivo ${run}` });
  const pending = await place();
  await call(buyer.token, 'PUT', '/cart/items', { variant_id: small.variant_id, quantity: 2 });
  const data = [`Bottega ${run}`, `Vaso ${run}`, `vaso-s-${run}`, `vaso-m-${run}`, `lang.${run}`, ...Object.values(address), `Corriere ${run}`, `TR${run}`, `Motivo ${run}`, `owner ${run}`, `buyer ${run}`, owner.username, buyer.username, shipped, pending, 'Piazza'];

  const buyerScreens = [
    ['home', `#/shops?q=${encodeURIComponent(`vaso ${run}`)}`, '[data-testid=product-tile]'],
    ['product', `#/product/${product.product_id}`, '[data-testid=add-to-cart]'],
    ['cart', '#/shops/cart', '[data-testid=cart-line]'],
    ['checkout', `#/shops/checkout/${shop.shop_id}`, '[data-testid=place-order]'],
    ['order-pending', `#/order/${pending}`, '[data-testid=order-pay]'],
    ['order-shipped', `#/order/${shipped}`, '[data-testid=order-confirm]'],
    ['orders', '#/shops/orders', '[data-testid=order-row]'],
    ['order-chat', `#/chats/${(await call(buyer.token, 'POST', `/orders/${pending}/conversation`)).conversation_id}`, '[data-testid=order-card]'],
  ];
  const ownerScreens = [
    ['manage', `#/shop/${shop.shop_id}/manage`, '[data-testid=admin-variant]'],
    ['owner-order', `#/order/${shipped}`, '[data-testid=refund-approve]'],
    ['add-product', `#/shop/${shop.shop_id}/add`, '[data-testid=variant-row]'],
    ['open-shop', '#/shops/new', '[data-testid=shop-form]'],
  ];
  const buyerPage = await t.page({ viewport: PHONE, name: 'buyer' });
  const ownerPage = await t.page({ viewport: PHONE, name: 'owner' });
  await logInInBrowser(buyerPage, buyer.username);
  await logInInBrowser(ownerPage, owner.username);
  for (const lang of ['it', 'zh']) {
    for (const [page, screens] of [[buyerPage, buyerScreens], [ownerPage, ownerScreens]]) {
      // One reload per language; the screens are then reached as the app
      // goes, by their addresses (no reload: the anonymous assets' rate).
      await page.evaluate((code) => localStorage.setItem('piazza.lang', code), lang);
      await page.reload();
      for (const [name, hash, ready] of screens) {
        await page.goto(`${args.baseUrl}/${hash}`);
        await expectVisible(page, ready, `${name} in ${lang}`);
        await page.waitForTimeout(150);
        await expectOnlyLanguage(page, lang, `the shops' ${name}`, data);
        await t.screenshotNow(page, `${lang}-${name}`);
      }
    }
    // The dialogs: paying with the PIN, asking for a refund.
    await buyerPage.goto(`${args.baseUrl}/#/order/${pending}`);
    await buyerPage.click('[data-testid=order-pay]');
    await expectVisible(buyerPage, '[data-testid=pay-dialog] [data-testid=pay-countdown]', `the pay dialog in ${lang}`);
    await expectOnlyLanguage(buyerPage, lang, 'the pay dialog', data);
    await t.screenshotNow(buyerPage, `${lang}-pay`);
    await buyerPage.keyboard.press('Escape');
    await buyerPage.goto(`${args.baseUrl}/#/order/${shipped}`);
    await buyerPage.click('[data-testid=order-refund]');
    await expectVisible(buyerPage, '[data-testid=refund-dialog]', `the refund dialog in ${lang}`);
    await expectOnlyLanguage(buyerPage, lang, 'the refund dialog', data);
    await buyerPage.keyboard.press('Escape');
  }
  t.screenshot(ownerPage);
});

/** A picture uploaded through the API by `user`; answers its media id. */
async function uploadPicture(user, bytes) {
  const response = await fetch(`${args.baseUrl}/api/v1/media`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${user.token}`, 'Content-Type': 'image/png', Accept: 'application/json' },
    body: bytes,
  });
  if (!response.ok) fail(`uploading a picture: ${response.status} ${await response.text()}`);
  return (await response.json()).media_id;
}

/**
 * A product shared into a chat: the buyer shares it from its page into
 * his chat with Cy; the card shows at once, before the server answers,
 * and is stored once with the product's snapshot; Cy, on a phone, sees
 * its picture, title, price range and shop, and opens the product from it.
 */
scenario('shops-product-card', async (t) => {
  const owner = await apiUser('owner');
  const buyer = await apiUser('buyer');
  const cy = await apiUser('cy');
  const conversationId = await apiBefriend(buyer, cy);
  const sharer = await t.page({ viewport: DESKTOP, name: 'buyer' });
  await logInInBrowser(sharer, buyer.username);
  const handle = `cards.${run}`.slice(0, 32);
  const shopName = `Card Shop ${run}`;
  const shop = await call(owner.token, 'POST', '/shops', { handle, name: shopName, description: 'Shared in chats.' });
  const pictureId = await uploadPicture(owner, await drawPicture(sharer, '#7a3fd1', 'TEA'));
  const title = `Teapot ${run}`;
  const product = await call(owner.token, 'POST', `/shops/${shop.shop_id}/products`, {
    title,
    media_ids: [pictureId],
    variants: [
      { sku: `pot-s-${run}`, name: 'Small', price_minor: 1990, stock: 4 },
      { sku: `pot-l-${run}`, name: 'Large', price_minor: 2990, stock: 4 },
    ],
  });

  // The buyer shares it from its page; the send is held on its way, and
  // the chat shows the card meanwhile.
  let release = () => {};
  const held = new Promise((resolve) => (release = resolve));
  await sharer.route('**/api/v1/conversations/*/messages', async (route) => {
    if (route.request().method() === 'POST') await held;
    await route.continue();
  });
  await sharer.goto(`${args.baseUrl}/#/product/${product.product_id}`);
  await expectText(sharer, '[data-testid=product-title]', title, 'the product page');
  await sharer.click('[data-testid=share-to-chat]');
  const target = `[data-testid=share-dialog] [data-testid=share-target][data-conversation-id="${conversationId}"]`;
  await expectVisible(sharer, target, 'his chat with Cy among the targets');
  await t.screenshotNow(sharer, 'share');
  await sharer.click(`${target} button`);
  await expectVisible(sharer, '[data-testid=shared]', 'the toast saying where it went');
  await sharer.evaluate((id) => (location.hash = `#/chats/${id}`), conversationId);
  const pending = `.msg.mine[data-status=sending] [data-testid=product-card][data-product-id="${product.product_id}"]`;
  await expectText(sharer, pending, '¥19.90 – ¥29.90', 'the card at once, with its price range, while the send is on its way');
  release();
  await expectVisible(sharer, `.msg.mine[data-status=sent] [data-testid=product-card][data-product-id="${product.product_id}"]`, 'the card sent');

  // Stored once, as a card with the product's snapshot.
  const cards = (await call(cy.token, 'GET', `/conversations/${conversationId}/messages`)).messages.filter((m) => m.kind === 'product_card');
  if (cards.length !== 1) fail(`product cards stored: ${JSON.stringify(cards)}`);
  const card = cards[0].product;
  const expected = { product_id: product.product_id, title, picture_media_id: pictureId, min_price_minor: 1990, max_price_minor: 2990, shop_id: shop.shop_id, handle, shop_name: shopName, url: `/s/${handle}/${product.product_id}` };
  for (const [key, value] of Object.entries(expected)) if (card[key] !== value) fail(`the card's ${key}: ${JSON.stringify(card)}`);

  // Cy sees the card, its picture loaded, and opens the product from it.
  const receiver = await t.page({ viewport: PHONE, name: 'cy' });
  await logInInBrowser(receiver, cy.username);
  await expectText(receiver, '.chat-list', '[Product]', "the chat list's preview");
  await openChatWith(receiver, `buyer ${run}`);
  const shown = `[data-testid=product-card][data-product-id="${product.product_id}"]`;
  for (const [text, what] of [[title, 'title'], ['¥19.90 – ¥29.90', 'price range'], [shopName, 'shop'], ['Product', 'kind']]) {
    await expectText(receiver, shown, text, `the card with its ${what}`);
  }
  await expectPictureLoaded(receiver, `${shown} img`, "the card's picture");
  await receiver.click(shown);
  await expectUrl(receiver, `#/product/${product.product_id}`);
  await expectText(receiver, '[data-testid=product-title]', title, 'the product opened from the card');
  await t.screenshotNow(receiver, 'opened');
  // Back in the chat, the card is where it was.
  await receiver.goBack();
  await expectPictureLoaded(receiver, `${shown} img`, "the card's picture, back in the chat");
  t.screenshot(receiver);
});

/**
 * An order's own conversation: the buyer opens it from the order's page;
 * its title names the shop and the order, a bar and the order's card link
 * to the order, and nothing of a group's is offered (no group page, no
 * invitation, no leaving); the owner, from his side of the order, reads
 * the buyer's message there.
 */
scenario('shops-order-chat', async (t) => {
  const owner = await apiUser('owner');
  const buyer = await apiUser('buyer');
  await apiFund(buyer, 20000);
  const shopName = `Kettle Works ${run}`;
  const shop = await call(owner.token, 'POST', '/shops', { handle: `kettles.${run}`.slice(0, 32), name: shopName, description: 'Kettles.' });
  const product = await call(owner.token, 'POST', `/shops/${shop.shop_id}/products`, {
    title: `Kettle ${run}`,
    media_ids: [],
    variants: [{ sku: `kettle-${run}`, name: '1 l', price_minor: 3600, stock: 5 }],
  });
  const address = { name: 'Bea Buyer', line1: 'Via dei Servi 7', city: 'Firenze', country: 'Italy' };
  const order = await call(buyer.token, 'POST', '/orders', { shop_id: shop.shop_id, items: [{ variant_id: product.variants[0].variant_id, quantity: 1 }], shipping_address: address }, { 'Idempotency-Key': randomUUID() });
  await call(buyer.token, 'POST', `/orders/${order.order_id}/pay`, { pin: PIN }, { 'Idempotency-Key': randomUUID() });
  // No conversation until a side asks for one.
  if (order.conversation_id) fail(`a conversation before anyone asked: ${JSON.stringify(order)}`);

  // The buyer opens it from the order's page.
  const page = await t.page({ viewport: DESKTOP, name: 'buyer' });
  await logInInBrowser(page, buyer.username);
  await page.goto(`${args.baseUrl}/#/order/${order.order_id}`);
  await expectVisible(page, '[data-testid=order-page][data-status=paid]', 'the order paid');
  await page.click('[data-testid=order-chat]');
  await page.waitForFunction(() => location.hash.startsWith('#/chats/'), null, { timeout: EXPECT_TIMEOUT_MS });
  const conversationId = (await call(buyer.token, 'GET', `/orders/${order.order_id}`)).conversation_id;
  if (!conversationId) fail('the order page opened no conversation');
  await expectUrl(page, `#/chats/${conversationId}`);
  await expectText(page, '#conversation-title', `${shopName} · ${order.order_id}`, "the conversation's title");
  await expectText(page, `[data-testid=order-link][data-order-id="${order.order_id}"]`, `Order ${order.order_id}`, 'the bar linking to the order');
  const card = `[data-testid=order-card][data-order-id="${order.order_id}"]`;
  await expectText(page, card, `Order ${order.order_id}`, "the order's card");
  await expectText(page, `.chat-list [data-conversation-id="${conversationId}"]`, `[Order] ${order.order_id}`, "the chat list's preview");

  // Nothing of a group's: no group page in the header, a menu of Pin, Mute
  // and Archive only, and the group page by its address offers nothing.
  if (await page.isVisible('[data-testid=group-info]')) fail("an order's conversation offers the group's page");
  await page.click('[data-testid=conversation-menu-button]');
  await expectVisible(page, '[data-testid=conversation-menu] [data-testid=pin-conversation]', "the conversation's menu");
  const items = await page.locator('[data-testid=conversation-menu] [data-testid]').evaluateAll((all) => all.map((e) => e.dataset.testid));
  if (items.join() !== 'pin-conversation,mute-conversation,archive-conversation') fail(`the conversation's menu: ${items}`);
  await page.keyboard.press('Escape');
  await page.evaluate((id) => (location.hash = `#/chats/${id}/info`), conversationId);
  await expectVisible(page, '.group-info [data-role=member]', "the conversation's members");
  for (const tool of ['leave-group', 'create-invite', 'remove-member', 'make-admin']) {
    if (await page.isVisible(`[data-testid=${tool}]`)) fail(`an order's conversation offers ${tool}`);
  }
  if (await page.isVisible('#group-rename') || await page.isVisible('#add-member')) fail("an order's conversation may be renamed or added to");

  // The buyer writes there; the owner reads it from his side of the order.
  await page.evaluate((id) => (location.hash = `#/chats/${id}`), conversationId);
  await sendInBrowser(page, 'Could you wrap it as a gift?');
  const ownerPage = await t.page({ viewport: PHONE, name: 'owner' });
  await logInInBrowser(ownerPage, owner.username);
  await ownerPage.goto(`${args.baseUrl}/#/order/${order.order_id}`);
  await ownerPage.click('[data-testid=order-chat]');
  await expectText(ownerPage, '.msg', 'Could you wrap it as a gift?', "the buyer's message, at the shop");
  await expectText(ownerPage, `[data-testid=order-link][data-order-id="${order.order_id}"]`, `Order ${order.order_id}`, "the bar, at the shop");
  // Each side is named over its messages, never by an account id: the
  // buyer as the shop knows them (else by the order's address), the
  // shop's staff as the shop.
  await expectVisible(ownerPage, '.msg .sender', "the buyer's name over their message");
  const buyerLabel = ((await ownerPage.locator('.msg .sender').first().textContent()) ?? '').trim();
  if (![`buyer ${run}`, 'Bea Buyer'].includes(buyerLabel)) fail(`the buyer is shown to the shop as ${JSON.stringify(buyerLabel)}`);
  await t.screenshotNow(ownerPage, 'owner');
  await sendInBrowser(ownerPage, 'Gladly, it ships tomorrow.');
  await expectText(page, '.msg', 'Gladly, it ships tomorrow.', "the shop's answer, at the buyer");
  await expectText(page, '.msg .sender', shopName, "the shop's name over its answer");

  // The card opens the order.
  await page.click(card);
  await expectUrl(page, `#/order/${order.order_id}`);
  await expectVisible(page, '[data-testid=order-page][data-status=paid]', 'the order opened from its card');
  await page.goBack();
  await expectVisible(page, card, "the order's card, back in the chat");
  t.screenshot(page);
});

/**
 * My shops follow the account, not the browser: a shop opened elsewhere
 * (through the API, as from another device) and one where the account is
 * staff are listed in a browser that has never seen either.
 */
scenario('shops-new-device', async (t) => {
  const owner = await apiUser('owner');
  const helper = await apiUser('helper');
  await apiBefriend(owner, helper);
  const mine = `Opened Elsewhere ${run}`;
  await call(owner.token, 'POST', '/shops', { handle: `elsewhere.${run}`.slice(0, 32), name: mine, description: 'Opened on a phone.' });
  const theirs = await call(helper.token, 'POST', '/shops', { handle: `helped.${run}`.slice(0, 32), name: `Helped ${run}`, description: '' });
  await call(helper.token, 'PUT', `/shops/${theirs.shop_id}/staff/${owner.account_id}`);
  const page = await t.page({ viewport: PHONE });
  await logInInBrowser(page, owner.username);
  await page.evaluate(() => (location.hash = '#/shops'));
  await expectText(page, '[data-testid=my-shops]', mine, 'the shop opened on another device');
  await expectText(page, '[data-testid=my-shops]', `Helped ${run}`, 'the shop the account is staff of');
  t.screenshot(page);
});
