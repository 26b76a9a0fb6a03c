// Blocking: from a person's profile (asked first, saying what it does),
// the Me page's list of blocked accounts, live on the blocker's other
// device, a direct send refused in words, and unblocking from the list.

import { DESKTOP, args, run, fail, call, apiUser, apiBefriend, expectVisible, expectText, logInInBrowser, openChatWith, scenario } from '../harness.mjs';

scenario('blocks', async (t) => {
  const ann = await apiUser('ann');
  const bob = await apiUser('bob');
  await apiBefriend(ann, bob);
  const bobName = `bob ${run}`;
  const page = await t.page({ viewport: DESKTOP });
  await logInInBrowser(page, ann.username);
  // Ann's other device, on Bob's profile.
  const other = await t.page({ viewport: DESKTOP, name: 'ann-2' });
  await logInInBrowser(other, ann.username);
  await other.goto(`${args.baseUrl}/#/contacts/${bob.account_id}`);
  await expectVisible(other, '[data-testid=profile-block]', 'Block on the other device');

  // Ann blocks Bob from his profile; the dialog says what that does first.
  await page.click('.areas a[href="#/contacts"]');
  await page.click(`.contacts li[data-username="${bob.username}"] a`);
  await page.click('[data-testid=profile-block]');
  await expectText(page, '[data-testid=block-dialog]', 'message you directly', 'what blocking does, in the dialog');
  await expectText(page, '[data-testid=block-dialog]', 'groups', 'that group messages still flow');
  await page.click('[data-testid=block-confirm]');
  await expectVisible(page, '[data-testid=profile-unblock]', 'Unblock once blocked');
  await expectVisible(page, '[data-testid=profile-blocked]', 'the profile saying he is blocked');
  const blocks = await call(ann.token, 'GET', '/blocks');
  if (blocks.blocks.length !== 1 || blocks.blocks[0].account_id !== bob.account_id) fail(`blocks: ${JSON.stringify(blocks)}`);

  // The other device shows it live, and a direct message is refused in words.
  await expectVisible(other, '[data-testid=profile-unblock]', 'the block, live on the other device');
  await openChatWith(other, bobName);
  await other.fill('#composer', 'still there?');
  await other.press('#composer', 'Enter');
  await expectText(other, '[data-testid=send-error]', 'blocked', 'the refused send, said in words');

  // The Me page lists him, on both devices.
  await page.click('.areas a[href="#/me"]');
  await expectText(page, '[data-testid=blocked-row]', bobName, 'Bob in the blocked list');
  await other.click('.areas a[href="#/me"]');
  await expectText(other, '[data-testid=blocked-row]', bobName, "Bob in the other device's blocked list");
  await page.locator('[data-testid=me-blocked]').scrollIntoViewIfNeeded();
  await t.screenshotNow(page, 'list');

  // Unblocked from the list: gone there, and live on the other device.
  await page.locator('[data-testid=blocked-row]').filter({ hasText: bobName }).locator('[data-testid=unblock]').click();
  await expectVisible(page, '[data-testid=blocked-empty]', 'the list empty after Unblock');
  await expectVisible(other, '[data-testid=blocked-empty]', "the other device's list emptied live");
  const after = await call(ann.token, 'GET', '/blocks');
  if (after.blocks.length) fail(`still blocked: ${JSON.stringify(after)}`);

});
