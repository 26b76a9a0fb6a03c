// Search: from the magnifier over the chat list, a Chinese word inside a
// longer run is found and marked; the result opens its conversation
// scrolled to the message, a hundred and twenty messages back; the last
// word typed matches longer words; contacts are found by name, a
// channel by a Chinese word of its description; on a phone in the dark,
// a search link opens with its results.

import { DESKTOP, PHONE, args, run, fail, call, expectUrl, apiUser, apiBefriend, apiSend, expectVisible, expectText, logInInBrowser, scenario } from '../harness.mjs';

const FAR = '我们明天在北京天安门广场见面吧';

scenario('search', async (t) => {
  const ann = await apiUser('ann');
  const bob = await apiUser('bob');
  const direct = await apiBefriend(ann, bob);
  await apiSend(bob, direct, FAR);
  await apiSend(bob, direct, 'Ci vediamo in pizzeria stasera?');
  for (let n = 0; n < 120; n += 1) await apiSend(ann, direct, `filler ${n}`);

  const page = await t.page({ viewport: DESKTOP });
  await logInInBrowser(page, ann.username);
  await page.click('[data-testid=open-search]');
  await expectVisible(page, '[data-testid=search-page]', 'the search page');
  await page.fill('[data-testid=search-input]', '北京');
  await expectText(page, '[data-testid=search-message] mark', '北京', '北京 found inside the run and marked');
  await expectText(page, '[data-testid=search-status]', '1', 'the count said');
  await t.screenshotNow(page, 'chinese');

  // The result opens the conversation at the message, far up the history.
  await page.click('[data-testid=search-message] a');
  const far = page.locator('.bubble', { hasText: FAR });
  await far.waitFor({ state: 'visible', timeout: 10_000 });
  if (!(await far.isVisible())) fail('the message found is not shown');
  await t.screenshotNow(page, 'opened');

  // Typing: the last word matches longer words; whole words once a space follows.
  await page.goto(`${args.baseUrl}/#/search`);
  await page.fill('[data-testid=search-input]', 'pizz');
  await expectText(page, '[data-testid=search-message] mark', 'pizz', 'pizz marked inside pizzeria');
  await page.fill('[data-testid=search-input]', 'pizz ');
  await expectText(page, '[data-testid=search-status]', 'pizz', 'nothing for the whole word pizz');
  if (await page.locator('[data-testid=search-message]').count()) fail('a whole word matched a longer one');

  // Contacts, by display name.
  await page.click('[data-testid=search-scope-contacts]');
  await page.fill('[data-testid=search-input]', `bob ${run}`);
  await expectText(page, '[data-testid=search-contact] .row-title', `bob ${run}`, 'Bob found by his name');
  await t.screenshotNow(page, 'contacts');

  // Channels, anyone's: found by a Chinese word of the description.
  const channel = await call(bob.token, 'POST', '/channels', {
    handle: `cucina_${run}`, name: `Cucina ${run}`, description: '北京烤鸭 e pizza al forno',
  });
  await page.click('[data-testid=search-scope-channels]');
  await page.fill('[data-testid=search-input]', '烤鸭');
  await expectText(page, '[data-testid=search-channel] .row-title', `Cucina ${run}`, 'the channel found');
  await page.click('[data-testid=search-channel] a');
  await expectUrl(page, `#/channel/${channel.channel_id}`);

  // A phone in the dark opens a search link with its results.
  const phone = await t.page({ viewport: PHONE, colorScheme: 'dark', name: 'phone' });
  await logInInBrowser(phone, ann.username);
  await phone.goto(`${args.baseUrl}/#/search?q=${encodeURIComponent('天安门')}&scope=messages`);
  await expectText(phone, '[data-testid=search-message] mark', '天安门', 'the link searched at once');
  t.screenshot(phone);
});
