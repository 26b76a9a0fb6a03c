// Chat: live delivery, groups and their administration, long conversations, sync fallback, pictures, recall, delete for me, reactions.

import {
  EXPECT_TIMEOUT_MS,
  DESKTOP,
  PASSWORD,
  PHONE,
  args,
  run,
  fail,
  username,
  call,
  apiUser,
  apiBefriend,
  apiSend,
  expectVisible,
  expectAttached,
  expectText,
  expectUrl,
  signUpInBrowser,
  logInInBrowser,
  sendInBrowser,
  openChatWith,
  scenario,
} from '../harness.mjs';

scenario('chat-realtime', async (t) => {
  const alice = await t.page({ viewport: DESKTOP });
  const bob = await t.page({ viewport: PHONE, name: 'phone' });
  const aliceName = username('alice');
  const bobName = username('bob');
  await signUpInBrowser(alice, aliceName);
  await signUpInBrowser(bob, bobName);

  // Alice asks, Bob accepts: both sides update live.
  await alice.click('a[href="#/contacts"]');
  await alice.fill('#contact-search', bobName);
  await alice.click('[data-testid=add-contact-form] button[type=submit]');
  await alice.click('[data-testid=send-request]');
  await expectVisible(alice, '.toast', 'the "request sent" toast');
  await bob.click('a[href="#/contacts"]');
  await expectVisible(bob, `.requests li[data-from="${aliceName}"]`, "Alice's request at Bob");
  await bob.click(`.requests li[data-from="${aliceName}"] [data-testid=accept-request]`);
  await expectVisible(bob, `.contacts li[data-username="${aliceName}"]`, 'Alice among Bob\'s contacts');
  await expectVisible(alice, `.contacts li[data-username="${bobName}"]`, 'Bob among Alice\'s contacts');
  await alice.click(`.contacts li[data-username="${bobName}"] button`);
  await expectVisible(alice, 'pz-conversation #composer', "Alice's conversation with Bob");

  // Bob waits on his chat list; Alice writes; Bob sees the entry, preview
  // and unread badge arrive without reloading.
  await bob.click('a[href="#/chats"]');
  await sendInBrowser(alice, 'Hello Bob, ça va?');
  await expectText(bob, '.chat-list li', 'Hello Bob', "Bob's chat list entry with the preview");
  await expectText(bob, '.chat-list .badge:not([hidden])', '1', "Bob's unread badge");
  await bob.locator('.chat-list a').first().click();
  await expectText(bob, '.msg.theirs', 'Hello Bob, ça va?', 'the message in Bob\'s conversation');
  await expectVisible(bob, 'pz-chat-list[hidden], .two-pane.has-detail', 'the phone layout showing one pane');

  // Replies both ways, each seen live on the other side.
  await sendInBrowser(bob, 'Hi Alice, got it');
  await expectText(alice, '.msg.theirs', 'Hi Alice, got it', 'Bob\'s reply at Alice');
  await sendInBrowser(alice, 'Great, real time works');
  await expectText(bob, '.msg.theirs', 'Great, real time works', 'Alice\'s second message at Bob');
  // A send that fails shows as failed; Retry sends it again.
  let dropNext = 'before';
  await alice.route('**/api/v1/conversations/*/messages', async (route) => {
    if (route.request().method() !== 'POST' || !dropNext) return route.continue();
    const when = dropNext;
    dropNext = null;
    // 'after': the server stores it but the answer is lost, so the retry
    // must be recognised by its client_msg_id and stored only once.
    if (when === 'after') await route.fetch();
    return route.abort('connectionreset');
  });
  await alice.fill('#composer', 'Flaky network');
  await alice.press('#composer', 'Enter');
  await expectText(alice, '.msg.mine[data-status=failed]', 'Flaky network', 'the failed send');
  await alice.click('.msg.mine[data-status=failed] button.retry');
  await expectText(alice, '.msg.mine[data-status=sent]', 'Flaky network', 'the retried send');
  await expectText(bob, '.msg.theirs', 'Flaky network', 'the retried message at Bob');
  dropNext = 'after';
  await alice.fill('#composer', 'Lost answer');
  await alice.press('#composer', 'Enter');
  await expectText(alice, '.msg.mine[data-status=failed], .msg.mine[data-status=sent]', 'Lost answer', 'the send with a lost answer');
  const retry = alice.locator('.msg.mine[data-status=failed] button.retry');
  if (await retry.count()) await retry.click();
  await expectText(alice, '.msg.mine[data-status=sent]', 'Lost answer', 'the send with a lost answer, sent');
  await expectText(bob, '.msg.theirs', 'Lost answer', 'the message with a lost answer at Bob');
  await alice.unroute('**/api/v1/conversations/*/messages');
  const copies = await bob.locator('.msg .text').filter({ hasText: /^Lost answer$/ }).count();
  if (copies !== 1) fail(`"Lost answer" shown ${copies} times at Bob`);

  // Bob read everything with the conversation open: no badge on his list.
  await bob.click('a.back');
  await expectVisible(bob, '.chat-list li:not(.unread)', 'Bob\'s entry without unread');

  // First paint of the chat list on reload (the account is remembered).
  const paints = [];
  for (let i = 0; i < 5; i += 1) {
    await alice.goto(`${args.baseUrl}/#/chats`);
    await alice.reload();
    const paint = await alice.waitForFunction(
      () => performance.getEntriesByName('piazza:chat-list-painted')[0]?.startTime,
      null,
      { timeout: EXPECT_TIMEOUT_MS },
    );
    paints.push(Math.round(await paint.jsonValue()));
  }
  paints.sort((a, b) => a - b);
  t.metric(`chat list first paint (ms since navigation, 5 reloads, sorted): ${paints.join(', ')}; median ${paints[2]}`);
  await expectText(alice, '.chat-list li', 'Lost answer', 'the preview after reload');
  await openChatWith(alice, bobName.split('_')[0]);
  await bob.locator('.chat-list a').first().click();
  await expectText(bob, '.msg.theirs', 'Lost answer', 'the conversation on the phone');
  t.screenshot(alice);
  t.screenshot(bob, 'phone');
});

scenario('group', async (t) => {
  const [owner, bea, carl] = [await apiUser('gina'), await apiUser('bea'), await apiUser('carl')];
  await apiBefriend(owner, bea);
  const ginaCarl = await apiBefriend(owner, carl);
  const ginaPage = await t.page({ viewport: DESKTOP });
  const beaPage = await t.page({ viewport: DESKTOP, name: 'bea' });
  const carlPage = await t.page({ viewport: PHONE, name: 'carl', locale: 'zh-CN' });
  await logInInBrowser(ginaPage, owner.username);
  await logInInBrowser(beaPage, bea.username);
  await logInInBrowser(carlPage, carl.username);
  // Carl's browser speaks Chinese: the language comes from navigator.language.
  await expectText(carlPage, '.areas a', '聊天', 'the Chinese navigation');

  const title = `Picnic ${run}`;
  await ginaPage.click('[data-testid=new-chat]');
  await ginaPage.click('[data-testid=new-group] a');
  await ginaPage.fill('#group-title', title);
  await ginaPage.check(`input[data-username="${bea.username}"]`);
  await ginaPage.check(`input[data-username="${carl.username}"]`);
  await ginaPage.click('.group-form button[type=submit]');
  await expectVisible(ginaPage, 'pz-conversation #composer', 'the new group');
  await expectText(ginaPage, '.subtitle', '3', 'three members');
  await sendInBrowser(ginaPage, 'Saturday at noon?');

  await openChatWith(beaPage, title);
  await expectText(beaPage, '.msg.theirs', 'Saturday at noon?', 'the group message at Bea');
  await openChatWith(carlPage, title);
  await expectText(carlPage, '.msg.theirs', 'Saturday at noon?', 'the group message at Carl');
  await sendInBrowser(beaPage, 'Yes!');
  await sendInBrowser(carlPage, 'I bring bread');
  await expectText(ginaPage, '.msg.theirs', 'Yes!', "Bea's answer at Gina");
  await expectText(ginaPage, '.msg.theirs', 'I bring bread', "Carl's answer at Gina");
  await expectText(beaPage, '.msg.theirs', 'I bring bread', "Carl's answer at Bea");

  // The owner removes Carl and adds him back; Bea leaves.
  await ginaPage.click('[data-testid=group-info]');
  await expectVisible(ginaPage, `.members li[data-account-id="${carl.account_id}"] [data-testid=remove-member]`, 'Carl in the member list');
  await ginaPage.click(`.members li[data-account-id="${carl.account_id}"] [data-testid=remove-member]`);
  await expectAttached(ginaPage, `#add-member option[value="${carl.account_id}"]`, 'Carl addable again');
  // Carl had the group open: it tells him he is out and stops his sending.
  await expectVisible(carlPage, 'pz-conversation textarea:disabled', "Carl's composer disabled after his removal");
  await carlPage.click('a.back');
  await carlPage.waitForFunction(
    (name) => ![...document.querySelectorAll('.chat-list li')].some((li) => li.textContent.includes(name)),
    title,
    { timeout: EXPECT_TIMEOUT_MS },
  ).catch(() => fail('the group still in Carl\'s list after his removal'));
  await ginaPage.selectOption('#add-member', carl.account_id);
  await ginaPage.click('.group-info form.inline button[type=submit]');
  await expectVisible(ginaPage, `.members li[data-account-id="${carl.account_id}"]`, 'Carl back in the group');
  await expectText(carlPage, '.chat-list li', title, 'the group back in Carl\'s list');

  await beaPage.click('[data-testid=group-info]');
  await beaPage.click('[data-testid=leave-group]');
  await expectUrl(beaPage, '#/chats');
  await beaPage.waitForFunction(
    (name) => ![...document.querySelectorAll('.chat-list li')].some((li) => li.textContent.includes(name)),
    title,
    { timeout: EXPECT_TIMEOUT_MS },
  ).catch(() => fail('the group still in Bea\'s list after she left'));
  const groups = await call(owner.token, 'GET', '/conversations');
  const group = groups.conversations.find((c) => c.title === title);
  if (group?.member_count !== 2) fail(`expected 2 members after Bea left, got ${group?.member_count}`);
  // Live reordering: a message in another conversation moves it to the top.
  await expectText(ginaPage, '.chat-list li:first-child', title, 'the group on top of Gina\'s list');
  await apiSend(carl, ginaCarl, 'Unrelated ping');
  await expectText(ginaPage, '.chat-list li:first-child', 'Unrelated ping', 'the direct chat moved to the top');
  await expectText(ginaPage, '.chat-list li:first-child .badge:not([hidden])', '1', 'its unread badge');
  await ginaPage.click(`.chat-list a[href="#/chats/${encodeURIComponent(group.conversation_id)}"]`);
  await expectText(ginaPage, '.msg.theirs', 'I bring bread', 'the group conversation again');
  t.screenshot(ginaPage);
});

scenario('long-conversation', async (t) => {
  const reader = await apiUser('lena');
  const writer = await apiUser('walt');
  const direct = await apiBefriend(reader, writer);
  const total = 10_000;
  const parallel = 32;
  const setupStarted = Date.now();
  for (let next = 1; next <= total; next += parallel) {
    const batch = [];
    for (let i = next; i < next + parallel && i <= total; i += 1) {
      batch.push(apiSend(i % 3 ? writer : reader, direct, `line ${i} ${'lorem ipsum '.repeat(i % 7)}`));
    }
    await Promise.all(batch);
  }
  t.metric(`long-conversation: ${total} messages stored in ${Date.now() - setupStarted} ms`);
  const page = await t.page({ viewport: DESKTOP });
  await logInInBrowser(page, reader.username);
  await page.locator('.chat-list a').first().click();
  await expectText(page, '.msg .text', `line ${total}`, 'the newest message');

  // Load the whole history by scrolling to the top again and again.
  const loadStarted = Date.now();
  for (let i = 0; i < 400; i += 1) {
    if (await page.locator('.msg .text').filter({ hasText: /^line 1(\s|$)/ }).count()) break;
    await page.locator('.messages').evaluate((el) => (el.scrollTop = 0));
    await page.waitForTimeout(30);
  }
  await expectText(page, '.msg .text', /^line 1(\s|$)/, 'the first of 10,000 messages');
  const loadMs = Date.now() - loadStarted;

  // Then scroll down through it with the wheel, recording frame times.
  await page.hover('.messages');
  await page.evaluate(() => {
    window.__frames = [];
    const tick = (now) => {
      window.__frames.push(now);
      if (window.__frames.length < 100000) requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  });
  let rowsMax = 0;
  for (let i = 0; i < 120; i += 1) {
    await page.mouse.wheel(0, 900);
    await page.waitForTimeout(16);
    rowsMax = Math.max(rowsMax, await page.locator('.msg').count());
  }
  const frames = await page.evaluate(() => window.__frames);
  const deltas = frames.slice(1).map((now, i) => now - frames[i]).sort((a, b) => a - b);
  const at = (q) => deltas[Math.min(deltas.length - 1, Math.floor(q * deltas.length))].toFixed(1);
  t.metric(
    `long-conversation: whole history paged in ${loadMs} ms; wheel scroll over ${deltas.length} frames: ` +
      `p50 ${at(0.5)} ms, p95 ${at(0.95)} ms, max ${deltas[deltas.length - 1].toFixed(1)} ms; at most ${rowsMax} rows in the DOM`,
  );
  if (rowsMax > 200) fail(`the list is not virtualised: ${rowsMax} rows in the DOM`);
  t.screenshot(page);
});

scenario('sync-fallback', async (t) => {
  const reader = await apiUser('sam');
  const writer = await apiUser('tess');
  const direct = await apiBefriend(reader, writer);
  const page = await t.page({ viewport: DESKTOP });
  // A network that refuses WebSockets: the client must fall back to
  // long-polling /sync and still get every message live.
  await page.context().routeWebSocket('**/api/v1/ws**', (socket) => socket.close({ code: 1011, reason: 'blocked' }));
  await logInInBrowser(page, reader.username);
  await page.waitForFunction(() => document.querySelector('.sync-status')?.dataset.status === 'polling', null, {
    timeout: EXPECT_TIMEOUT_MS,
  }).catch(() => fail('the client did not fall back to long-polling'));
  await page.locator('.chat-list a').first().click();
  await expectVisible(page, 'pz-conversation #composer', 'the conversation');
  await apiSend(writer, direct, 'Through long-polling');
  await expectText(page, '.msg.theirs', 'Through long-polling', 'the message delivered by /sync');
  await sendInBrowser(page, 'Sent over plain HTTP');
  t.screenshot(page);
});

scenario('image', async (t) => {
  const ann = await apiUser('ann');
  const bob = await apiUser('bob');
  await apiBefriend(ann, bob);
  const annPage = await t.page({ viewport: DESKTOP });
  const bobPage = await t.page({ viewport: PHONE, name: 'bob' });
  await logInInBrowser(annPage, ann.username);
  await logInInBrowser(bobPage, bob.username);
  await openChatWith(bobPage, `ann ${run}`);
  await openChatWith(annPage, `bob ${run}`);

  // A small PNG drawn in the page (a red card with a white square).
  const png = await annPage.evaluate(async () => {
    const canvas = new OffscreenCanvas(96, 64);
    const g = canvas.getContext('2d');
    g.fillStyle = '#d33';
    g.fillRect(0, 0, 96, 64);
    g.fillStyle = '#fff';
    g.fillRect(24, 16, 48, 32);
    const bytes = new Uint8Array(await (await canvas.convertToBlob({ type: 'image/png' })).arrayBuffer());
    let binary = '';
    for (const byte of bytes) binary += String.fromCharCode(byte);
    return btoa(binary);
  });
  // The first send fails on the way (the upload went through): the row
  // shows as failed, and Retry sends the same client_msg_id and media id
  // without uploading again, so one message is stored.
  const uploads = [];
  const sends = [];
  await annPage.route('**/api/v1/media', (route) => {
    uploads.push(route.request().headers()['content-type']);
    return route.continue();
  });
  await annPage.route('**/api/v1/conversations/*/messages', async (route) => {
    if (route.request().method() !== 'POST') return route.continue();
    sends.push(route.request().postDataJSON());
    return sends.length > 1 ? route.continue() : route.abort('connectionreset');
  });
  await annPage.fill('#composer', 'a red card');
  await annPage.setInputFiles('[data-testid=attach-input]', {
    name: 'card.png',
    mimeType: 'image/png',
    buffer: Buffer.from(png, 'base64'),
  });
  // The picture is shown first, with the composer's text as its caption;
  // nothing is uploaded before Send.
  await expectVisible(annPage, '[data-testid=image-preview] img[data-testid=preview-image]', 'the preview of the picked picture');
  const caption = await annPage.inputValue('#image-caption');
  if (caption !== 'a red card') fail(`the preview's caption is "${caption}"`);
  if (uploads.length) fail('the picture was uploaded before Send');
  await t.screenshotNow(annPage, 'preview');
  await annPage.click('[data-testid=preview-send]');
  await expectVisible(annPage, '.msg.mine[data-status=failed] img[data-testid=chat-image]', "Ann's image, failed");
  await annPage.click('.msg.mine[data-status=failed] button.retry');
  await expectVisible(annPage, '.msg.mine[data-status=sent] img[data-testid=chat-image]', "Ann's image, sent");
  await annPage.unroute('**/api/v1/conversations/*/messages');
  await annPage.unroute('**/api/v1/media');
  const [first, second] = sends;
  if (uploads.join() !== 'image/png') fail(`uploads: ${JSON.stringify(uploads)}`);
  if (sends.length !== 2 || first.client_msg_id !== second.client_msg_id || !first.media_id || first.media_id !== second.media_id) {
    fail(`the retry did not repeat the send: ${JSON.stringify(sends)}`);
  }

  // Bob sees it arrive live and render from a blob: URL, captioned.
  const rendered = async (page, who) => {
    try {
      await page.waitForFunction(
        () => {
          const img = document.querySelector('.msg img[data-testid=chat-image]');
          return img && img.complete && img.naturalWidth === 96 && img.src.startsWith('blob:');
        },
        null,
        { timeout: EXPECT_TIMEOUT_MS },
      );
    } catch {
      fail(`${who}: the image did not render within ${EXPECT_TIMEOUT_MS} ms`);
    }
  };
  await rendered(bobPage, 'Bob');
  await expectText(bobPage, '.msg.theirs figcaption', 'a red card', 'the caption at Bob');
  const alt = await bobPage.getAttribute('.msg.theirs img[data-testid=chat-image]', 'alt');
  if (alt !== 'a red card') fail(`the image's alt text is "${alt}"`);
  // Stored as an image message pointing at the upload.
  const history = await call(bob.token, 'GET', `/conversations/${await apiDirect(ann, bob)}/messages?limit=5`);
  const images = history.messages.filter((message) => message.kind === 'image');
  if (images.length !== 1 || images[0].ref !== first.media_id) {
    fail(`not one image message naming the upload: ${JSON.stringify(history)}`);
  }
  t.screenshot(bobPage);
  // A tap opens the viewer with the whole picture; Escape closes it.
  await bobPage.click('.msg.theirs .thumb-button');
  await bobPage.waitForFunction(
    () => {
      const img = document.querySelector('[data-testid=image-viewer] img[data-testid=viewer-image]');
      return img && img.complete && img.naturalWidth === 96;
    },
    null,
    { timeout: EXPECT_TIMEOUT_MS },
  ).catch(() => fail('the viewer did not show the picture'));
  await expectText(bobPage, '[data-testid=image-viewer] figcaption', 'a red card', 'the caption in the viewer');
  await t.screenshotNow(bobPage, 'viewer');
  await bobPage.keyboard.press('Escape');
  await bobPage.waitForSelector('[data-testid=image-viewer]', { state: 'detached', timeout: EXPECT_TIMEOUT_MS })
    .catch(() => fail('Escape did not close the viewer'));

  // A pasted picture (a screenshot) is previewed too; Cancel sends nothing.
  const paste = (width) =>
    annPage.evaluate(async (w) => {
      const canvas = new OffscreenCanvas(w, 40);
      const g = canvas.getContext('2d');
      g.fillStyle = '#1f7ae0';
      g.fillRect(0, 0, w, 40);
      const blob = await canvas.convertToBlob({ type: 'image/png' });
      const data = new DataTransfer();
      data.items.add(new File([blob], 'pasted.png', { type: 'image/png' }));
      document.querySelector('#composer').dispatchEvent(new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true }));
    }, width);
  await paste(50);
  await expectVisible(annPage, '[data-testid=image-preview] img[data-testid=preview-image]', 'the preview of a pasted picture');
  await annPage.click('[data-testid=image-preview] .actions button[type=button]');
  await annPage.waitForSelector('[data-testid=image-preview]', { state: 'detached' }).catch(() => fail('Cancel did not close the preview'));
  await paste(120);
  await expectVisible(annPage, '[data-testid=image-preview]', 'the preview of the second pasted picture');
  await annPage.fill('#image-caption', 'a blue band');
  await annPage.keyboard.press('Enter');
  await expectVisible(annPage, '.msg.mine[data-status=sent] img[alt="a blue band"]', 'the pasted picture, sent');
  const stored = await call(bob.token, 'GET', `/conversations/${await apiDirect(ann, bob)}/messages?limit=10`);
  const pictures = stored.messages.filter((message) => message.kind === 'image').length;
  if (pictures !== 2) fail(`${pictures} pictures stored (the cancelled one must not be)`);
  // The viewer steps between the conversation's pictures with the arrow keys.
  await expectVisible(bobPage, '.msg.theirs img[alt="a blue band"]', 'the pasted picture at Bob');
  await bobPage.click('.msg.theirs .thumb-button >> nth=0');
  const shows = (width) =>
    bobPage.waitForFunction(
      (w) => document.querySelector('[data-testid=viewer-image]')?.naturalWidth === w,
      width,
      { timeout: EXPECT_TIMEOUT_MS },
    );
  await shows(96).catch(() => fail('the viewer did not open on the first picture'));
  await bobPage.keyboard.press('ArrowRight');
  await shows(120).catch(() => fail('ArrowRight did not show the next picture'));
  await bobPage.keyboard.press('ArrowLeft');
  await shows(96).catch(() => fail('ArrowLeft did not go back'));
  await bobPage.click('[data-testid=viewer-image]');
  await bobPage.waitForSelector('[data-testid=image-viewer]', { state: 'detached', timeout: EXPECT_TIMEOUT_MS })
    .catch(() => fail('a click did not close the viewer'));
});

/** The direct conversation of two contacts (opening it again finds the same one). */
async function apiDirect(a, b) {
  return (await call(a.token, 'POST', '/conversations/direct', { peer: b.account_id })).conversation_id;
}

/** Two accounts made contacts through the API, without opening their chat. */
async function apiContacts(a, b) {
  const request = await call(a.token, 'POST', '/contacts/requests', { to: b.username });
  await call(b.token, 'POST', `/contacts/requests/${request.request_id}/accept`);
}

scenario('new-chat', async (t) => {
  const ann = await apiUser('ann');
  const bob = await apiUser('bob');
  const cat = await apiUser('cat');
  await apiContacts(ann, bob);
  await apiContacts(ann, cat);
  // Desktop: the pencil opens the contact picker; picking Cat opens the
  // chat with her, which did not exist before.
  const page = await t.page({ viewport: DESKTOP });
  await logInInBrowser(page, ann.username);
  await expectVisible(page, '[data-testid=empty-chats]', 'the empty chat list');
  // The dialog takes the focus, Escape closes it and gives the focus back.
  await page.click('[data-testid=new-chat]');
  await expectVisible(page, '[data-testid=new-chat-dialog]', 'the new-chat dialog');
  if (!(await page.evaluate(() => document.activeElement?.closest('dialog[open]') !== null))) fail('the focus is not in the dialog');
  await page.keyboard.press('Escape');
  await page.waitForSelector('[data-testid=new-chat-dialog]', { state: 'detached' }).catch(() => fail('Escape did not close the dialog'));
  const focused = await page.evaluate(() => document.activeElement?.dataset.testid);
  if (focused !== 'new-chat') fail(`the focus went to ${focused}, not back to the pencil`);
  await page.click('[data-testid=new-chat]');
  await expectVisible(page, `[data-testid=new-chat-dialog] li[data-username="${cat.username}"] .avatar`, 'Cat with her avatar in the picker');
  await expectVisible(page, `[data-testid=new-chat-dialog] li[data-username="${bob.username}"]`, 'Bob in the picker');
  await t.screenshotNow(page, 'dialog');
  await page.fill('[data-testid=new-chat-filter]', 'cat');
  const shown = await page.locator('[data-testid=new-chat-dialog] li[data-username]').count();
  if (shown !== 1) fail(`the filter left ${shown} contacts`);
  await page.click(`[data-testid=new-chat-dialog] li[data-username="${cat.username}"] .row-main`);
  await expectVisible(page, 'pz-conversation #composer', 'the new chat with Cat');
  await expectText(page, '#conversation-title', `cat ${run}`, "Cat's name in the header");
  if (await page.locator('dialog[open]').count()) fail('the dialog is still open');
  await sendInBrowser(page, 'Hi Cat, new chat');
  await expectText(page, '.chat-list li', `cat ${run}`, 'the chat with Cat in the list');
  t.screenshot(page);

  // A phone in the dark: the same dialog as a sheet; "New group" leads to the group form.
  const phone = await t.page({ viewport: PHONE, name: 'phone', colorScheme: 'dark' });
  await logInInBrowser(phone, bob.username);
  await phone.click('[data-testid=new-chat]');
  await expectVisible(phone, `[data-testid=new-chat-dialog] li[data-username="${ann.username}"]`, 'Ann in Bob\'s picker');
  await t.screenshotNow(phone, 'phone-dark');
  await phone.click('[data-testid=new-group] a');
  await expectVisible(phone, '#group-title', 'the group form on the phone');
  if (await phone.locator('dialog[open]').count()) fail('the dialog stayed open over the group form');
});

/** A Notification stand-in that records what the page does with it. */
function fakeNotifications() {
  window.__notes = [];
  window.__asked = 0;
  // The answer is kept like a browser keeps it, across reloads.
  class FakeNotification extends EventTarget {
    static get permission() {
      return localStorage.getItem('fake-notification-permission') ?? 'default';
    }
    static requestPermission() {
      window.__asked += 1;
      localStorage.setItem('fake-notification-permission', 'granted');
      return Promise.resolve('granted');
    }
    constructor(title, options = {}) {
      super();
      window.__notes.push({ title, body: options.body, tag: options.tag });
    }
    close() {}
  }
  window.Notification = FakeNotification;
}

scenario('unread-notify', async (t) => {
  const ann = await apiUser('ann');
  const bob = await apiUser('bob');
  const direct = await apiBefriend(ann, bob);
  const page = await t.page({ viewport: DESKTOP });
  await page.addInitScript(fakeNotifications);
  await logInInBrowser(page, bob.username);
  // Asked politely: a banner, and nothing asked before its button.
  await expectVisible(page, '[data-testid=notify-banner]', 'the notifications banner');
  await page.waitForTimeout(300);
  if (await page.evaluate(() => window.__asked)) fail('notifications were asked for on load');
  await t.screenshotNow(page, 'banner');
  await page.click('[data-testid=notify-enable]');
  await expectVisible(page, '.toast', 'the "notifications are on" toast');
  if ((await page.evaluate(() => window.__asked)) !== 1) fail('the button did not ask for notifications');
  if (await page.locator('[data-testid=notify-banner]').count()) fail('the banner stayed after the answer');

  const phone = await t.page({ viewport: PHONE, name: 'phone', colorScheme: 'dark' });
  await logInInBrowser(phone, bob.username);

  const sounds = () => page.evaluate(() => performance.getEntriesByName('piazza:notify-sound').length);
  const notes = () => page.evaluate(() => window.__notes);
  const chatsBadge = '.areas a[data-area=chat] .nav-badge:not([hidden])';
  await apiSend(ann, direct, 'ping one');
  await expectText(page, chatsBadge, '1', 'one unread on the Chats tab');
  await page.waitForFunction(() => document.title.startsWith('(1) '), null, { timeout: EXPECT_TIMEOUT_MS })
    .catch(async () => fail(`the title is "${await page.title()}"`));
  await apiSend(ann, direct, 'ping two');
  await expectText(page, chatsBadge, '2', 'two unread on the Chats tab');
  await expectText(phone, chatsBadge, '2', 'two unread on the phone\'s tab');
  await page.waitForFunction(() => document.title.startsWith('(2) '), null, { timeout: EXPECT_TIMEOUT_MS })
    .catch(async () => fail(`the title is "${await page.title()}"`));
  const shown = await notes();
  if (shown.length !== 2 || shown[0].title !== `ann ${run}` || shown[1].body !== 'ping two' || shown[0].tag !== direct) {
    fail(`notifications: ${JSON.stringify(shown)}`);
  }
  if ((await sounds()) !== 2) fail(`sounds played: ${await sounds()}`);
  t.screenshot(phone, 'phone-dark');
  await t.screenshotNow(page, 'badges');

  // Reading clears the counts; muting silences the next message.
  await openChatWith(page, `ann ${run}`);
  await page.waitForFunction(() => !/^\(\d+\)/.test(document.title), null, { timeout: EXPECT_TIMEOUT_MS })
    .catch(async () => fail(`the title still counts: "${await page.title()}"`));
  await page.click('[data-testid=mute-toggle]');
  await expectAttached(page, '[data-testid=mute-toggle][aria-pressed=true]', 'the conversation muted');
  await page.click('.areas a[href="#/chats"]');
  await apiSend(ann, direct, 'ping three, muted');
  await expectText(page, '.chat-list li .badge.muted:not([hidden])', '1', 'a grey badge on the muted chat');
  await page.waitForTimeout(500);
  if (await page.locator(chatsBadge).count()) fail('a muted chat counted on the tab');
  if ((await notes()).length !== 2 || (await sounds()) !== 2) fail('a muted chat notified or made a sound');
  // The mute is kept (per account, in this browser) across a reload.
  await page.reload();
  await openChatWith(page, `ann ${run}`);
  await expectAttached(page, '[data-testid=mute-toggle][aria-pressed=true]', 'the mute after a reload');
  await page.click('[data-testid=mute-toggle]');
  await page.click('.areas a[href="#/chats"]');
  await apiSend(ann, direct, 'ping four');
  await expectText(page, chatsBadge, '1', 'the unmuted chat counted again');
  await page.waitForFunction(() => window.__notes.length === 1, null, { timeout: EXPECT_TIMEOUT_MS })
    .catch(async () => fail(`after unmuting: ${JSON.stringify(await notes())}`));
  t.screenshot(page);
});

/** Makes the page think it is hidden or visible again (and tells it, as a tab switch does). */
async function setVisibility(page, state) {
  await page.evaluate((value) => {
    Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => value });
    Object.defineProperty(document, 'hidden', { configurable: true, get: () => value === 'hidden' });
    document.dispatchEvent(new Event('visibilitychange'));
  }, state);
}

/** How many messages of `conversationId` the server counts unread for `user`. */
async function serverUnread(user, conversationId) {
  const answer = await call(user.token, 'GET', '/conversations');
  return answer.conversations.find((c) => c.conversation_id === conversationId)?.unread;
}

async function waitForServerUnread(user, conversationId, expected, what) {
  const until = Date.now() + EXPECT_TIMEOUT_MS;
  let unread;
  while ((unread = await serverUnread(user, conversationId)) !== expected) {
    if (Date.now() > until) fail(`${what}: the server counts ${unread} unread, not ${expected}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

scenario('read-visibility', async (t) => {
  const ann = await apiUser('ann');
  const bob = await apiUser('bob');
  const direct = await apiBefriend(ann, bob);
  await apiSend(ann, direct, 'before you left');
  const page = await t.page({ viewport: DESKTOP });
  await logInInBrowser(page, bob.username);
  await openChatWith(page, `ann ${run}`);
  await waitForServerUnread(bob, direct, 0, 'the open conversation');

  // The tab goes to the background with the conversation open: what
  // arrives is shown but stays unread, on the server and in the title.
  await setVisibility(page, 'hidden');
  await apiSend(ann, direct, 'while you were away');
  await apiSend(ann, direct, 'still away?');
  await expectText(page, '.msg.theirs', 'still away?', 'the messages rendered in the hidden tab');
  await page.waitForFunction(() => document.title.startsWith('(2) '), null, { timeout: EXPECT_TIMEOUT_MS })
    .catch(async () => fail(`the hidden tab's title is "${await page.title()}"`));
  await page.waitForTimeout(500);
  if ((await serverUnread(bob, direct)) !== 2) fail(`a hidden tab marked messages read: ${await serverUnread(bob, direct)} unread`);

  // Back to the tab: the conversation in view is read at once.
  await setVisibility(page, 'visible');
  await waitForServerUnread(bob, direct, 0, 'back on the tab');
  await page.waitForFunction(() => !/^\(\d+\)/.test(document.title), null, { timeout: EXPECT_TIMEOUT_MS })
    .catch(async () => fail(`the title still counts: "${await page.title()}"`));
  t.screenshot(page);
});

scenario('read-partial', async (t) => {
  const ann = await apiUser('ann');
  const bob = await apiUser('bob');
  const direct = await apiBefriend(ann, bob);
  const page = await t.page({ viewport: PHONE });
  await logInInBrowser(page, bob.username);
  const sent = [];
  for (const text of ['one', 'two', 'three']) sent.push(await apiSend(ann, direct, text));
  const rowBadge = `.chat-list li[data-conversation-id="${direct}"] .badge:not([hidden])`;
  await expectText(page, rowBadge, '3', 'three unread');
  // Another device of Bob's reads up to the second: one is left, not none.
  await call(bob.token, 'POST', `/conversations/${direct}/read`, { seq: sent[1].seq });
  await expectText(page, rowBadge, '1', 'one left unread after a partial read elsewhere');
  await call(bob.token, 'POST', `/conversations/${direct}/read`, { seq: sent[2].seq });
  await page.locator(rowBadge).waitFor({ state: 'detached', timeout: EXPECT_TIMEOUT_MS })
    .catch(() => fail('the count stayed after everything was read'));

  // The state's own marking: up to seq 3 of 5 leaves 2; an older seq
  // changes nothing; the last seq clears the count. The server is told
  // only when the marker moves.
  const counts = await page.evaluate(async () => {
    const { ChatState } = await import('/areas/chat/state.js');
    const told = [];
    const session = Object.assign(new EventTarget(), {
      me: 'acct_test',
      api: { markRead: async (id, seq) => told.push(seq) },
      setBadge: () => {},
    });
    const state = new ChatState(session);
    const conversation = { conversation_id: 'c1', kind: 'direct', last_seq: 5, read_seq: 1, unread: 4, activity: 0 };
    state.conversations.set('c1', conversation);
    const seen = [];
    for (const seq of [3, 2, 5]) {
      state.markRead('c1', seq);
      seen.push(conversation.unread);
    }
    return { seen, told };
  });
  if (JSON.stringify(counts) !== JSON.stringify({ seen: [2, 2, 0], told: [3, 5] })) fail(`markRead: ${JSON.stringify(counts)}`);
  t.screenshot(page);
});

scenario('group-picture', async (t) => {
  const [gina, bea] = [await apiUser('gina'), await apiUser('bea')];
  await apiBefriend(gina, bea);
  const group = await call(gina.token, 'POST', '/conversations', { title: `Choir ${run}`, members: [bea.account_id] });
  const page = await t.page({ viewport: DESKTOP });
  const phone = await t.page({ viewport: PHONE, name: 'phone', colorScheme: 'dark' });
  await logInInBrowser(page, gina.username);
  await logInInBrowser(phone, bea.username);
  await page.goto(`${args.baseUrl}/#/chats/${group.conversation_id}/info`);
  await expectVisible(page, '[data-testid=group-edit]', "the owner's tools");
  await expectVisible(page, `.members li[data-account-id="${bea.account_id}"] .avatar`, "Bea's avatar among the members");
  await page.fill('#group-rename', `Choir of the hill ${run}`);
  await page.click('[data-testid=group-edit] button[type=submit]');
  const png = await page.evaluate(async () => {
    const canvas = new OffscreenCanvas(80, 80);
    const g = canvas.getContext('2d');
    g.fillStyle = '#7357d6';
    g.fillRect(0, 0, 80, 80);
    const bytes = new Uint8Array(await (await canvas.convertToBlob({ type: 'image/png' })).arrayBuffer());
    return btoa(String.fromCharCode(...bytes));
  });
  await page.setInputFiles('[data-testid=group-avatar-input]', { name: 'g.png', mimeType: 'image/png', buffer: Buffer.from(png, 'base64') });
  await expectVisible(page, '.group-info .who .avatar.has-picture', 'the group picture on its page');
  // Bea, who is not the owner, sees the new title and picture live and no owner's tools.
  await expectText(phone, '.chat-list li', `Choir of the hill ${run}`, 'the new title at Bea');
  await expectVisible(phone, `.chat-list li[data-conversation-id="${group.conversation_id}"] .avatar.has-picture`, 'the group picture at Bea');
  await phone.click(`.chat-list li[data-conversation-id="${group.conversation_id}"] a`);
  await phone.click('[data-testid=group-info]');
  await expectVisible(phone, '.group-info .members', "the group's page at Bea");
  if (await phone.locator('[data-testid=group-edit]').isVisible()) fail('a member who is not the owner can edit the group');
  t.screenshot(page);
  t.screenshot(phone, 'phone-dark');
});

scenario('read-receipts', async (t) => {
  const [ann, bob, cat] = [await apiUser('ann'), await apiUser('bob'), await apiUser('cat')];
  await apiBefriend(ann, bob);
  await apiBefriend(ann, cat);
  const group = `Trip ${run}`;
  await call(ann.token, 'POST', '/conversations', { title: group, members: [bob.account_id, cat.account_id] });
  const page = await t.page({ viewport: DESKTOP });
  // Ann's phone, another of her devices, in the dark.
  const annPhone = await t.page({ viewport: PHONE, name: 'phone', colorScheme: 'dark' });
  const bobPage = await t.page({ viewport: PHONE, name: 'bob' });
  await logInInBrowser(page, ann.username);
  await logInInBrowser(annPhone, ann.username);
  await logInInBrowser(bobPage, bob.username);
  const mine = (text) => `.msg.mine:has(.text:text-is("${text}"))`;
  const read = (text) => `${mine(text)}[data-status=sent][data-read=true] .delivery[data-status=read]`;
  const unread = (text) => `${mine(text)}[data-status=sent]:not([data-read]) .delivery[data-status=sent]`;

  // Ann writes; her bubble is sent, not read, until Bob opens the chat.
  await openChatWith(page, `bob ${run}`);
  await sendInBrowser(page, 'Are you there?');
  await openChatWith(annPhone, `bob ${run}`);
  await expectVisible(annPhone, unread('Are you there?'), 'sent, not read yet, on her phone');
  await openChatWith(bobPage, `ann ${run}`);
  await expectText(bobPage, '.msg.theirs', 'Are you there?', 'the message at Bob');
  await expectVisible(page, read('Are you there?'), 'read, live, on her desktop');
  await expectVisible(annPhone, read('Are you there?'), 'read, live, on her phone');
  // With Bob in the chat, the next one turns read as he sees it.
  await sendInBrowser(page, 'Lunch at one?');
  await expectVisible(page, read('Lunch at one?'), 'the second message read live');

  // Bob leaves the chat: a new message stays sent; groups have no receipts.
  await bobPage.click('a.back');
  await expectVisible(bobPage, 'pz-chat-list', "Bob's chat list");
  await openChatWith(page, group);
  await sendInBrowser(page, 'Tickets booked');
  await openChatWith(page, `bob ${run}`);
  await sendInBrowser(page, 'See you there');
  await page.waitForTimeout(500);
  await expectVisible(page, unread('See you there'), 'sent, not read, while Bob is away');
  // Bob reads the group, then the chat: Ann's log gets the chat's receipt
  // only, and after anything the group's read could have logged.
  await openChatWith(bobPage, group);
  await expectText(bobPage, '.msg.theirs', 'Tickets booked', 'the group message at Bob');
  await openChatWith(bobPage, `ann ${run}`);
  await expectVisible(page, read('See you there'), 'the third message read live');
  await openChatWith(page, group);
  await expectVisible(page, unread('Tickets booked'), 'the group message still only sent');

  // A reload restores the marks from the conversation list's peer_read_seq.
  await page.reload();
  await openChatWith(page, `bob ${run}`);
  for (const text of ['Are you there?', 'Lunch at one?', 'See you there']) {
    await expectVisible(page, read(text), `"${text}" read after a reload`);
  }
  await annPhone.reload();
  await openChatWith(annPhone, group);
  await expectVisible(annPhone, unread('Tickets booked'), 'the group message sent after a reload');
  await openChatWith(annPhone, `bob ${run}`);
  await expectVisible(annPhone, read('See you there'), 'read after a reload, on her phone');
  // The screenshots show both marks: read (✓✓) and sent (✓).
  await bobPage.click('a.back');
  await expectVisible(bobPage, 'pz-chat-list', "Bob's chat list again");
  await sendInBrowser(page, 'Bring the map');
  await expectVisible(annPhone, unread('Bring the map'), 'the last message sent, on her phone');
  t.screenshot(page);
  t.screenshot(annPhone, 'phone');
});

/** An answer of the server's refusing a recall or a reaction (problem+json), for a route to give. */
function refusal(code, status = 403) {
  return {
    status,
    contentType: 'application/problem+json',
    body: JSON.stringify({ type: `urn:piazza:problem:${code}`, title: 'Forbidden', status: 403, code, detail: code }),
  };
}

/** The focused element's test id, and its emoji for a quick reaction ("quick-reaction 👍"). */
async function focusedItem(page) {
  return page.evaluate(() => {
    const active = /** @type {HTMLElement} */ (document.activeElement);
    return [active?.dataset.testid, active?.dataset.emoji].filter(Boolean).join(' ');
  });
}

/** Waits until `text` is nowhere in the page's DOM (text, attributes, hidden parts). */
async function expectGoneFromDom(page, text, what) {
  await page
    .waitForFunction((gone) => !document.documentElement.outerHTML.includes(gone), text, { timeout: EXPECT_TIMEOUT_MS })
    .catch(() => fail(`${what}: "${text}" is still in the page`));
}

/**
 * The message menu open now offers Delete and no Recall (a message one may
 * not, or no longer, recall); Escape closes it.
 */
async function expectOnlyDelete(page, what) {
  await expectVisible(page, '[data-testid=message-menu] [data-testid=delete-message]', `Delete in the menu of ${what}`);
  if (await page.locator('[data-testid=message-menu] [data-testid=recall-message]').count()) fail(`recalling is offered on ${what}`);
  await page.keyboard.press('Escape');
  await page.waitForSelector('[data-testid=message-menu]', { state: 'detached', timeout: EXPECT_TIMEOUT_MS })
    .catch(() => fail(`Escape did not close the menu of ${what}`));
}

scenario('recall', async (t) => {
  const ann = await apiUser('ann');
  const bob = await apiUser('bob');
  const direct = await apiBefriend(ann, bob);
  await apiSend(bob, direct, 'Bob was here');
  const annPage = await t.page({ viewport: DESKTOP });
  const bobPage = await t.page({ viewport: PHONE, name: 'bob' });
  await logInInBrowser(annPage, ann.username);
  await logInInBrowser(bobPage, bob.username);
  await openChatWith(annPage, `bob ${run}`);
  await openChatWith(bobPage, `ann ${run}`);
  const mine = (text) => `.msg.mine:has(.text:text-is("${text}"))`;

  // Bob's message in their direct chat: nothing for Ann to recall; its
  // menu (a right click) offers only Delete, for her.
  await expectText(annPage, '.msg.theirs', 'Bob was here', "Bob's message at Ann");
  await annPage.click('.msg.theirs .bubble', { button: 'right' });
  await expectOnlyDelete(annPage, "Bob's message in Ann's direct chat");

  // A refusal of the server's (too late) is said politely; the message
  // stays, and is not offered again.
  await sendInBrowser(annPage, 'On my way');
  await annPage.route('**/api/v1/conversations/*/messages/*/recall', (route) => route.fulfill(refusal('recall_too_late')));
  await annPage.hover(mine('On my way'));
  await annPage.click(`${mine('On my way')} [data-testid=message-actions]`);
  await annPage.click('[data-testid=message-menu] [data-testid=recall-message]');
  await expectText(annPage, '[data-testid=recall-error]', 'Too late: this message can no longer be recalled.', 'the refusal in a toast');
  await annPage.unroute('**/api/v1/conversations/*/messages/*/recall');
  await annPage.hover(mine('On my way'));
  await annPage.click(`${mine('On my way')} [data-testid=message-actions]`);
  await expectOnlyDelete(annPage, 'the message whose recall the server refused');
  await expectText(bobPage, '.msg.theirs', 'On my way', 'the refused recall leaves the message at Bob');

  // The keyboard: the "…" of Ann's new message opens its menu on its
  // first item, the first quick reaction; Escape closes it and gives the
  // focus back.
  const secret = `Meet at the old mill ${run}`;
  await sendInBrowser(annPage, secret);
  await expectText(bobPage, '.msg.theirs', secret, 'the message at Bob');
  await annPage.locator(`${mine(secret)} [data-testid=message-actions]`).focus();
  await annPage.keyboard.press('Enter');
  await expectVisible(annPage, '[data-testid=message-menu] [data-testid=recall-message]', 'the message menu from the keyboard');
  const focused = () => focusedItem(annPage);
  if ((await focused()) !== 'quick-reaction 👍') fail(`the menu opened with the focus on ${await focused()}`);
  // The reactions' row, Reply, Forward, Recall, Delete: the arrow keys
  // move between them, round the ends.
  for (const [key, expected] of [
    ['ArrowDown', 'reply-message'], ['ArrowDown', 'forward-message'], ['ArrowDown', 'recall-message'],
    ['ArrowDown', 'delete-message'], ['ArrowDown', 'quick-reaction 👍'], ['ArrowUp', 'delete-message'],
    ['Home', 'quick-reaction 👍'], ['ArrowDown', 'reply-message'],
  ]) {
    await annPage.keyboard.press(key);
    if ((await focused()) !== expected) fail(`${key} in the message menu focused ${await focused()}, not ${expected}`);
  }
  await t.screenshotNow(annPage, 'menu');
  await annPage.keyboard.press('Escape');
  await annPage.waitForSelector('[data-testid=message-menu]', { state: 'detached', timeout: EXPECT_TIMEOUT_MS })
    .catch(() => fail('Escape did not close the message menu'));
  if ((await focused()) !== 'message-actions') fail(`Escape gave the focus to ${await focused()}, not back to "…"`);

  // Enter, End, Up, Enter: recalled at once, with no confirmation, as WeChat does.
  await annPage.keyboard.press('Enter');
  await expectVisible(annPage, '[data-testid=message-menu] [data-testid=recall-message]', 'the message menu again');
  await annPage.keyboard.press('End');
  await annPage.keyboard.press('ArrowUp');
  await annPage.keyboard.press('Enter');
  await expectText(annPage, '.msg.recalled [data-testid=recalled-line]', 'You recalled a message', 'the recall line at Ann');
  // Bob sees it live, without a reload; the text is gone from both pages,
  // the chat lists' previews included.
  await expectText(bobPage, '.msg.recalled [data-testid=recalled-line]', `ann ${run} recalled a message`, 'the recall live at Bob');
  await expectGoneFromDom(annPage, secret, "Ann's page");
  await expectGoneFromDom(bobPage, secret, "Bob's page");
  await expectText(annPage, `.chat-list li[data-conversation-id="${direct}"] .row-subtitle`, 'You recalled a message', "Ann's chat list preview");
  await expectText(bobPage, '.msg.theirs', 'On my way', 'the other messages kept at Bob');
  const stored = await call(bob.token, 'GET', `/conversations/${direct}/messages?limit=5`);
  const recalled = stored.messages.filter((message) => message.recalled);
  if (recalled.length !== 1 || recalled[0].text !== '') fail(`history after the recall: ${JSON.stringify(stored)}`);
  await t.screenshotNow(bobPage, 'phone');

  // Bob's list says it too; after a reload history tells it the same way.
  await bobPage.click('a.back');
  await expectText(bobPage, `.chat-list li[data-conversation-id="${direct}"] .row-subtitle`, `ann ${run} recalled a message`, "Bob's chat list preview");
  await bobPage.reload();
  await openChatWith(bobPage, `ann ${run}`);
  await expectText(bobPage, '.msg.recalled [data-testid=recalled-line]', `ann ${run} recalled a message`, 'the recall line after a reload');
  await expectGoneFromDom(bobPage, secret, "Bob's page after a reload");
  t.screenshot(annPage);
});

scenario('recall-group', async (t) => {
  const [gina, bea] = [await apiUser('gina'), await apiUser('bea')];
  await apiBefriend(gina, bea);
  const group = await call(gina.token, 'POST', '/conversations', { title: `Book club ${run}`, members: [bea.account_id] });
  await apiSend(gina, group.conversation_id, 'Chapter three for Friday');
  await apiSend(bea, group.conversation_id, 'Spoiler: the butler did it');
  const page = await t.page({ viewport: DESKTOP });
  const phone = await t.page({ viewport: PHONE, name: 'phone', colorScheme: 'dark' });
  await logInInBrowser(page, gina.username);
  await logInInBrowser(phone, bea.username);
  await openChatWith(page, `Book club ${run}`);
  await openChatWith(phone, `Book club ${run}`);

  // Bea, a member, may recall her own message but not the owner's.
  await phone.click('.msg.mine [data-testid=message-actions]');
  await expectVisible(phone, '[data-testid=message-menu] [data-testid=recall-message]', "Recall in the menu of Bea's own message");
  await phone.keyboard.press('Escape');
  await phone.click('.msg.theirs [data-testid=message-actions]');
  await expectOnlyDelete(phone, "the owner's message at Bea");

  // The owner recalls Bea's message; each side words who recalled whose.
  await page.hover('.msg.theirs .bubble');
  await page.click('.msg.theirs [data-testid=message-actions]');
  await page.click('[data-testid=message-menu] [data-testid=recall-message]');
  await expectText(page, '[data-testid=recalled-line]', `You recalled a message from bea ${run}`, 'the recall line at the owner');
  await expectText(phone, '[data-testid=recalled-line]', `gina ${run} recalled a message of yours`, 'the recall line live at Bea');
  await expectGoneFromDom(page, 'the butler did it', "the owner's page");
  await expectGoneFromDom(phone, 'the butler did it', "Bea's page");
  await expectText(page, '.chat-list li .row-subtitle', `You recalled a message from bea ${run}`, "the owner's chat list preview");
  // The history says who recalled too: after a reload, the same words.
  await phone.reload();
  await openChatWith(phone, `Book club ${run}`);
  await expectText(phone, '[data-testid=recalled-line]', `gina ${run} recalled a message of yours`, 'the recall line at Bea after a reload');

  // The chat state by itself: a recalled picture keeps no caption nor
  // picture, the list's preview is the recall line, and an older page of
  // history arriving after the recall does not bring the picture back.
  const state = await page.evaluate(async () => {
    const { ChatState } = await import('/areas/chat/state.js');
    const { messageSummary } = await import('/areas/chat/summary.js');
    const session = Object.assign(new EventTarget(), {
      me: 'acct_me',
      api: {},
      setBadge: () => {},
      name: (id) => ({ acct_ann: 'Ann' })[id] ?? id,
    });
    const chat = new ChatState(session);
    chat.conversations.set('c1', { conversation_id: 'c1', kind: 'direct', last_seq: 0, read_seq: 0, unread: 0, activity: 0, last: null });
    const picture = {
      conversation_id: 'c1', message_id: 'msg_1', seq: 1, sender: 'acct_ann', text: 'a cat', kind: 'image',
      ref: 'med_1', sent_at: new Date().toISOString(), client_msg_id: 'web-1', recalled: false,
    };
    chat.apply({ type: 'message.new', ...picture });
    chat.apply({ type: 'message.recalled', conversation_id: 'c1', message_id: 'msg_1', seq: 1, recalled_by: 'acct_ann' });
    const shown = chat.log('c1').items[0];
    const stale = chat.log('c2');
    chat.apply({ type: 'message.recalled', conversation_id: 'c2', message_id: 'msg_2', seq: 7, recalled_by: 'acct_ann' });
    stale.merge([{ ...picture, seq: 7, message_id: 'msg_2' }]);
    return {
      shown: [shown.text, shown.ref, shown.kind, shown.recalled],
      preview: messageSummary(chat.conversations.get('c1').last, session),
      stale: [stale.items[0].text, stale.items[0].ref, stale.items[0].recalled],
    };
  });
  const expected = { shown: ['', null, 'image', true], preview: 'Ann recalled a message', stale: ['', null, true] };
  if (JSON.stringify(state) !== JSON.stringify(expected)) fail(`the chat state after a recall: ${JSON.stringify(state)}`);
  t.screenshot(page);
  t.screenshot(phone, 'phone-dark');
});

/**
 * Deletes the message of `row` for me from its menu (a click on "…", or
 * a right click), confirming; `shot` runs while the menu is open.
 */
async function deleteFromMenu(page, row, { rightClick = false, shot = null } = {}) {
  if (rightClick) {
    await page.click(`${row} :is(.bubble, .system-row)`, { button: 'right' });
  } else {
    await page.hover(row);
    await page.click(`${row} [data-testid=message-actions]`);
  }
  await expectVisible(page, '[data-testid=message-menu] [data-testid=delete-message]', `Delete in the menu of ${row}`);
  await shot?.();
  await page.click('[data-testid=message-menu] [data-testid=delete-message]');
  await expectVisible(page, '[data-testid=delete-dialog]', 'the confirmation of Delete');
  await page.click('[data-testid=delete-dialog] [data-testid=delete-confirm]');
  await page.waitForSelector('[data-testid=delete-dialog]', { state: 'detached', timeout: EXPECT_TIMEOUT_MS });
}

scenario('delete-for-me', async (t) => {
  const ann = await apiUser('ann');
  const bob = await apiUser('bob');
  const direct = await apiBefriend(ann, bob);
  await apiSend(ann, direct, 'Lunch at noon?');
  await apiSend(bob, direct, 'Sure, see you there');
  const annPage = await t.page({ viewport: DESKTOP });
  const bobPhone = await t.page({ viewport: PHONE, name: 'phone' });
  // Bob's other device: a desktop, the chat list beside the conversation.
  const bobDesktop = await t.page({ viewport: DESKTOP, name: 'bob-desktop' });
  await logInInBrowser(annPage, ann.username);
  await logInInBrowser(bobPhone, bob.username);
  await logInInBrowser(bobDesktop, bob.username);
  for (const page of [annPage, bobPhone, bobDesktop]) await openChatWith(page, page === annPage ? `bob ${run}` : `ann ${run}`);
  const secret = `My bank PIN is 4321 ${run}`;
  const theirs = `.msg.theirs:has(.text:text-is("${secret}"))`;
  await sendInBrowser(annPage, secret);
  await expectText(bobPhone, '.msg.theirs', secret, 'the message live at Bob on his phone');
  await expectText(bobDesktop, '.msg.theirs', secret, 'the message live at Bob on his desktop');
  const bobPreview = `.chat-list li[data-conversation-id="${direct}"] .row-subtitle`;
  await expectText(bobDesktop, bobPreview, secret, "the message in Bob's chat list");

  // Ann's message in Bob's phone: no Recall, only Delete, which says first
  // that it is for him alone; the focus starts on Cancel, which keeps it.
  await bobPhone.hover(theirs);
  await bobPhone.click(`${theirs} [data-testid=message-actions]`);
  await expectVisible(bobPhone, '[data-testid=message-menu] [data-testid=delete-message]', "Delete in the menu of Ann's message");
  if (await bobPhone.locator('[data-testid=message-menu] [data-testid=recall-message]').count()) fail("Bob is offered to recall Ann's message");
  await t.screenshotNow(bobPhone, 'menu');
  await bobPhone.click('[data-testid=message-menu] [data-testid=delete-message]');
  await expectText(bobPhone, '[data-testid=delete-dialog]', 'Others in the chat will still see it.', 'the confirmation saying who keeps it');
  const focused = await bobPhone.evaluate(() => document.activeElement?.dataset.testid);
  if (focused !== 'delete-cancel') fail(`the confirmation opened with the focus on ${focused}, not Cancel`);
  await t.screenshotNow(bobPhone, 'confirm');
  await bobPhone.click('[data-testid=delete-dialog] [data-testid=delete-cancel]');
  await bobPhone.waitForSelector('[data-testid=delete-dialog]', { state: 'detached', timeout: EXPECT_TIMEOUT_MS });
  await expectText(bobPhone, '.msg.theirs', secret, 'the message kept after Cancel');

  // From the keyboard this time: "…", End, Enter on Delete, Tab to the
  // dialog's Delete, Enter. Gone from both of Bob's pages live, the focus
  // on the message list, his list's preview back to the message before;
  // Ann keeps it, here and in her history.
  await bobPhone.locator(`${theirs} [data-testid=message-actions]`).focus();
  await bobPhone.keyboard.press('Enter');
  await expectVisible(bobPhone, '[data-testid=message-menu] [data-testid=delete-message]', 'the menu from the keyboard');
  await bobPhone.keyboard.press('End');
  await bobPhone.keyboard.press('Enter');
  await expectVisible(bobPhone, '[data-testid=delete-dialog]', 'the confirmation from the keyboard');
  await bobPhone.keyboard.press('Tab');
  await bobPhone.keyboard.press('Enter');
  await expectGoneFromDom(bobPhone, secret, "Bob's phone");
  await expectGoneFromDom(bobDesktop, secret, "Bob's desktop");
  const focusedAfter = await bobPhone.evaluate(() => document.activeElement?.className);
  if (focusedAfter !== 'messages') fail(`after the delete the focus is on "${focusedAfter}", not the message list`);
  await expectText(bobDesktop, bobPreview, 'You: Sure, see you there', "Bob's chat list preview after the delete");
  await expectText(bobPhone, '.msg.mine', 'Sure, see you there', 'the other messages kept at Bob');
  await expectText(annPage, '.msg.mine[data-status=sent]', secret, 'the message kept at Ann');
  const history = async (user) => (await call(user.token, 'GET', `/conversations/${direct}/messages?limit=10`)).messages.map((m) => m.text);
  if (!(await history(ann)).includes(secret)) fail("the message left Ann's history");
  if ((await history(bob)).includes(secret)) fail("the message is still in Bob's history");

  // A recalled line may go too: Bob's desktop deletes one from a right
  // click, and his phone drops it live.
  const oops = await apiSend(ann, direct, `Wrong chat, sorry ${run}`);
  await call(ann.token, 'POST', `/conversations/${direct}/messages/${oops.message_id}/recall`);
  const recalled = `.msg.recalled:has([data-testid=recalled-line]:text-is("ann ${run} recalled a message"))`;
  await expectVisible(bobPhone, recalled, 'the recall line at Bob on his phone');
  await expectVisible(bobDesktop, recalled, 'the recall line at Bob on his desktop');
  await deleteFromMenu(bobDesktop, recalled, { rightClick: true, shot: () => t.screenshotNow(bobDesktop, 'recalled-menu') });
  await bobPhone.locator(recalled).waitFor({ state: 'detached', timeout: EXPECT_TIMEOUT_MS })
    .catch(() => fail("the deleted recall line is still on Bob's phone"));
  await expectText(bobDesktop, bobPreview, 'You: Sure, see you there', "Bob's chat list preview after the second delete");
  await expectText(annPage, '[data-testid=recalled-line]', 'You recalled a message', 'the recall line kept at Ann');

  // After a reload both stay gone, from the list's preview too.
  await bobPhone.click('a.back');
  await bobPhone.reload();
  await expectText(bobPhone, bobPreview, 'You: Sure, see you there', "Bob's phone's chat list after a reload");
  await openChatWith(bobPhone, `ann ${run}`);
  await expectText(bobPhone, '.msg.theirs', 'Lunch at noon?', 'the older message after a reload');
  await expectGoneFromDom(bobPhone, secret, "Bob's phone after a reload");
  if (await bobPhone.locator('.msg.recalled').count()) fail("the deleted recall line is back on Bob's phone after a reload");

  // The chat state by itself: a log read from the start (the message, then
  // its deletion, then the message again), an older page arriving after a
  // deletion, the preview falling back, paging on below a deleted oldest,
  // and what may be deleted.
  const state = await bobPhone.evaluate(async () => {
    const { ChatState } = await import('/areas/chat/state.js');
    const session = Object.assign(new EventTarget(), { me: 'acct_me', api: {}, setBadge: () => {}, name: (id) => id });
    const chat = new ChatState(session);
    chat.conversations.set('c1', { conversation_id: 'c1', kind: 'direct', last_seq: 0, read_seq: 0, unread: 0, activity: 0, last: null });
    const message = (seq, text) => ({
      conversation_id: 'c1', message_id: `msg_${seq}`, seq, sender: 'acct_ann', text, kind: 'text',
      ref: null, sent_at: new Date().toISOString(), client_msg_id: `web-${seq}`, recalled: false,
    });
    chat.apply({ type: 'message.new', ...message(1, 'one') });
    chat.apply({ type: 'message.new', ...message(2, 'two') });
    chat.apply({ type: 'message.deleted', conversation_id: 'c1', message_id: 'msg_2', seq: 2 });
    chat.apply({ type: 'message.new', ...message(2, 'two') });
    const log = chat.log('c1');
    const replayed = { texts: log.items.map((m) => m.text), preview: chat.conversations.get('c1').last?.text ?? null };
    chat.apply({ type: 'message.deleted', conversation_id: 'c1', message_id: 'msg_1', seq: 1 });
    const emptied = { texts: log.items.map((m) => m.text), preview: chat.conversations.get('c1').last, oldest: log.oldestSeq() };
    const stale = chat.log('c2');
    chat.apply({ type: 'message.deleted', conversation_id: 'c2', message_id: 'msg_7', seq: 7 });
    stale.merge([message(6, 'six'), message(7, 'seven')]);
    const may = (m) => chat.canDelete(m);
    return {
      replayed,
      emptied,
      stale: stale.items.map((m) => m.text),
      canDelete: [
        may({ ...message(3, ''), kind: 'transfer', status: 'sent' }),
        may({ ...message(4, ''), recalled: true }),
        may({ client_msg_id: 'web-5', seq: null, status: 'failed' }),
        may({ client_msg_id: 'web-6', seq: null, status: 'sending' }),
      ],
    };
  });
  const expected = {
    replayed: { texts: ['one'], preview: 'one' },
    emptied: { texts: [], preview: null, oldest: 1 },
    stale: ['six'],
    canDelete: [true, true, false, false],
  };
  if (JSON.stringify(state) !== JSON.stringify(expected)) fail(`the chat state after deletions: ${JSON.stringify(state)}`);
  t.screenshot(bobDesktop);
  t.screenshot(bobPhone, 'phone');
  t.screenshot(annPage, 'ann');
});

/**
 * Waits until the reaction chip `selector` reads `text` ("👍 2"), is
 * pressed or not, and names who reacted in its label and tooltip.
 */
async function expectChip(page, selector, { text, pressed, label }, what) {
  const read = () =>
    page.evaluate((sel) => {
      const chip = document.querySelector(sel);
      if (!chip) return null;
      const title = chip.getAttribute('title');
      return { text: chip.textContent.replace(/\s+/g, ' ').trim(), pressed: chip.getAttribute('aria-pressed') === 'true', label: chip.getAttribute('aria-label') === title ? title : `${chip.getAttribute('aria-label')} / ${title}` };
    }, selector);
  const wanted = JSON.stringify({ text, pressed, label });
  const deadline = Date.now() + EXPECT_TIMEOUT_MS;
  let seen = null;
  while (Date.now() < deadline) {
    seen = await read();
    if (JSON.stringify(seen) === wanted) return;
    await page.waitForTimeout(100);
  }
  fail(`${what}: the chip is ${JSON.stringify(seen)}, not ${wanted}`);
}

/** Waits until `selector` (a chip) has left the page. */
async function expectNoChip(page, selector, what) {
  await page.waitForSelector(selector, { state: 'detached', timeout: EXPECT_TIMEOUT_MS }).catch(() => fail(`${what}: still shown`));
}

/** Opens the message menu of `row` from its "…" and picks the quick reaction `emoji`. */
async function reactFromMenu(page, row, emoji) {
  await page.hover(row);
  await page.click(`${row} [data-testid=message-actions]`);
  const quick = `[data-testid=message-menu] [data-testid=quick-reaction][data-emoji="${emoji}"]`;
  await expectVisible(page, quick, `${emoji} in the menu of ${row}`);
  await page.click(quick);
  await page.waitForSelector('[data-testid=message-menu]', { state: 'detached', timeout: EXPECT_TIMEOUT_MS })
    .catch(() => fail(`choosing ${emoji} did not close the menu`));
}

scenario('reactions', async (t) => {
  const ann = await apiUser('ann');
  const bob = await apiUser('bob');
  const direct = await apiBefriend(ann, bob);
  const dinner = await apiSend(ann, direct, `Dinner at eight? ${run}`);
  const annPage = await t.page({ viewport: DESKTOP });
  const bobPage = await t.page({ viewport: PHONE, name: 'phone', colorScheme: 'dark' });
  await logInInBrowser(annPage, ann.username);
  await logInInBrowser(bobPage, bob.username);
  await openChatWith(annPage, `bob ${run}`);
  await openChatWith(bobPage, `ann ${run}`);
  const row = `.msg[data-seq="${dinner.seq}"]`;
  const chip = (emoji) => `${row} [data-testid=reaction-chip][data-emoji="${emoji}"]`;
  const [annName, bobName] = [`ann ${run}`, `bob ${run}`];

  // Bob's menu on Ann's message: the quick reactions at its top, none
  // chosen yet, the focus on the first; he picks 👍.
  await bobPage.click(`${row} [data-testid=message-actions]`);
  await expectVisible(bobPage, '[data-testid=message-menu] [data-testid=quick-reaction]', 'the quick reactions in the menu');
  const offered = await bobPage.$$eval('[data-testid=message-menu] [data-testid=quick-reaction]', (buttons) =>
    buttons.map((b) => `${b.dataset.emoji}${b.getAttribute('aria-checked') === 'true' ? '*' : ''}`).join(' '));
  if (offered !== '👍 ❤️ 😂 😮 😢 🙏') fail(`the quick reactions offered: ${offered}`);
  if ((await focusedItem(bobPage)) !== 'quick-reaction 👍') fail(`the menu opened with the focus on ${await focusedItem(bobPage)}`);
  await t.screenshotNow(bobPage, 'menu');
  await bobPage.click('[data-testid=message-menu] [data-testid=quick-reaction][data-emoji="👍"]');
  await expectChip(bobPage, chip('👍'), { text: '👍 1', pressed: true, label: 'You reacted with 👍' }, "Bob's 👍 at Bob");
  await expectChip(annPage, chip('👍'), { text: '👍 1', pressed: false, label: `${bobName} reacted with 👍` }, "Bob's 👍 live at Ann");

  // Ann's click on the chip adds hers; Bob's on his takes his back: both live on both pages.
  await annPage.click(chip('👍'));
  await expectChip(annPage, chip('👍'), { text: '👍 2', pressed: true, label: `You and ${bobName} reacted with 👍` }, 'two 👍 at Ann');
  await expectChip(bobPage, chip('👍'), { text: '👍 2', pressed: true, label: `You and ${annName} reacted with 👍` }, 'two 👍 live at Bob');
  await t.screenshotNow(annPage, 'two');
  await bobPage.click(chip('👍'));
  await expectChip(bobPage, chip('👍'), { text: '👍 1', pressed: false, label: `${annName} reacted with 👍` }, "Ann's 👍 alone at Bob");
  await expectChip(annPage, chip('👍'), { text: '👍 1', pressed: true, label: 'You reacted with 👍' }, "Ann's 👍 alone, live at Ann");
  const stored = await call(bob.token, 'GET', `/conversations/${direct}/messages?limit=5`);
  const reactions = stored.messages.find((m) => m.seq === dinner.seq)?.reactions?.map(({ emoji, count, accounts }) => ({ emoji, count, accounts }));
  if (JSON.stringify(reactions) !== JSON.stringify([{ emoji: '👍', count: 1, accounts: [ann.account_id] }])) {
    fail(`the reactions in history: ${JSON.stringify(reactions)}`);
  }

  // After a reload history brings it back, still hers.
  await annPage.reload();
  await openChatWith(annPage, bobName);
  await expectChip(annPage, chip('👍'), { text: '👍 1', pressed: true, label: 'You reacted with 👍' }, "Ann's 👍 after a reload");

  // The keyboard: "…" opens the menu on 👍, checked (hers); the arrows
  // move along the row and down to the actions; Enter on ❤️ reacts and
  // gives the focus back to "…".
  await annPage.locator(`${row} [data-testid=message-actions]`).focus();
  await annPage.keyboard.press('Enter');
  await expectVisible(annPage, '[data-testid=message-menu] [data-testid=quick-reaction][aria-checked=true][data-emoji="👍"]', 'her 👍 checked in the menu');
  for (const [key, expected] of [
    ['ArrowRight', 'quick-reaction ❤️'], ['ArrowLeft', 'quick-reaction 👍'], ['ArrowLeft', 'quick-reaction 🙏'],
    ['ArrowDown', 'reply-message'], ['ArrowUp', 'quick-reaction 🙏'], ['End', 'delete-message'], ['Home', 'quick-reaction 👍'],
    ['ArrowRight', 'quick-reaction ❤️'],
  ]) {
    await annPage.keyboard.press(key);
    if ((await focusedItem(annPage)) !== expected) fail(`${key} in the menu focused ${await focusedItem(annPage)}, not ${expected}`);
  }
  await annPage.keyboard.press('Enter');
  await expectChip(annPage, chip('❤️'), { text: '❤️ 1', pressed: true, label: 'You reacted with ❤️' }, "Ann's ❤️ from the keyboard");
  await expectChip(bobPage, chip('❤️'), { text: '❤️ 1', pressed: false, label: `${annName} reacted with ❤️` }, "Ann's ❤️ live at Bob");
  if ((await focusedItem(annPage)) !== 'message-actions') fail(`after reacting the focus is on ${await focusedItem(annPage)}, not "…"`);
  // Chosen again from the menu (a right click), it is taken back.
  await annPage.click(`${row} .bubble`, { button: 'right' });
  await expectVisible(annPage, '[data-testid=message-menu] [data-testid=quick-reaction][aria-checked=true][data-emoji="❤️"]', 'her ❤️ checked in the menu');
  await annPage.click('[data-testid=message-menu] [data-testid=quick-reaction][data-emoji="❤️"]');
  await expectNoChip(annPage, chip('❤️'), "Ann's ❤️ taken back, at Ann");
  await expectNoChip(bobPage, chip('❤️'), "Ann's ❤️ taken back, at Bob");

  // The server's refusals are said in a toast: ten different emojis are
  // the most one member may put on a message (the eleventh is refused for
  // real), and a message recalled meanwhile takes none.
  const plans = await apiSend(ann, direct, `Bring a dessert ${run}`);
  const plansRow = `.msg[data-seq="${plans.seq}"]`;
  const path = `/conversations/${direct}/messages/${plans.message_id}/reactions`;
  for (const emoji of ['🎉', '🔥', '👀', '✅', '💯', '🤔', '👏', '😀', '🙌', '🌟']) await call(bob.token, 'POST', path, { emoji });
  await expectChip(bobPage, `${plansRow} [data-testid=reaction-chip][data-emoji="🌟"]`, { text: '🌟 1', pressed: true, label: 'You reacted with 🌟' }, "Bob's tenth emoji, live");
  await reactFromMenu(bobPage, plansRow, '😂');
  await expectText(bobPage, '[data-testid=reaction-error]', 'You can put at most 10 different reactions on one message.', 'the limit in a toast');
  if (await bobPage.locator(`${plansRow} [data-testid=reaction-chip][data-emoji="😂"]`).count()) fail('the refused reaction is shown');
  await bobPage.route('**/api/v1/conversations/*/messages/*/reactions', (route) => route.fulfill(refusal('message_recalled', 409)));
  await reactFromMenu(bobPage, row, '😮');
  await expectText(bobPage, '[data-testid=reaction-error]', 'That message was recalled.', 'a recalled message in a toast');
  await bobPage.unroute('**/api/v1/conversations/*/messages/*/reactions');

  // A recall takes the reactions away, live; the recall line offers none.
  await call(ann.token, 'POST', `/conversations/${direct}/messages/${plans.message_id}/recall`);
  const recalled = `.msg.recalled[data-seq="${plans.seq}"]`;
  await expectVisible(bobPage, recalled, 'the recall line at Bob');
  await expectNoChip(bobPage, `${plansRow} [data-testid=reaction-chip]`, 'the reactions of the recalled message at Bob');
  await expectNoChip(annPage, `${plansRow} [data-testid=reaction-chip]`, 'the reactions of the recalled message at Ann');
  await bobPage.click(`${recalled} [data-testid=message-actions]`);
  await expectVisible(bobPage, '[data-testid=message-menu] [data-testid=delete-message]', "the recall line's menu");
  if (await bobPage.locator('[data-testid=message-menu] [data-testid=quick-reaction]').count()) fail('the recall line offers reactions');
  await expectOnlyDelete(bobPage, 'the recall line');

  // The chat state by itself: an event told twice, my change and then its
  // event, a removal told twice, a page that names only the first of many,
  // an event arriving while its page is on the way, and a recall.
  const state = await annPage.evaluate(async () => {
    const { ChatState } = await import('/areas/chat/state.js');
    const session = Object.assign(new EventTarget(), { me: 'acct_me', api: {}, setBadge: () => {}, name: (id) => id });
    const chat = new ChatState(session);
    chat.conversations.set('c1', { conversation_id: 'c1', kind: 'direct', last_seq: 0, read_seq: 0, unread: 0, activity: 0, last: null });
    const message = (conversation, seq, reactions) => ({
      conversation_id: conversation, message_id: `msg_${seq}`, seq, sender: 'acct_ann', text: 'hi', kind: 'text',
      ref: null, sent_at: new Date().toISOString(), client_msg_id: `web-${seq}`, recalled: false, reactions,
    });
    const react = (conversation, seq, account, emoji, added) =>
      chat.apply({ type: 'message.reaction', conversation_id: conversation, message_id: `msg_${seq}`, seq, account_id: account, emoji, added });
    const shown = (conversation, seq) =>
      (chat.log(conversation).items.find((m) => m.seq === seq)?.reactions ?? []).map((r) => `${r.emoji}${r.count}${r.mine ?? r.accounts.includes('acct_me') ? '*' : ''}`).join(' ');
    chat.apply({ type: 'message.new', ...message('c1', 1) });
    react('c1', 1, 'acct_ann', '👍', true);
    react('c1', 1, 'acct_ann', '👍', true);
    chat.noteReaction('c1', 1, 'acct_me', '👍', true);
    react('c1', 1, 'acct_me', '👍', true);
    react('c1', 1, 'acct_bob', '❤️', true);
    react('c1', 1, 'acct_bob', '❤️', false);
    react('c1', 1, 'acct_bob', '❤️', false);
    const twice = shown('c1', 1);
    // History names the first 20 of 25 and says I am among them.
    const many = chat.log('c2');
    const named = Array.from({ length: 20 }, (_, i) => `acct_${i}`);
    many.merge([message('c2', 5, [{ emoji: '🙏', count: 25, accounts: named, mine: true }])]);
    react('c2', 5, 'acct_0', '🙏', true);
    react('c2', 5, 'acct_x', '🙏', false);
    react('c2', 5, 'acct_x', '🙏', false);
    react('c2', 5, 'acct_me', '🙏', false);
    react('c2', 5, 'acct_me', '🙏', false);
    const capped = shown('c2', 5);
    // Events for messages whose page is on its way: applied when it comes,
    // once, whether the page was read before the event or after.
    const later = chat.log('c3');
    later.loading = Promise.resolve();
    react('c3', 9, 'acct_ann', '😮', true);
    react('c3', 10, 'acct_ann', '😮', true);
    later.merge([message('c3', 9, [{ emoji: '😮', count: 1, accounts: ['acct_ann'] }]), message('c3', 10)]);
    later.loading = null;
    const onTheWay = `${shown('c3', 9)} ${shown('c3', 10)}`;
    chat.apply({ type: 'message.recalled', conversation_id: 'c1', message_id: 'msg_1', seq: 1, recalled_by: 'acct_ann' });
    react('c1', 1, 'acct_ann', '😢', true);
    return { twice, capped, onTheWay, recalled: shown('c1', 1), canReact: chat.canReact(chat.log('c1').items[0]) };
  });
  const expected = { twice: '👍2*', capped: '🙏23', onTheWay: '😮1 😮1', recalled: '', canReact: false };
  if (JSON.stringify(state) !== JSON.stringify(expected)) fail(`the chat state's reactions: ${JSON.stringify(state)}`);
  t.screenshot(annPage);
  t.screenshot(bobPage, 'phone-dark');
});

scenario('group-admin', async (t) => {
  const [gina, bea, carl, dora] = [await apiUser('gina'), await apiUser('bea'), await apiUser('carl'), await apiUser('dora')];
  await apiBefriend(gina, bea);
  await apiBefriend(gina, carl);
  const title = `Book club ${run}`;
  const group = await call(gina.token, 'POST', '/conversations', { title, members: [bea.account_id, carl.account_id] });
  const id = group.conversation_id;
  const ginaPage = await t.page({ viewport: DESKTOP });
  const beaPage = await t.page({ viewport: DESKTOP, name: 'bea' });
  const doraPage = await t.page({ viewport: PHONE, name: 'dora', colorScheme: 'dark' });
  await logInInBrowser(ginaPage, gina.username);
  await logInInBrowser(beaPage, bea.username);
  const row = (who) => `.members li[data-account-id="${who.account_id}"]`;

  // The owner makes Bea an admin; Bea's page shows her role and her tools live.
  await ginaPage.goto(`${args.baseUrl}/#/chats/${id}/info`);
  await expectText(ginaPage, `${row(gina)} [data-testid=role-tag]`, 'owner', "Gina's owner tag");
  await beaPage.goto(`${args.baseUrl}/#/chats/${id}/info`);
  await expectVisible(beaPage, `${row(carl)}`, "Carl among the members at Bea");
  if (await beaPage.locator('[data-testid=group-edit]').isVisible()) fail('a plain member sees the admins\' tools');
  await ginaPage.click(`${row(bea)} [data-testid=make-admin]`);
  await expectText(ginaPage, `${row(bea)} [data-testid=role-tag]`, 'admin', 'Bea an admin at Gina');
  await expectText(beaPage, `${row(bea)} [data-testid=role-tag]`, 'admin', 'Bea an admin at Bea, live');
  await expectVisible(beaPage, '[data-testid=group-edit]', "the admins' tools at Bea");
  if (await beaPage.locator(`${row(carl)} [data-testid=make-admin]`).count()) fail('an admin may name admins');

  // Bea announces; Gina sees it live. An announcement too long is refused.
  await beaPage.fill('#group-announcement-input', 'Chapter 3 by Friday');
  await beaPage.click('[data-testid=group-announce] button[type=submit]');
  await expectText(ginaPage, '[data-testid=group-announcement]', 'Chapter 3 by Friday', 'the announcement at Gina, live');
  await beaPage.evaluate(() => document.querySelector('#group-announcement-input')?.removeAttribute('maxlength'));
  await beaPage.fill('#group-announcement-input', 'x'.repeat(2001));
  await beaPage.click('[data-testid=group-announce] button[type=submit]');
  await expectText(beaPage, '.group-info .error', '2,000', 'too long, refused');

  // Bea invites; Dora, a stranger, opens the link and joins.
  await beaPage.click('[data-testid=create-invite]');
  await expectVisible(beaPage, '[data-testid=invite-qr]', 'the invitation\'s QR code');
  const qrLoaded = await beaPage.locator('[data-testid=invite-qr]').evaluate((img) => img.complete && img.naturalWidth > 0);
  if (!qrLoaded) fail('the QR code did not load');
  const link = await beaPage.inputValue('[data-testid=invite-link]');
  if (!link.includes('#/join/piazza-invite%3A')) fail(`an unexpected link: ${link}`);
  // Dora is logged out: the link leads to the log-in, then back to itself.
  await doraPage.goto(link);
  await doraPage.fill('#f-username', dora.username);
  await doraPage.fill('#f-password', PASSWORD);
  await doraPage.click('form button[type=submit]');
  await doraPage.click('[data-testid=join-group]');
  await expectVisible(doraPage, 'pz-conversation #composer', 'the group open at Dora');
  await expectVisible(ginaPage, row(dora), 'Dora among the members at Gina');
  t.screenshot(beaPage, 'invite');

  // Approval mode: the next joiner waits until an admin approves.
  const switched = ginaPage.waitForResponse((r) => r.request().method() === 'PATCH' && r.url().includes('/conversations/'));
  await ginaPage.check('[data-testid=group-approval]');
  if ((await switched).status() !== 204) fail('approval mode not switched on');
  const eve = await apiUser('eve');
  const asked = await call(eve.token, 'POST', '/invites/accept', { payload: decodeURIComponent(link.split('#/join/')[1]) });
  if (asked.state !== 'pending') fail(`expected a pending request, got ${JSON.stringify(asked)}`);
  await expectVisible(beaPage, `[data-testid=join-requests] li[data-account-id="${eve.account_id}"]`, "Eve's request at Bea, live");
  await beaPage.click(`[data-testid=join-requests] li[data-account-id="${eve.account_id}"] [data-testid=approve-join]`);
  await expectVisible(beaPage, row(eve), 'Eve a member once approved');

  // An admin removes a plain member.
  await beaPage.click(`${row(dora)} [data-testid=remove-member]`);
  await expectVisible(doraPage, 'pz-conversation textarea:disabled', "Dora's composer disabled after her removal");
  // The owner leaves: Bea, the admin, owns the group.
  await ginaPage.click('[data-testid=leave-group]');
  await expectUrl(ginaPage, '#/chats');
  await expectText(beaPage, `${row(bea)} [data-testid=role-tag]`, 'owner', 'Bea the owner after Gina left');
  t.screenshot(beaPage);
  t.screenshot(doraPage, 'phone-dark');
});
