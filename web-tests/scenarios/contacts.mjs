// Contacts and profiles: adding with a greeting, requests received
// (accept, decline) and sent (pending), a person's profile, my own
// profile and password.

import { readFileSync } from 'node:fs';
import {
  DESKTOP,
  PHONE,
  PASSWORD,
  args,
  run,
  fail,
  call,
  apiUser,
  apiBefriend,
  apiSend,
  expectVisible,
  expectAttached,
  expectText,
  expectUrl,
  logInInBrowser,
  openChatWith,
  scenario,
} from '../harness.mjs';

/** A PNG drawn by the page itself (w×h, one colour with a white square), as bytes. */
async function drawPng(page, width, height, colour) {
  const base64 = await page.evaluate(
    async ([w, h, fill]) => {
      const canvas = new OffscreenCanvas(w, h);
      const g = canvas.getContext('2d');
      g.fillStyle = fill;
      g.fillRect(0, 0, w, h);
      g.fillStyle = '#fff';
      g.fillRect(w / 4, h / 4, w / 2, h / 2);
      const bytes = new Uint8Array(await (await canvas.convertToBlob({ type: 'image/png' })).arrayBuffer());
      let binary = '';
      for (const byte of bytes) binary += String.fromCharCode(byte);
      return btoa(binary);
    },
    [width, height, colour],
  );
  return Buffer.from(base64, 'base64');
}

/** Uploads a picture through the API and makes it the account's avatar. */
async function apiAvatar(user, png) {
  const response = await fetch(`${args.baseUrl}/api/v1/media`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${user.token}`, 'Content-Type': 'image/png', Accept: 'application/json' },
    body: png,
  });
  if (!response.ok) fail(`upload: ${response.status} ${await response.text()}`);
  const { media_id: mediaId } = await response.json();
  await call(user.token, 'PATCH', '/me', { avatar_media_id: mediaId });
  return mediaId;
}

scenario('contacts-requests', async (t) => {
  const ann = await apiUser('ann');
  const bob = await apiUser('bob');
  const cat = await apiUser('cat');
  const page = await t.page({ viewport: DESKTOP });
  await logInInBrowser(page, ann.username);
  await page.click('.areas a[href="#/contacts"]');

  // An unknown username is said so, before any request.
  await page.fill('#contact-search', `nobody_${run}`);
  await page.click('[data-testid=add-contact-form] button[type=submit]');
  await expectText(page, '[data-testid=add-contact-form] .error', `nobody_${run}`, 'the unknown username');

  // Adding Bob: who he is first, then a greeting to send.
  await page.fill('#contact-search', bob.username);
  await page.click('[data-testid=add-contact-form] button[type=submit]');
  await expectText(page, '[data-testid=add-contact-who]', `bob ${run}`, "Bob's display name in the add dialog");
  await expectVisible(page, '[data-testid=add-contact-who] .avatar', "Bob's avatar in the add dialog");
  const suggested = await page.inputValue('#add-greeting');
  if (!suggested.includes(`ann ${run}`)) fail(`the suggested greeting is "${suggested}"`);
  await page.fill('#add-greeting', 'Hello Bob, Ann from the picnic');
  await t.screenshotNow(page, 'add');
  await page.click('[data-testid=send-request]');
  await expectVisible(page, '.toast', 'the "request sent" toast');
  await expectText(page, `.outgoing li[data-to="${bob.username}"]`, 'Ann from the picnic', 'the pending request with its greeting');
  await expectText(page, `.outgoing li[data-to="${bob.username}"] .tag`, 'Pending', 'marked pending');

  // Cat asks Ann: her name, picture and greeting arrive live, with a count on the tab.
  await call(cat.token, 'POST', '/contacts/requests', { to: ann.username, greeting: 'Ciao Ann, sono Cat' });
  const catRow = `.requests li[data-from="${cat.username}"]`;
  await expectText(page, catRow, `cat ${run}`, "Cat's display name on her request");
  await expectText(page, catRow, 'Ciao Ann, sono Cat', "Cat's greeting");
  await expectVisible(page, `${catRow} .avatar`, "Cat's avatar on her request");
  await expectText(page, '.areas a[data-area=contacts] .nav-badge:not([hidden])', '1', 'the count on the Contacts tab');
  t.screenshot(page);

  // Bob, on a phone in the dark, sees Ann's request as she wrote it and accepts.
  const phone = await t.page({ viewport: PHONE, name: 'phone', colorScheme: 'dark' });
  await logInInBrowser(phone, bob.username);
  await phone.click('.areas a[href="#/contacts"]');
  const annRow = `.requests li[data-from="${ann.username}"]`;
  await expectText(phone, annRow, `ann ${run}`, "Ann's name at Bob");
  await expectText(phone, annRow, 'Ann from the picnic', "Ann's greeting at Bob");
  t.screenshot(phone, 'phone-dark');
  await phone.click(`${annRow} [data-testid=accept-request]`);
  await expectVisible(phone, `.contacts li[data-username="${ann.username}"]`, 'Ann among Bob\'s contacts');
  await expectVisible(page, `.contacts li[data-username="${bob.username}"]`, 'Bob among Ann\'s contacts');
  await page.waitForSelector(`.outgoing li[data-to="${bob.username}"]`, { state: 'detached' })
    .catch(() => fail('the accepted request still pending at Ann'));

  // Ann declines Cat: gone from her list; Cat is not told (still pending for her).
  await page.click(`${catRow} [data-testid=decline-request]`);
  await page.waitForSelector(catRow, { state: 'detached' }).catch(() => fail('the declined request is still listed'));
  const incoming = await call(ann.token, 'GET', '/contacts/requests');
  if (incoming.requests.length) fail(`Ann still has requests: ${JSON.stringify(incoming)}`);
  const pending = await call(cat.token, 'GET', '/contacts/requests/outgoing');
  if (!pending.requests.some((r) => r.to.username === ann.username)) fail(`Cat's request is not pending: ${JSON.stringify(pending)}`);
  await page.waitForSelector('.areas a[data-area=contacts] .nav-badge:not([hidden])', { state: 'detached' })
    .catch(() => fail('the Contacts tab still counts a request'));
});

scenario('profile', async (t) => {
  const ann = await apiUser('ann');
  const bob = await apiUser('bob');
  await apiBefriend(ann, bob);
  const page = await t.page({ viewport: DESKTOP });
  const png = await drawPng(page, 120, 120, '#2b7f9e');
  await apiAvatar(bob, png);
  await call(bob.token, 'PATCH', '/me', { bio: 'Bakes bread on Saturdays' });
  await logInInBrowser(page, ann.username);

  // Bob's picture in the chat list and the conversation header.
  const picture = (scope) => page.waitForFunction(
    (selector) => {
      const img = document.querySelector(`${selector} .avatar.has-picture img`);
      return img && img.complete && img.naturalWidth > 0 && img.src.startsWith('blob:');
    },
    scope,
    { timeout: 10_000 },
  );
  await picture('.chat-list').catch(() => fail("Bob's picture is not in the chat list"));
  await openChatWith(page, `bob ${run}`);
  await picture('[data-testid=conversation-peer]').catch(() => fail("Bob's picture is not in the header"));

  // The header opens his profile: picture, name, username, bio, Message.
  await page.click('[data-testid=conversation-peer]');
  await expectUrl(page, `#/contacts/${bob.account_id}`);
  await expectText(page, '[data-testid=profile] h1', `bob ${run}`, "Bob's name on his profile");
  await expectText(page, '[data-testid=profile] .username', `@${bob.username}`, "Bob's username");
  await expectText(page, '[data-testid=profile-bio]', 'Bakes bread on Saturdays', "Bob's bio");
  await picture('[data-testid=profile]').catch(() => fail("Bob's picture is not on his profile"));
  t.screenshot(page);
  await page.click('[data-testid=profile-message]');
  await expectVisible(page, 'pz-conversation #composer', 'back in the chat from the profile');
  await picture('[data-testid=conversation-peer]').catch(() => fail("Bob's picture is not in the header again"));

  // The same on a phone, in the dark.
  const phone = await t.page({ viewport: PHONE, name: 'phone', colorScheme: 'dark' });
  await logInInBrowser(phone, ann.username);
  await phone.goto(`${args.baseUrl}/#/contacts/${bob.account_id}`);
  await expectText(phone, '[data-testid=profile-bio]', 'Bakes bread on Saturdays', "Bob's bio on the phone");
  t.screenshot(phone, 'phone-dark');
});

scenario('me', async (t) => {
  const ann = await apiUser('ann');
  const bob = await apiUser('bob');
  await apiBefriend(ann, bob);
  // Bob watches his chat list: Ann's new name and picture arrive live.
  const bobPage = await t.page({ viewport: DESKTOP, name: 'bob' });
  await logInInBrowser(bobPage, bob.username);
  const page = await t.page({ viewport: PHONE, colorScheme: 'dark' });
  await logInInBrowser(page, ann.username);
  // The profile is where people look for it: the Me tab and the account menu.
  await page.click('[data-testid=account-menu]');
  await page.click('[data-testid=menu-profile]');
  await expectUrl(page, '#/me');
  await expectVisible(page, '#me-display-name', 'the profile form');
  await page.fill('#me-display-name', `Ann Lee ${run}`);
  await page.fill('#me-bio', 'Plays the cello');
  await page.click('[data-testid=me-save]');
  await expectVisible(page, '.toast', 'the "saved" toast');
  await page.setInputFiles('[data-testid=avatar-input]', {
    name: 'me.png',
    mimeType: 'image/png',
    buffer: await drawPng(page, 64, 64, '#c8377e'),
  });
  await page.waitForFunction(
    () => document.querySelector('[data-testid=me-profile] .avatar.has-picture img')?.naturalWidth > 0,
    null,
    { timeout: 10_000 },
  ).catch(() => fail('the new picture is not shown'));
  await expectVisible(page, '[data-testid=account-menu] .avatar.has-picture', 'the new picture in the header');
  await expectText(page, '[data-testid=account-menu]', `Ann Lee ${run}`, 'the new name in the header');
  await expectAttached(page, '#me-bio', 'the page kept (not rebuilt) after the change');
  const me = await call(ann.token, 'GET', '/me');
  if (me.display_name !== `Ann Lee ${run}` || me.bio !== 'Plays the cello' || !me.avatar_media_id) {
    fail(`the profile was not saved: ${JSON.stringify(me)}`);
  }
  await expectText(bobPage, '.chat-list li', `Ann Lee ${run}`, "Ann's new name at Bob, live");
  await expectVisible(bobPage, '.chat-list .avatar.has-picture', "Ann's new picture at Bob, live");
  t.screenshot(page, 'phone-dark');
  t.screenshot(bobPage, 'bob');

  // The password: a wrong current one is refused; the right one changes
  // it and, as asked, logs the other devices out.
  const other = await t.page({ viewport: DESKTOP, name: 'other' });
  await logInInBrowser(other, ann.username);
  await page.fill('#pw-old', 'not my password');
  await page.fill('#pw-new', 'a much better password');
  await page.fill('#pw-repeat', 'a much better password');
  await page.click('[data-testid=password-submit]');
  await expectVisible(page, '[data-testid=me-password] .error:not(:empty)', 'the wrong current password refused');
  // Changed without logging the others out: they are told, and stay in.
  await page.fill('#pw-old', PASSWORD);
  await page.fill('#pw-new', 'an interim password');
  await page.fill('#pw-repeat', 'an interim password');
  await page.uncheck('#pw-sign-out');
  await page.click('[data-testid=password-submit]');
  await expectText(page, '.toast', 'Password changed', 'the "password changed" toast');
  await expectText(other, '.toast', 'another device', 'the other browser told of the change');
  await expectVisible(other, 'pz-chat-list', 'the other browser still in');
  // Changed again, logging the others out.
  await page.fill('#pw-old', 'an interim password');
  await page.fill('#pw-new', 'a much better password');
  await page.fill('#pw-repeat', 'a much better password');
  if (!(await page.isChecked('#pw-sign-out'))) fail('"log out my other devices" is not the default again');
  await page.click('[data-testid=password-submit]');
  await expectUrl(other, '#/login');
  await expectAttached(page, '#me-display-name', 'this device still in');
  await call(null, 'POST', '/sessions', { username: ann.username, password: 'a much better password', device_name: 'check' });
});

scenario('avatar-thumbnails', async (t) => {
  const ann = await apiUser('ann');
  const bob = await apiUser('bob');
  await apiBefriend(ann, bob);
  const page = await t.page({ viewport: DESKTOP });
  const groupPicture = await apiAvatar(ann, await drawPng(page, 80, 80, '#27ae60'));
  const annPicture = await apiAvatar(ann, await drawPng(page, 120, 120, '#c0392b'));
  const group = await call(ann.token, 'POST', '/conversations', { title: `Band ${run}`, members: [bob.account_id] });
  await call(ann.token, 'PATCH', `/conversations/${group.conversation_id}`, { avatar_media_id: groupPicture });
  // Every picture of a person or a group is read as its thumbnail: others
  // may not read an avatar's original.
  const media = [];
  page.on('request', (request) => {
    const path = new URL(request.url()).pathname;
    if (path.startsWith('/api/v1/media/')) media.push(path);
  });
  await logInInBrowser(page, bob.username);
  await expectVisible(page, `.chat-list li[data-conversation-id="${group.conversation_id}"] .avatar.has-picture`, "the group's picture in the list");
  await openChatWith(page, `ann ${run}`);
  await expectVisible(page, '[data-testid=conversation-peer] .avatar.has-picture', "Ann's picture in the header");
  await page.goto(`${args.baseUrl}/#/contacts/${ann.account_id}`);
  await expectVisible(page, '.avatar-lg.has-picture', "Ann's picture on her profile");
  await page.goto(`${args.baseUrl}/#/chats/${group.conversation_id}/info`);
  await expectVisible(page, `.members li[data-account-id="${ann.account_id}"] .avatar.has-picture`, "Ann's picture among the members");
  const originals = media.filter((path) => !path.endsWith('/thumbnail'));
  if (originals.length || !media.length) fail(`avatar requests: ${JSON.stringify(media)}`);

  // A thumbnail the server does not give leaves the initials: no other
  // request is made for the picture (there is no fallback to the original).
  const fresh = await t.page({ viewport: PHONE, name: 'no-thumbnail' });
  const freshMedia = [];
  fresh.on('request', (request) => {
    const path = new URL(request.url()).pathname;
    if (path.startsWith('/api/v1/media/')) freshMedia.push(path);
  });
  await fresh.route(`**/api/v1/media/${annPicture}/thumbnail`, (route) =>
    route.fulfill({
      status: 404,
      contentType: 'application/problem+json',
      body: JSON.stringify({ type: 'about:blank', title: 'Not found', status: 404, code: 'not_found' }),
    }),
  );
  await logInInBrowser(fresh, bob.username);
  await expectVisible(fresh, `.chat-list li[data-conversation-id="${group.conversation_id}"] .avatar.has-picture`, "the group's picture on the phone");
  await fresh.waitForTimeout(500);
  const annRow = fresh.locator('.chat-list li').filter({ hasText: `ann ${run}` }).first();
  if ((await annRow.locator('.avatar.has-picture').count()) || !(await annRow.locator('.avatar .initials').count())) {
    fail("Ann's avatar is not her initials without a thumbnail");
  }
  if (freshMedia.includes(`/api/v1/media/${annPicture}`)) fail(`the original was fetched: ${JSON.stringify(freshMedia)}`);
  t.screenshot(page);
});

scenario('thumbnail-cache', async (t) => {
  const page = await t.page({ viewport: DESKTOP });
  await page.goto(`${args.baseUrl}/#/login`);
  const result = await page.evaluate(async () => {
    const { Session } = await import('/lib/session.js');
    const canvas = new OffscreenCanvas(8, 8);
    canvas.getContext('2d').fillRect(0, 0, 8, 8);
    const png = await canvas.convertToBlob({ type: 'image/png' });
    const session = new Session({ account_id: 'acct_cache', username: 'cache', token: 'none' }, () => {});
    let fetched = 0;
    session.api.thumbnail = async () => {
      fetched += 1;
      return png;
    };
    // The page's CSP lets images, not fetch, read blob: URLs.
    const alive = async (url) => {
      const probe = new Image();
      probe.src = url;
      try {
        await probe.decode();
        return true;
      } catch {
        return false;
      }
    };
    // The oldest, shown by an image in the page; one nobody shows; one
    // used again later.
    const shown = await session.thumbnailUrl('m-shown');
    const img = new Image();
    img.src = shown;
    document.body.append(img);
    const unused = await session.thumbnailUrl('m-unused');
    const reused = await session.thumbnailUrl('m-reused');
    for (let i = 0; i < 450; i += 1) {
      await session.thumbnailUrl(`m-${i}`);
      if (i === 300) await session.thumbnailUrl('m-reused');
    }
    await img.decode();
    return {
      shown: await alive(shown),
      unused: await alive(unused),
      reused: await alive(reused),
      kept: session.thumbnails.size,
      fetched,
      imgWidth: img.naturalWidth,
    };
  });
  const expected = { shown: true, unused: false, reused: true, fetched: 453, imgWidth: 8 };
  for (const [key, value] of Object.entries(expected)) {
    if (result[key] !== value) fail(`thumbnail cache: ${JSON.stringify(result)}`);
  }
  if (result.kept > 400) fail(`thumbnail cache kept ${result.kept}`);
});

scenario('contact-remark-and-code', async (t) => {
  const ann = await apiUser('ann');
  const bob = await apiUser('bob');
  const cat = await apiUser('cat');
  await apiBefriend(ann, bob);
  const page = await t.page({ viewport: DESKTOP });
  await logInInBrowser(page, ann.username);

  // Ann names Bob "Bobby" on his profile: first everywhere, his own name after it.
  await page.click('.areas a[href="#/contacts"]');
  await page.click(`.contacts li[data-username="${bob.username}"] a`);
  await expectVisible(page, '[data-testid=remark-form]', 'the remark field on a contact');
  await page.fill('#profile-remark', '  Bobby  ');
  await page.click('[data-testid=save-remark]');
  await expectText(page, '#profile-name', 'Bobby', 'the remark as the profile title');
  await expectText(page, '[data-testid=profile-real-name]', `bob ${run}`, "Bob's own name under it");
  t.screenshot(page, 'profile');
  await page.click('[data-testid=profile-back]');
  await expectText(page, `.contacts li[data-username="${bob.username}"]`, 'Bobby', 'the remark in the contacts list');
  await expectText(page, `.contacts li[data-username="${bob.username}"]`, `bob ${run}`, 'his own name beside it');
  await page.click('.areas a[href="#/chats"]');
  await expectText(page, '.chat-list li', 'Bobby', 'the remark in the chat list');

  // Set from another device of Ann's: it arrives live; Bob never sees it.
  await call(ann.token, 'PATCH', `/contacts/${bob.account_id}`, { remark: 'Robert' });
  await expectText(page, '.chat-list li', 'Robert', 'the remark set elsewhere, live');
  const bobs = await call(bob.token, 'GET', '/contacts');
  if (bobs.contacts[0].remark !== null) fail(`Bob sees a remark: ${JSON.stringify(bobs)}`);

  // My QR code: the picture and its payload, on the Me page.
  await page.click('.areas a[href="#/me"]');
  await page
    .waitForFunction(() => {
      const img = document.querySelector('[data-testid=contact-code-image]');
      return img && img.complete && img.naturalWidth > 0 && img.src.startsWith('blob:');
    }, null, { timeout: 10_000 })
    .catch(() => fail('the contact code picture is not shown'));
  await expectText(page, '[data-testid=contact-code-payload]', 'piazza-contact:', 'the payload');
  const payload = (await page.textContent('[data-testid=contact-code-payload]')).trim();
  await t.screenshotNow(page, 'code');

  // Cat pastes it under "Add by code": the request reaches Ann.
  const catPage = await t.page({ viewport: PHONE, name: 'cat', colorScheme: 'dark' });
  await logInInBrowser(catPage, cat.username);
  await catPage.click('.areas a[href="#/contacts"]');
  await catPage.fill('#contact-code', `  ${payload} `);
  await catPage.click('[data-testid=add-by-code]');
  await expectVisible(catPage, '.toast', 'the "request sent" toast');
  await expectText(catPage, `.outgoing li[data-to="${ann.username}"]`, `ann ${run}`, 'the request to Ann, pending');
  await catPage.fill('#contact-code', 'hello');
  await catPage.click('[data-testid=add-by-code]');
  await expectText(catPage, '[data-testid=add-by-code-form] .error', 'not a Piazza contact code', 'garbage refused');
  t.screenshot(catPage, 'cat');

  // Ann resets her code (asked first): the old one is nobody's.
  await page.click('[data-testid=contact-code-reset]');
  await page.click('[data-testid=contact-code-reset-confirm]');
  await page
    .waitForFunction(
      (old) => document.querySelector('[data-testid=contact-code-payload]')?.textContent.trim() !== old,
      payload,
      { timeout: 10_000 },
    )
    .catch(() => fail('the payload did not change on reset'));
  await catPage.fill('#contact-code', payload);
  await catPage.click('[data-testid=add-by-code]');
  await expectText(catPage, '[data-testid=add-by-code-form] .error', 'No one has this code', 'the reset code refused');
});

scenario('export-and-delete-account', async (t) => {
  const ann = await apiUser('ann');
  const bob = await apiUser('bob');
  const direct = await apiBefriend(ann, bob);
  await apiSend(ann, direct, 'see you around');
  const page = await t.page({ viewport: DESKTOP });
  const bobPage = await t.page({ viewport: PHONE, name: 'bob' });
  await logInInBrowser(page, ann.username);
  await logInInBrowser(bobPage, bob.username);
  await expectText(bobPage, '.chat-list li', `ann ${run}`, "Ann in Bob's list");
  await page.goto(`${args.baseUrl}/#/me`);
  // Export first: a one-use link hands the zip to the browser's own
  // download, streamed to disk, however large.
  await expectVisible(page, '[data-testid=me-export]', 'the export card');
  const [download] = await Promise.all([page.waitForEvent('download', { timeout: 20_000 }), page.click('[data-testid=export-submit]')]);
  if (!download.suggestedFilename().endsWith('.zip')) fail(`the export is named ${download.suggestedFilename()}`);
  const saved = readFileSync(await download.path());
  if (saved.subarray(0, 2).toString() !== 'PK' || !saved.includes('events.jsonl')) fail('the download is not the export zip');
  await expectText(page, '[data-testid=export-progress]', 'downloading', 'the export said it is downloading');
  // The link was good once.
  const again = await fetch(download.url());
  if (again.status !== 404) fail(`a used export link answered ${again.status}`);
  await expectVisible(page, '[data-testid=me-delete]', 'the delete card');
  // A wrong password changes nothing.
  await page.fill('#delete-password', 'not my password');
  await page.check('#delete-sure');
  await page.click('[data-testid=delete-submit]');
  await expectVisible(page, '[data-testid=me-delete] .error:not(:empty)', 'the wrong password refused');
  t.screenshot(page, 'refused');
  await page.fill('#delete-password', PASSWORD);
  await page.click('[data-testid=delete-submit]');
  await expectUrl(page, '#/login');
  await expectText(page, 'body', 'Log in within 7 days', 'how to restore it');
  t.screenshot(page, 'deleted');
  // Bob sees a deleted account, live, and cannot write to it.
  await expectText(bobPage, '.chat-list li', 'Deleted account', "Ann shown deleted at Bob's, live");
  const profile = await call(bob.token, 'GET', `/accounts/${ann.account_id}`);
  if (profile.display_name !== 'Deleted account' || profile.username.includes('ann')) {
    fail(`the deleted account still shows its face: ${JSON.stringify(profile)}`);
  }
  t.screenshot(bobPage, 'bob-sees-deleted');
  // In Bob's language.
  await bobPage.evaluate(() => localStorage.setItem('piazza.lang', 'it'));
  await bobPage.reload();
  await expectText(bobPage, '.chat-list li', 'Account eliminato', 'the deleted account named in Italian');
  await bobPage.evaluate(() => localStorage.setItem('piazza.lang', 'en'));
  await bobPage.reload();
  // Logging in again within the grace period restores it.
  await logInInBrowser(page, ann.username);
  await expectText(bobPage, '.chat-list li', `ann ${run}`, "Ann back in Bob's list, live");
});
