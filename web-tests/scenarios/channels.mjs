// Channels: Ann, a channel's owner, writes an article with a Markdown
// preview (an XSS payload in it), publishes; Bob, on a phone, finds the
// channel, follows it, sees the article unread in his feed, reads it,
// likes it and comments; the comment is held until Ann features it. Bob
// then opens the public page, where nothing of the payload runs. With
// sixty more comments, Ann pages through them and lists the held ones.
//
// Article cards: Bob shares an article (with a cover) from the Channels
// tab into his chat with Cy, a contact who does not follow the channel;
// Cy sees the card arrive — cover, title, channel — and opens the article
// from it in the Channels tab.

import { DESKTOP, PHONE, args, run, fail, call, apiUser, apiBefriend, expectVisible, expectText, expectUrl, logInInBrowser, openChatWith, scenario } from '../harness.mjs';

const PAYLOAD = [
  '# Field notes',
  '',
  'Plain **words** stay.',
  '',
  '<script>window.__xss = 1; document.title = "pwned"</script>',
  '',
  '<img src=x onerror="window.__xss = 2; document.title = \'pwned\'">',
  '',
  '[click me](javascript:window.__xss=3)',
  '',
  '<svg onload="window.__xss = 4"></svg>',
].join('\n');

/** Fails if anything of the payload ran on `page`. */
async function expectNothingRan(page, where) {
  const ran = await page.evaluate(() => ({ xss: /** @type {any} */ (window).__xss ?? null, title: document.title, scripts: document.querySelectorAll('script:not([src])').length }));
  if (ran.xss !== null || ran.title === 'pwned') fail(`the payload ran on ${where}: ${JSON.stringify(ran)}`);
  return ran;
}

scenario('channels', async (t) => {
  const ann = await apiUser('ann');
  const bob = await apiUser('bob');
  const handle = `news.${run}`.slice(0, 32);
  const channel = await call(ann.token, 'POST', '/channels', { handle, name: `Ann's News ${run}`, description: 'Field notes, weekly.' });
  const dialogs = [];

  // Ann writes, previews and publishes.
  const owner = await t.page({ viewport: DESKTOP });
  owner.on('dialog', (dialog) => dialogs.push(dialog.message()));
  await logInInBrowser(owner, ann.username);
  await owner.goto(`${args.baseUrl}/#/channel/${channel.channel_id}/write`);
  await owner.fill('[data-testid=article-title-input]', 'Field notes');
  await owner.fill('[data-testid=article-body-input]', PAYLOAD);
  await owner.click('[data-testid=preview]');
  await expectText(owner, '[data-testid=article-preview]', 'Plain words stay', 'the Markdown preview');
  await expectNothingRan(owner, 'the preview');
  await t.screenshotNow(owner, 'write');
  await owner.click('[data-testid=publish]');
  await expectText(owner, '[data-testid=article-title]', 'Field notes', 'the published article');

  // Bob finds the channel, follows it, and reads the article from his feed.
  const reader = await t.page({ viewport: PHONE, name: 'bob' });
  reader.on('dialog', (dialog) => dialogs.push(dialog.message()));
  await logInInBrowser(reader, bob.username);
  await reader.goto(`${args.baseUrl}/#/channels`);
  await reader.fill('[data-testid=channel-search]', handle);
  await expectVisible(reader, `[data-testid=channel-row][data-handle="${handle}"]`, 'the channel found');
  await reader.click(`[data-testid=channel-row][data-handle="${handle}"] [data-testid=follow]`);
  await expectVisible(reader, '[data-testid=article-row][data-read=false]', 'the article, unread, in the feed');
  await t.screenshotNow(reader, 'feed');
  await reader.click('[data-testid=article-row] a');
  await expectText(reader, '[data-testid=article-body]', 'Plain words stay', 'the article body');
  await expectNothingRan(reader, 'the in-app reader');
  await reader.click('[data-testid=like]');
  await expectText(reader, '[data-testid=like]', '1', 'the like counted');
  await reader.fill('[data-testid=comment-text]', `Great read ${run}`);
  await reader.click('[data-testid=comment-send]');
  await expectVisible(reader, '[data-testid=comment][data-featured=false]', 'his own held comment, shown to him');
  await t.screenshotNow(reader, 'article');

  // Ann sees the held comment and features it; Bob sees it featured.
  await owner.reload();
  await expectVisible(owner, '[data-testid=comment][data-featured=false] [data-testid=feature]', 'the held comment, for the owner');
  await owner.click('[data-testid=comment] [data-testid=feature]');
  await expectVisible(owner, '[data-testid=comment][data-featured=true]', 'the comment featured');
  await t.screenshotNow(owner, 'owner');
  await reader.reload();
  await expectVisible(reader, '[data-testid=comment][data-featured=true]', 'the featured comment, for Bob');

  // The public page: readable without the app, and nothing of the payload runs.
  const view = await call(bob.token, 'GET', `/articles/${(await call(bob.token, 'GET', '/subscriptions/feed')).items[0].article.article_id}`);
  const visitor = await t.page({ viewport: PHONE, name: 'visitor' });
  visitor.on('dialog', (dialog) => dialogs.push(dialog.message()));
  const answer = await visitor.goto(`${args.baseUrl}${view.url}`);
  const csp = answer?.headers()['content-security-policy'] ?? '';
  if (!csp.includes("default-src 'none'") || csp.includes('script-src')) fail(`the public page's policy: ${csp}`);
  await expectText(visitor, 'article', 'Plain words stay', 'the public page');
  await expectText(visitor, '.comments', `Great read ${run}`, 'the featured comment on the public page');
  await visitor.waitForTimeout(300);
  const ran = await expectNothingRan(visitor, 'the public page');
  if (ran.scripts !== 0) fail(`the public page has ${ran.scripts} inline scripts`);
  await t.screenshotNow(visitor, 'public');

  // Sixty more comments: Ann sees the newest fifty, loads the rest
  // ("more"), then lists the held ones only, a page at a time again.
  const cat = await apiUser('cat');
  for (let i = 0; i < 30; i += 1) {
    await call(bob.token, 'POST', `/articles/${view.article_id}/comments`, { text: `bob ${i}` });
    await call(cat.token, 'POST', `/articles/${view.article_id}/comments`, { text: `cat ${i}` });
  }
  const shown = (count) => owner.waitForFunction((n) => document.querySelectorAll('[data-testid=comment]').length === n, count);
  await owner.reload();
  await expectVisible(owner, '[data-testid=comments-more]', 'more comments to load');
  await shown(50);
  await owner.click('[data-testid=comments-more]');
  await shown(61);
  if (await owner.isVisible('[data-testid=comments-more]')) fail('"more" stays after the last page');
  await owner.selectOption('[data-testid=comments-status]', 'held');
  await shown(50);
  await expectVisible(owner, '[data-testid=comments-more]', 'more held comments to load');
  if (await owner.locator('[data-testid=comment][data-featured=true]').count()) fail('a featured comment among the held ones');
  await t.screenshotNow(owner, 'held');
  if (dialogs.length) fail(`dialogs opened: ${JSON.stringify(dialogs)}`);
});

/** A 1×1 PNG: a cover the server decodes and makes a thumbnail of. */
const COVER_PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64');

async function uploadCover(user) {
  const response = await fetch(`${args.baseUrl}/api/v1/media`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${user.token}`, 'Content-Type': 'image/png', Accept: 'application/json' },
    body: COVER_PNG,
  });
  if (!response.ok) fail(`uploading the cover: ${response.status} ${await response.text()}`);
  return (await response.json()).media_id;
}

scenario('article-card', async (t) => {
  const ann = await apiUser('ann');
  const bob = await apiUser('bob');
  const cy = await apiUser('cy');
  const conversationId = await apiBefriend(bob, cy);
  const handle = `cards.${run}`.slice(0, 32);
  const channelName = `Ann's Cards ${run}`;
  const channel = await call(ann.token, 'POST', '/channels', { handle, name: channelName, description: 'Shared in chats.' });
  const cover = await uploadCover(ann);
  const title = `Rain over the piazza ${run}`;
  const published = await call(ann.token, 'POST', `/channels/${channel.channel_id}/articles`, { title, body_markdown: 'It rained **all day**.', cover_media_id: cover });

  // Bob shares the article from the Channels tab into his chat with Cy.
  const sharer = await t.page({ viewport: DESKTOP, name: 'bob' });
  await logInInBrowser(sharer, bob.username);
  await sharer.goto(`${args.baseUrl}/#/article/${published.article_id}`);
  await expectText(sharer, '[data-testid=article-title]', title, 'the article, for Bob');
  await sharer.click('[data-testid=share-to-chat]');
  await expectVisible(sharer, `[data-testid=share-dialog] [data-testid=share-target][data-conversation-id="${conversationId}"]`, 'his chat with Cy among the targets');
  await t.screenshotNow(sharer, 'share');
  await sharer.click(`[data-testid=share-target][data-conversation-id="${conversationId}"] button`);
  await expectVisible(sharer, '[data-testid=shared]', 'the toast saying where it went');

  // It is stored once, as a card with the article's snapshot.
  const stored = async () => (await call(cy.token, 'GET', `/conversations/${conversationId}/messages`)).messages.filter((m) => m.kind === 'article_card');
  for (let waited = 0; (await stored()).length === 0 && waited < 50; waited += 1) await new Promise((resolve) => setTimeout(resolve, 100));
  const cards = await stored();
  if (cards.length !== 1) fail(`article cards stored: ${JSON.stringify(cards)}`);
  const card = cards[0].article;
  if (card.article_id !== published.article_id || card.title !== title || card.channel_name !== channelName || card.cover_media_id !== cover || card.url !== `/c/${handle}/${published.article_id}`) {
    fail(`the card's snapshot: ${JSON.stringify(card)}`);
  }

  // Cy sees the card in the chat, its cover loaded, and opens the article from it.
  const receiver = await t.page({ viewport: PHONE, name: 'cy' });
  await logInInBrowser(receiver, cy.username);
  await openChatWith(receiver, `bob ${run}`);
  const shown = `[data-testid=article-card][data-article-id="${published.article_id}"]`;
  await expectText(receiver, shown, title, 'the card with its title');
  await expectText(receiver, shown, channelName, 'the card with its channel');
  await receiver.waitForFunction((selector) => {
    const img = document.querySelector(`${selector} img.article-card-cover`);
    return !!img && img.complete && img.naturalWidth > 0;
  }, shown, { timeout: 10_000 }).catch(() => fail("the card's cover did not load"));
  await t.screenshotNow(receiver, 'chat');
  await receiver.click(shown);
  await expectUrl(receiver, `#/article/${published.article_id}`);
  await expectText(receiver, '[data-testid=article-body]', 'It rained all day', 'the article opened from the card');
  await t.screenshotNow(receiver, 'opened');
});
