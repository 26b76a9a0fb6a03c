// Moments, from three accounts: Ann posts two pictures to all her
// contacts; Bob and Cat are her contacts but not each other's. Each sees
// the likes and comments of their own contacts only (the WeChat rule, on
// the server): Bob never sees Cat's comment, nor Ann's reply to her. Ann
// sees both live, with a count on the tab and a notifications page. A
// post for Bob only never reaches Cat.

import { DESKTOP, PHONE, args, call, apiUser, apiBefriend, expectVisible, expectText, fail, logInInBrowser, run, scenario } from '../harness.mjs';

/** A PNG of one colour, drawn in the page. */
async function png(page, colour) {
  const base64 = await page.evaluate(async (fill) => {
    const canvas = new OffscreenCanvas(120, 90);
    const g = canvas.getContext('2d');
    g.fillStyle = fill;
    g.fillRect(0, 0, 120, 90);
    const bytes = new Uint8Array(await (await canvas.convertToBlob({ type: 'image/png' })).arrayBuffer());
    return btoa(String.fromCharCode(...bytes));
  }, colour);
  return Buffer.from(base64, 'base64');
}

async function commentLines(page, momentSelector) {
  return page.locator(`${momentSelector} [data-testid=moment-comment-line]`).allTextContents();
}

scenario('moments', async (t) => {
  const ann = await apiUser('ann');
  const bob = await apiUser('bob');
  const cat = await apiUser('cat');
  await apiBefriend(ann, bob);
  await apiBefriend(ann, cat);
  const page = await t.page({ viewport: DESKTOP });
  await logInInBrowser(page, ann.username);
  await page.click('.areas a[href="#/moments"]');
  await expectVisible(page, '[data-testid=moments-empty]', 'an empty feed that says what goes there');

  // Ann posts two pictures and a line, to all her contacts.
  await page.click('[data-testid=moment-new]');
  await expectVisible(page, '[data-testid=moment-dialog]', 'the post dialog');
  await page.fill('[data-testid=moment-text-input]', `Spring on the hill ${run}`);
  await page.setInputFiles('[data-testid=moment-files]', [
    { name: 'a.png', mimeType: 'image/png', buffer: await png(page, '#e07a5f') },
    { name: 'b.png', mimeType: 'image/png', buffer: await png(page, '#3d85c6') },
  ]);
  if ((await page.locator('[data-testid=moment-previews] img').count()) !== 2) fail('two previews before posting');
  await t.screenshotNow(page, 'compose');
  await page.click('[data-testid=moment-post]');
  await expectVisible(page, '[data-testid=moment-posted]', 'the posted toast');
  await expectText(page, '[data-testid=moment-text]', `Spring on the hill ${run}`, 'the post in the feed');
  await page.locator('[data-testid=moment-picture][src^="blob:"]').nth(1).waitFor({ timeout: 10_000 });
  const feed = await call(ann.token, 'GET', '/moments/feed');
  const momentId = feed.moments[0].moment_id;
  const post = `[data-moment-id="${momentId}"]`;

  // Bob likes and comments; Cat comments: Ann sees both, live, and a count on the tab.
  await call(bob.token, 'POST', `/moments/${momentId}/likes`);
  await call(bob.token, 'POST', `/moments/${momentId}/comments`, { text: 'Lovely colours' });
  const cats = await call(cat.token, 'POST', `/moments/${momentId}/comments`, { text: 'Where is this?' });
  await expectText(page, `${post} [data-testid=moment-likes]`, `bob ${run}`, "Bob's like, live");
  await expectText(page, `${post} .moment-interactions`, 'Where is this?', "Cat's comment, live");
  await expectText(page, '.areas a[href="#/moments"] .badge', '3', 'three notifications counted on the tab');

  // Ann replies to Cat by tapping her comment.
  await page.locator(`${post} [data-testid=moment-comment-line]`).filter({ hasText: 'Where is this?' }).click();
  await page.fill(`${post} [data-testid=moment-comment-input]`, 'On the hill behind the school');
  await page.click(`${post} [data-testid=moment-comment-send]`);
  await expectText(page, `${post} .moment-interactions`, `ann ${run} replied to cat ${run}`, 'the reply, named as one');
  const reply = (await call(cat.token, 'GET', `/moments/${momentId}`)).comments.find((c) => c.reply_to === cats.comment_id);
  if (!reply) fail('Cat does not see the reply to her');
  t.screenshot(page);

  // Bob, on a phone in the dark: his like and comment, Ann's post, and
  // nothing of Cat's (no contact of his) — neither her comment nor the reply to it.
  const phone = await t.page({ viewport: PHONE, name: 'bob', colorScheme: 'dark' });
  await logInInBrowser(phone, bob.username);
  await phone.goto(`${args.baseUrl}/#/moments`);
  await expectText(phone, `${post} [data-testid=moment-likes]`, `bob ${run}`, 'his own like');
  const bobSees = await commentLines(phone, post);
  if (bobSees.length !== 1 || !bobSees[0].includes('Lovely colours')) fail(`Bob sees these comments: ${JSON.stringify(bobSees)}`);
  await t.screenshotNow(phone, 'bob-phone-dark');
  const catSees = await call(cat.token, 'GET', `/moments/${momentId}`);
  if (catSees.likes.length || catSees.comments.some((c) => c.account.account_id === bob.account_id)) {
    fail(`Cat sees Bob's like or comment: ${JSON.stringify(catSees)}`);
  }

  // The notifications page lists the like and both comments, and clears the count.
  await page.click('[data-testid=moments-notifications-link]');
  await expectVisible(page, '[data-testid=moments-notification]', 'the notifications');
  if ((await page.locator('[data-testid=moments-notification]').count()) !== 3) fail('three notifications');
  await expectText(page, '[data-testid=moments-notifications]', `bob ${run} liked your moment`, 'the like, in words');
  await t.screenshotNow(page, 'notifications');
  if (await page.locator('.areas a[href="#/moments"] .badge:not([hidden])').count()) fail('the count stays after reading');

  // A post for Bob only: Bob sees it, Cat never does.
  await page.click('a[href="#/moments"].button');
  await page.click('[data-testid=moment-new]');
  await page.fill('[data-testid=moment-text-input]', `Only for Bob ${run}`);
  await page.selectOption('[data-testid=moment-visibility-select]', 'only');
  await page.check(`[data-testid=moment-audience] input[data-username="${bob.username}"]`);
  await page.click('[data-testid=moment-post]');
  await expectText(page, '[data-testid=moment-visibility]', 'Only some', 'the post marked for some, to its author');
  await phone.reload();
  await expectText(phone, '[data-testid=moment-text]', `Only for Bob ${run}`, 'Bob sees the post for him');
  const catFeed = await call(cat.token, 'GET', '/moments/feed');
  if (catFeed.moments.some((m) => m.text.includes('Only for Bob'))) fail('Cat sees the post for Bob only');
  if (await phone.locator('[data-testid=moment-visibility]').count()) fail('Bob sees who may see it');
});
