// Messaging beyond text: replies, mentions, forwards, places and contact
// cards, and the chat list's counts and settings (pin, mute, archive).

import { randomUUID } from 'node:crypto';
import { deflateSync } from 'node:zlib';

import {
  EXPECT_TIMEOUT_MS,
  DESKTOP,
  PHONE,
  PIN,
  args,
  run,
  fail,
  call,
  apiUser,
  apiBefriend,
  apiSend,
  apiFund,
  expectVisible,
  expectAttached,
  expectText,
  logInInBrowser,
  sendInBrowser,
  openChatWith,
  scenario,
} from '../harness.mjs';

// ------------------------------------------------------------ helpers

/** A message sent through the API with more than a text (`fields`: reply_to, mentions, location, …). */
async function apiMessage(user, conversationId, fields) {
  return call(user.token, 'POST', `/conversations/${conversationId}/messages`, {
    client_msg_id: `setup-${randomUUID()}`,
    ...fields,
  });
}

async function apiGroup(owner, title, members) {
  return (await call(owner.token, 'POST', '/conversations', { title, members: members.map((m) => m.account_id) })).conversation_id;
}

/** One message as `user`'s history has it. */
async function stored(user, conversationId, seq) {
  const page = await call(user.token, 'GET', `/conversations/${conversationId}/messages?limit=20`);
  return page.messages.find((m) => m.seq === seq);
}

/** The newest message of `user`'s history whose text is `text`. */
async function storedByText(user, conversationId, text) {
  const page = await call(user.token, 'GET', `/conversations/${conversationId}/messages?limit=20`);
  return page.messages.find((m) => m.text === text);
}

/** A conversation as `user`'s list has it (counts, settings). */
async function listed(user, conversationId) {
  const answer = await call(user.token, 'GET', '/conversations');
  return answer.conversations.find((c) => c.conversation_id === conversationId);
}

/** A plain PNG of one colour, made here (zlib and a CRC), to upload through the API. */
function png(width, height, [r, g, b]) {
  const crc32 = (bytes) => {
    let crc = 0xffffffff;
    for (const byte of bytes) {
      crc ^= byte;
      for (let k = 0; k < 8; k += 1) crc = crc & 1 ? 0xedb88320 ^ (crc >>> 1) : crc >>> 1;
    }
    return (crc ^ 0xffffffff) >>> 0;
  };
  const chunk = (type, data) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([length, body, crc]);
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8;
  header[9] = 2;
  const row = Buffer.alloc(1 + width * 3);
  for (let x = 0; x < width; x += 1) row.set([r, g, b], 1 + x * 3);
  const pixels = Buffer.concat(Array.from({ length: height }, () => row));
  const signature = Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]);
  return Buffer.concat([signature, chunk('IHDR', header), chunk('IDAT', deflateSync(pixels)), chunk('IEND', Buffer.alloc(0))]);
}

async function apiUpload(user, bytes) {
  const response = await fetch(`${args.baseUrl}/api/v1/media`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${user.token}`, 'Content-Type': 'image/png', Accept: 'application/json' },
    body: bytes,
  });
  if (!response.ok) fail(`upload: ${response.status} ${await response.text()}`);
  return (await response.json()).media_id;
}

/** Opens the menu of the message `row` from its "…". */
async function openMenu(page, row) {
  await page.hover(row);
  await page.click(`${row} [data-testid=message-actions]`);
  await expectVisible(page, '[data-testid=message-menu]', `the menu of ${row}`);
}

/** The test ids of the open menu's actions, in order. */
async function menuItems(page, menu = 'message-menu') {
  return page.$$eval(`[data-testid=${menu}] [role=menuitem]`, (items) => items.map((item) => item.dataset.testid));
}

async function closeMenu(page, menu = 'message-menu') {
  await page.keyboard.press('Escape');
  await page.waitForSelector(`[data-testid=${menu}]`, { state: 'detached', timeout: EXPECT_TIMEOUT_MS })
    .catch(() => fail(`Escape did not close the ${menu}`));
}

/** Whether the element of `selector` lies within the message list's visible part. */
async function inView(page, selector) {
  return page.evaluate((wanted) => {
    const element = document.querySelector(wanted);
    const list = document.querySelector('pz-conversation .messages');
    if (!element || !list) return false;
    const box = element.getBoundingClientRect();
    const frame = list.getBoundingClientRect();
    return box.bottom > frame.top && box.top < frame.bottom;
  }, selector);
}

/** The chat list's order: each entry's conversation id ("archived" for the archive's row). */
async function listOrder(page) {
  return page.$$eval('.chat-list > li', (items) => items.map((li) => li.dataset.conversationId ?? (li.classList.contains('archived-row') ? 'archived' : '?')));
}

async function expectOrder(page, expected, what) {
  const until = Date.now() + EXPECT_TIMEOUT_MS;
  let order;
  while (JSON.stringify((order = await listOrder(page))) !== JSON.stringify(expected)) {
    if (Date.now() > until) fail(`${what}: the list is ${JSON.stringify(order)}, not ${JSON.stringify(expected)}`);
    await page.waitForTimeout(100);
  }
}


// ------------------------------------------------------------ replies

scenario('reply', async (t) => {
  const ann = await apiUser('ann');
  const bob = await apiUser('bob');
  const direct = await apiBefriend(ann, bob);
  // An old plan, then more than a page of chatter, then Bob's answer to
  // the plan: the quoted message is not in the page Ann's client loads.
  const plan = await apiSend(ann, direct, `The very first plan ${run}`);
  for (let i = 0; i < 110; i += 1) await apiSend(i % 2 ? ann : bob, direct, `chatter ${i}`);
  const backToPlan = await apiMessage(bob, direct, { text: 'Back to the first plan', reply_to: plan.message_id });
  const annPage = await t.page({ viewport: DESKTOP });
  const bobPage = await t.page({ viewport: PHONE, name: 'phone', colorScheme: 'dark' });
  await logInInBrowser(annPage, ann.username);
  await logInInBrowser(bobPage, bob.username);
  await openChatWith(annPage, `bob ${run}`);
  await openChatWith(bobPage, `ann ${run}`);
  const annName = `ann ${run}`;

  // Bob answers Ann's new message from its menu: the bar over his
  // composer names it; his reply shows the quote, at his side and live at Ann's.
  await sendInBrowser(annPage, 'Lunch today?');
  const lunch = `.msg.theirs:has(.text:text-is("Lunch today?"))`;
  await expectVisible(bobPage, lunch, "Ann's message at Bob");
  await openMenu(bobPage, lunch);
  const offered = await menuItems(bobPage);
  if (JSON.stringify(offered) !== JSON.stringify(['reply-message', 'forward-message', 'delete-message'])) fail(`the menu of Ann's message at Bob: ${offered}`);
  await bobPage.click('[data-testid=message-menu] [data-testid=reply-message]');
  await expectText(bobPage, '[data-testid=reply-bar]', `Reply to ${annName}`, 'the reply bar naming Ann');
  await expectText(bobPage, '[data-testid=reply-bar]', 'Lunch today?', 'the reply bar quoting her message');
  const focused = await bobPage.evaluate(() => document.activeElement?.id);
  if (focused !== 'composer') fail(`Reply left the focus on ${focused}, not the composer`);
  await t.screenshotNow(bobPage, 'bar');
  await sendInBrowser(bobPage, 'Yes, at one');
  const answer = '.msg:has(.text:text-is("Yes, at one"))';
  await expectText(bobPage, `${answer} [data-testid=quote]`, 'Lunch today?', 'the quote in Bob\'s reply');
  await expectText(bobPage, `${answer} [data-testid=quote]`, annName, 'the quote naming Ann');
  if (await bobPage.locator('[data-testid=reply-bar]').isVisible()) fail('the reply bar stayed after sending');
  await expectText(annPage, `${answer} [data-testid=quote]`, 'Lunch today?', 'the quote live at Ann');
  await expectText(annPage, `${answer} [data-testid=quote]`, 'You', 'the quote naming Ann as "You" at hers');
  const lunchStored = await storedByText(ann, direct, 'Lunch today?');
  const answerStored = await storedByText(ann, direct, 'Yes, at one');
  if (answerStored?.reply_to !== lunchStored?.message_id) fail(`the reply is stored as ${JSON.stringify(answerStored)}`);

  // × gives a reply up: the next message answers nothing.
  await openMenu(bobPage, lunch);
  await bobPage.click('[data-testid=message-menu] [data-testid=reply-message]');
  await bobPage.click('[data-testid=reply-cancel]');
  if (await bobPage.locator('[data-testid=reply-bar]').isVisible()) fail('× did not close the reply bar');
  await sendInBrowser(bobPage, 'Just a line');
  if ((await storedByText(bob, direct, 'Just a line'))?.reply_to) fail('a reply given up was sent as one');

  // A quoted message older than the page held is fetched by itself, and a
  // click on the quote reads back until it is there, in view, lit.
  const old = `.msg[data-seq="${backToPlan.seq}"] [data-testid=quote]`;
  await expectText(annPage, old, `The very first plan ${run}`, 'the quote of a message not loaded');
  await annPage.click(old);
  const planRow = `.msg[data-seq="${plan.seq}"]`;
  await expectAttached(annPage, `${planRow}.flash`, 'the quoted message, lit');
  if (!(await inView(annPage, planRow))) fail('the quoted message is not in view after a click on its quote');

  // Ann recalls her message: Bob's quote says so, live.
  await annPage.locator('pz-conversation .messages').evaluate((list) => (list.scrollTop = list.scrollHeight));
  const mine = `.msg.mine:has(.text:text-is("Lunch today?"))`;
  await openMenu(annPage, mine);
  await annPage.click('[data-testid=message-menu] [data-testid=recall-message]');
  await expectText(bobPage, `${answer} [data-testid=quote]`, 'Message recalled', 'the quote of a recalled message at Bob');
  await expectGone(bobPage, `${answer} [data-testid=quote]:has-text("Lunch today?")`, 'the recalled text in the quote');
  // A quoted message deleted for me is unavailable, also after a reload.
  await call(bob.token, 'DELETE', `/conversations/${direct}/messages/${plan.message_id}`);
  await bobPage.reload();
  await openChatWith(bobPage, annName);
  await expectText(bobPage, `.msg[data-seq="${backToPlan.seq}"] [data-testid=quote]`, 'Message unavailable', 'the quote of a message deleted for Bob');
  t.screenshot(annPage);
  t.screenshot(bobPage, 'phone-dark');
});

/** Waits until nothing matches `selector`. */
async function expectGone(page, selector, what) {
  await page.waitForSelector(selector, { state: 'detached', timeout: EXPECT_TIMEOUT_MS }).catch(() => fail(`${what}: still there`));
}

// ------------------------------------------------------------ mentions

scenario('mentions', async (t) => {
  const [gina, bea, carl] = [await apiUser('gina'), await apiUser('bea'), await apiUser('carl')];
  await apiBefriend(gina, bea);
  await apiBefriend(gina, carl);
  const title = `Book club ${run}`;
  const group = await apiGroup(gina, title, [bea, carl]);
  const ginaPage = await t.page({ viewport: DESKTOP });
  const beaPage = await t.page({ viewport: DESKTOP, name: 'bea' });
  const carlPage = await t.page({ viewport: PHONE, name: 'carl', colorScheme: 'dark' });
  await logInInBrowser(ginaPage, gina.username);
  await logInInBrowser(beaPage, bea.username);
  await logInInBrowser(carlPage, carl.username);
  await openChatWith(ginaPage, title);
  const [beaName, carlName] = [`bea ${run}`, `carl ${run}`];
  const entry = `.chat-list li[data-conversation-id="${group}"]`;
  const atBadge = `${entry} [data-testid=mention-badge]:not([hidden])`;

  // "@" in the owner's composer lists @All and the members, not her;
  // what follows filters; Enter inserts the one chosen.
  const composer = ginaPage.locator('#composer');
  await composer.pressSequentially('@');
  await expectVisible(ginaPage, '[data-testid=mention-picker] [data-testid=mention-all]', '@All in the owner\'s picker');
  const names = await ginaPage.$$eval('[data-testid=mention-picker] [role=option] .mention-name', (items) => items.map((i) => i.textContent));
  if (JSON.stringify([...names].sort()) !== JSON.stringify(['All', beaName, carlName].sort()) || names[0] !== 'All') fail(`the picker lists ${JSON.stringify(names)}`);
  await composer.pressSequentially('be');
  await ginaPage.waitForFunction(() => document.querySelectorAll('[data-testid=mention-picker] [role=option]').length === 1, null, { timeout: EXPECT_TIMEOUT_MS })
    .catch(() => fail('typing "be" did not leave Bea alone in the picker'));
  await t.screenshotNow(ginaPage, 'picker');
  await composer.press('Enter');
  if ((await composer.inputValue()) !== `@${beaName} `) fail(`the composer holds "${await composer.inputValue()}"`);
  await composer.pressSequentially('see you at eight');
  await composer.press('Enter');
  const first = `@${beaName} see you at eight`;
  await expectText(ginaPage, '.msg.mine[data-status=sent]', first, 'the mention sent');
  const sent = await storedByText(gina, group, first);
  if (JSON.stringify(sent?.mentions) !== JSON.stringify([bea.account_id]) || sent.mention_all) fail(`the mention is stored as ${JSON.stringify(sent)}`);

  // Bea's list, before she opens the group: one unread, and an "@".
  await expectText(beaPage, `${entry} .badge:not(.mention):not([hidden])`, '1', "one unread at Bea");
  await expectVisible(beaPage, atBadge, 'the "@" at Bea');
  await expectText(carlPage, `${entry} .badge:not(.mention):not([hidden])`, '1', 'one unread at Carl');
  if (await carlPage.locator(atBadge).count()) fail('Carl, not mentioned, has an "@"');

  // The keyboard and a click: Down moves past @All; @All itself mentions everyone.
  await composer.pressSequentially('@');
  await expectVisible(ginaPage, '[data-testid=mention-picker] [role=option][aria-selected=true][data-testid=mention-all]', '@All chosen first');
  await composer.press('ArrowDown');
  await expectVisible(ginaPage, '[data-testid=mention-picker] [role=option][aria-selected=true][data-testid=mention-option]', 'a member chosen with Down');
  await composer.press('ArrowUp');
  await ginaPage.click('[data-testid=mention-picker] [data-testid=mention-all]');
  await composer.pressSequentially('the meeting moves to Friday');
  await composer.press('Enter');
  const second = '@All the meeting moves to Friday';
  await expectText(ginaPage, '.msg.mine[data-status=sent]', second, 'the @All sent');
  if (!(await storedByText(gina, group, second))?.mention_all) fail('@All was not sent as mention_all');
  await expectVisible(carlPage, atBadge, 'the "@" at Carl after @All');
  await expectText(beaPage, `${entry} .badge:not(.mention):not([hidden])`, '2', 'two unread at Bea');
  if ((await listed(bea, group)).mention_count !== 2) fail(`Bea's mention count: ${(await listed(bea, group)).mention_count}`);
  await t.screenshotNow(beaPage, 'badge');
  await t.screenshotNow(carlPage, 'badge-phone-dark');

  // Bea reads: the messages naming her stand out, her name and @All
  // marked; the "@" and the count are gone, here and on the server.
  await openChatWith(beaPage, title);
  await expectAttached(beaPage, `.msg[data-mentions-me=true]:has-text("${first}") .mention.me:text-is("@${beaName}")`, 'her name marked in the first');
  await expectAttached(beaPage, `.msg[data-mentions-me=true]:has-text("${second}") .mention.me:text-is("@All")`, '@All marked in the second');
  await beaPage.click('.areas a[href="#/chats"]');
  await expectAttached(beaPage, `${entry} [data-testid=mention-badge][hidden]`, 'the "@" cleared after reading');
  await expectAttached(beaPage, `${entry}:not(.unread)`, 'the count cleared after reading');
  const after = await listed(bea, group);
  if (after.mention_count !== 0 || after.unread_count !== 0) fail(`Bea's counts after reading: ${JSON.stringify(after)}`);

  // A member has no @All, and the server would refuse it anyway.
  await openChatWith(beaPage, title);
  await beaPage.locator('#composer').pressSequentially('@');
  await expectVisible(beaPage, '[data-testid=mention-picker] [data-testid=mention-option]', "the picker at Bea");
  if (await beaPage.locator('[data-testid=mention-picker] [data-testid=mention-all]').count()) fail('a member is offered @All');
  await beaPage.keyboard.press('Escape');
  await expectAttached(beaPage, '[data-testid=mention-picker][hidden]', 'Escape closing the picker');

  // The chat state by itself: the snapshot's mentions and live ones
  // count up (a message told twice once), a read marker ends those it
  // passes (the snapshot's at its last seq), and settings apply as told.
  const counts = await beaPage.evaluate(async () => {
    const { ChatState } = await import('/areas/chat/state.js');
    const at = new Date().toISOString();
    const snapshot = {
      conversation_id: 'g', kind: 'group', title: 'G', last_seq: 10, read_seq: 5, unread: 5, unread_count: 5, mention_count: 2,
      last_activity_at: at, last_message: { message_id: 'msg_10', seq: 10, sender: 'acct_x', kind: 'text', text: 'hi', sent_at: at },
      muted: false, pinned: false, archived: false,
    };
    const api = { conversations: async () => ({ conversations: [snapshot] }), markRead: async () => {} };
    const session = Object.assign(new EventTarget(), { me: 'acct_me', api, setBadge: () => {}, name: (id) => id, people: new Map() });
    const chat = new ChatState(session);
    await chat.load();
    const message = (seq, extra = {}) => ({
      type: 'message.new', conversation_id: 'g', message_id: `msg_${seq}`, seq, sender: 'acct_x', text: 'x', kind: 'text', sent_at: at, client_msg_id: `c${seq}`, ...extra,
    });
    const now = () => `${chat.conversations.get('g').unread}/${chat.conversations.get('g').mentions}`;
    chat.apply(message(11, { mentions: ['acct_me'] }));
    chat.apply(message(11, { mentions: ['acct_me'] }));
    chat.apply(message(12, { mention_all: true }));
    chat.apply(message(13));
    const live = now();
    chat.apply({ type: 'read.marker', conversation_id: 'g', seq: 10 });
    const snapshotRead = now();
    chat.markRead('g', 11);
    const partial = now();
    chat.apply({ type: 'read.marker', conversation_id: 'g', seq: 13 });
    chat.apply({ type: 'conversation.settings', conversation_id: 'g', muted: true, pinned: true, archived: false });
    const { pinned, archived } = chat.conversations.get('g');
    return { live, snapshotRead, partial, all: now(), settings: [chat.isMuted('g'), pinned, archived] };
  });
  const expected = { live: '8/4', snapshotRead: '3/2', partial: '2/1', all: '0/0', settings: [true, true, false] };
  if (JSON.stringify(counts) !== JSON.stringify(expected)) fail(`the chat state's mentions: ${JSON.stringify(counts)}`);
  t.screenshot(beaPage);
  t.screenshot(ginaPage, 'owner');
});

// ------------------------------------------------------------ forwards

scenario('forward', async (t) => {
  const [ann, bob, cat] = [await apiUser('ann'), await apiUser('bob'), await apiUser('cat')];
  const direct = await apiBefriend(ann, bob);
  await apiBefriend(ann, cat);
  const title = `Trip ${run}`;
  const group = await apiGroup(ann, title, [cat]);
  const picture = await apiMessage(bob, direct, { text: 'The view from the top', media_id: await apiUpload(bob, png(120, 80, [40, 120, 200])) });
  const view = await apiSend(bob, direct, `Check this view ${run}`);
  await apiFund(bob, 10000);
  await call(bob.token, 'POST', '/transfers', { to: ann.account_id, amount_minor: 500, pin: PIN }, { 'Idempotency-Key': randomUUID() });
  const annPage = await t.page({ viewport: DESKTOP });
  const catPage = await t.page({ viewport: PHONE, name: 'cat' });
  await logInInBrowser(annPage, ann.username);
  await logInInBrowser(catPage, cat.username);
  await openChatWith(annPage, `bob ${run}`);
  await openChatWith(catPage, title);

  // Bob's picture, from its menu: the dialog lists Ann's chats and
  // filters them; a choice sends it at once and says where.
  const pictureRow = `.msg[data-seq="${picture.seq}"]`;
  await expectVisible(annPage, `${pictureRow} [data-testid=chat-image]`, "Bob's picture at Ann");
  await openMenu(annPage, pictureRow);
  await annPage.click('[data-testid=message-menu] [data-testid=forward-message]');
  await expectVisible(annPage, '[data-testid=forward-dialog] [data-testid=forward-target]', 'the forward dialog');
  const targets = await annPage.locator('[data-testid=forward-dialog] [data-testid=forward-target]').count();
  if (targets !== 3) fail(`the forward dialog lists ${targets} chats, not 3`);
  await annPage.fill('[data-testid=forward-filter]', 'trip');
  await annPage.waitForFunction(() => document.querySelectorAll('[data-testid=forward-dialog] [data-testid=forward-target]').length === 1, null, { timeout: EXPECT_TIMEOUT_MS })
    .catch(() => fail('the filter did not leave the group alone'));
  await t.screenshotNow(annPage, 'dialog');
  await annPage.click(`[data-testid=forward-dialog] [data-testid=forward-target][data-conversation-id="${group}"]`);
  await expectText(annPage, '[data-testid=forwarded]', `Forwarded to ${title}`, 'the toast naming the group');

  // Cat, in the group on her phone, sees it live: the picture, its
  // caption, "Forwarded".
  const forwardedPicture = '.msg.theirs:has([data-testid=forwarded]):has([data-testid=chat-image])';
  await expectVisible(catPage, forwardedPicture, 'the forwarded picture at Cat');
  await expectText(catPage, `${forwardedPicture} [data-testid=forwarded]`, 'Forwarded', 'the "Forwarded" label');
  await catPage.waitForFunction(
    (selector) => document.querySelector(`${selector} img`)?.naturalWidth === 120,
    forwardedPicture,
    { timeout: EXPECT_TIMEOUT_MS },
  ).catch(() => fail('the forwarded picture did not load at Cat'));
  await expectText(catPage, forwardedPicture, 'The view from the top', 'the caption with it');

  // A text, the same way; the server keeps where it came from.
  await openMenu(annPage, `.msg[data-seq="${view.seq}"]`);
  await annPage.click('[data-testid=message-menu] [data-testid=forward-message]');
  await annPage.click(`[data-testid=forward-dialog] [data-testid=forward-target][data-conversation-id="${group}"]`);
  await expectText(catPage, '.msg.theirs:has([data-testid=forwarded]) .text', `Check this view ${run}`, 'the forwarded text at Cat');
  const copy = await storedByText(cat, group, `Check this view ${run}`);
  if (copy?.forward_of?.message_id !== view.message_id || copy.sender !== ann.account_id) fail(`the forward is stored as ${JSON.stringify(copy)}`);
  await expectText(annPage, `.chat-list li[data-conversation-id="${group}"] .row-subtitle`, `You: Check this view ${run}`, "the group's preview at Ann");

  // Money is not forwarded, nor a recalled message.
  const transfer = '.msg:has(pz-transfer-card)';
  await expectVisible(annPage, transfer, 'the transfer at Ann');
  await openMenu(annPage, transfer);
  if ((await menuItems(annPage)).includes('forward-message')) fail('a transfer offers Forward');
  await closeMenu(annPage);
  await sendInBrowser(annPage, 'Oops, wrong chat');
  const oops = '.msg.mine:has(.text:text-is("Oops, wrong chat"))';
  await openMenu(annPage, oops);
  await annPage.click('[data-testid=message-menu] [data-testid=recall-message]');
  await expectVisible(annPage, '.msg.recalled [data-testid=message-actions]', 'the recall line');
  await openMenu(annPage, '.msg.recalled');
  if ((await menuItems(annPage)).includes('forward-message')) fail('a recalled message offers Forward');
  await closeMenu(annPage);
  t.screenshot(annPage);
  t.screenshot(catPage, 'phone');
});

// ------------------------------------------------------------ places and cards

scenario('location-and-card', async (t) => {
  const [ann, bob, cat] = [await apiUser('ann'), await apiUser('bob'), await apiUser('cat')];
  const direct = await apiBefriend(ann, bob);
  await apiBefriend(ann, cat);
  const annPage = await t.page({ viewport: DESKTOP });
  const bobPage = await t.page({ viewport: PHONE, name: 'phone', colorScheme: 'dark' });
  await logInInBrowser(annPage, ann.username);
  await logInInBrowser(bobPage, bob.username);
  await openChatWith(annPage, `bob ${run}`);
  await openChatWith(bobPage, `ann ${run}`);
  const catName = `cat ${run}`;

  // "+" → Location: the form takes coordinates typed and a name (the
  // browser's own position is \`location-here\`'s).
  await annPage.click('[data-testid=attach-more]');
  await expectVisible(annPage, '[data-testid=attach-menu] [data-testid=attach-location]', 'the "+" menu');
  await annPage.click('[data-testid=attach-menu] [data-testid=attach-location]');
  await expectVisible(annPage, '[data-testid=location-dialog] #location-lat', 'the location form');
  await annPage.fill('#location-lat', '45.4641');
  await annPage.fill('#location-lon', '9.19192');
  await annPage.fill('#location-name', 'Duomo di Milano');
  await t.screenshotNow(annPage, 'location-form');
  await annPage.click('[data-testid=location-send]');
  const place = '.msg:has([data-testid=location])';
  await expectVisible(annPage, `.msg.mine[data-status=sent]${place.slice(4)}`, 'the place sent');
  // Bob sees it live: the name, the coordinates, the map's link (a link only).
  await expectText(bobPage, `${place} .place-name`, 'Duomo di Milano', 'the place\'s name at Bob');
  await expectText(bobPage, `${place} .place-coordinates`, '45.4641, 9.19192', 'its coordinates');
  const href = await bobPage.getAttribute(`${place} [data-testid=location-link]`, 'href');
  const link = new URL(href ?? 'about:blank');
  if (link.origin !== 'https://www.openstreetmap.org' || link.searchParams.get('mlat') !== '45.4641' || link.searchParams.get('mlon') !== '9.19192') fail(`the map link is ${href}`);
  const storedPlace = await call(bob.token, 'GET', `/conversations/${direct}/messages?limit=1`);
  const location = storedPlace.messages[0]?.location;
  if (storedPlace.messages[0]?.kind !== 'location' || location?.lat !== 45.4641 || location?.name !== 'Duomo di Milano') fail(`stored: ${JSON.stringify(storedPlace)}`);

  // "+" → Contact card: Cat's (a contact of Ann's, not of Bob's), then Ann's own.
  await annPage.click('[data-testid=attach-more]');
  await annPage.click('[data-testid=attach-menu] [data-testid=attach-card]');
  await expectVisible(annPage, '[data-testid=card-dialog] [data-testid=card-choice]', 'the contact card picker');
  await annPage.fill('[data-testid=card-filter]', 'cat');
  await t.screenshotNow(annPage, 'card-picker');
  await annPage.click(`[data-testid=card-dialog] [data-testid=card-choice][data-username="${cat.username}"]`);
  await annPage.click('[data-testid=attach-more]');
  await annPage.click('[data-testid=attach-menu] [data-testid=attach-card]');
  await annPage.click(`[data-testid=card-dialog] [data-testid=card-choice][data-username="${ann.username}"]`);
  const card = (who) => `.msg:has([data-testid=contact-card][data-account-id="${who.account_id}"])`;
  await expectText(bobPage, `${card(cat)} [data-testid=contact-card]`, catName, "Cat's card at Bob");
  await expectText(bobPage, `${card(cat)} [data-testid=contact-card]`, `@${cat.username}`, 'her username on it');
  await expectVisible(bobPage, `${card(cat)} [data-testid=card-add-contact]`, 'Add contact on a stranger\'s card');
  await expectText(bobPage, `${card(ann)} [data-testid=contact-card]`, `ann ${run}`, "Ann's own card at Bob");
  await bobPage.waitForTimeout(300);
  if (await bobPage.locator(`${card(ann)} [data-testid=card-add-contact]`).isVisible()) fail('a contact\'s card offers Add contact');
  if (await annPage.locator(`${card(cat)} [data-testid=card-add-contact]`).isVisible()) fail('Ann is offered to add her own contact');
  if (await annPage.locator(`${card(ann)} [data-testid=card-add-contact]`).isVisible()) fail('Ann is offered to add herself');
  await expectText(annPage, `.chat-list li[data-conversation-id="${direct}"] .row-subtitle`, 'You: [Contact card]', "Ann's list preview");
  await t.screenshotNow(bobPage, 'phone-dark');

  // Bob adds Cat from her card: the contacts' dialog, with its greeting; Cat gets the request.
  await bobPage.click(`${card(cat)} [data-testid=card-add-contact]`);
  await expectText(bobPage, '[data-testid=add-contact-dialog] [data-testid=add-contact-who]', catName, 'the add dialog naming Cat');
  await bobPage.click('[data-testid=add-contact-dialog] [data-testid=send-request]');
  await expectText(bobPage, `${card(cat)} [data-testid=card-add-contact]:disabled`, 'Request sent', 'the card saying the request went');
  const requests = await call(cat.token, 'GET', '/contacts/requests');
  if (!requests.requests.some((r) => r.from.account_id === bob.account_id)) fail(`Cat's requests: ${JSON.stringify(requests)}`);
  t.screenshot(annPage);
  t.screenshot(bobPage, 'phone');
});

scenario('location-here', async (t) => {
  const [ann, bob] = [await apiUser('ann'), await apiUser('bob')];
  const direct = await apiBefriend(ann, bob);
  const annPage = await t.page({ viewport: DESKTOP });
  const bobPage = await t.page({ viewport: PHONE, name: 'phone' });
  await logInInBrowser(annPage, ann.username);
  await logInInBrowser(bobPage, bob.username);
  await openChatWith(annPage, `bob ${run}`);
  await openChatWith(bobPage, `ann ${run}`);
  const openForm = async () => {
    await annPage.click('[data-testid=attach-more]');
    await annPage.click('[data-testid=attach-menu] [data-testid=attach-location]');
    await expectVisible(annPage, '[data-testid=location-dialog] [data-testid=location-here]', '"Use my location" in the form');
  };

  // Not allowed (yet): the browser refuses, and the form says how to
  // allow it, still taking coordinates typed.
  await openForm();
  await annPage.click('[data-testid=location-here]');
  await expectText(annPage, '[data-testid=location-status][data-state=denied]', 'Location access is blocked', 'the refusal said');
  if (await annPage.inputValue('#location-lat')) fail('a refused position filled the form');
  await t.screenshotNow(annPage, 'denied');

  // Allowed, at the Colosseum: the button fills the form with where she is.
  const context = annPage.context();
  await context.grantPermissions(['geolocation'], { origin: args.baseUrl });
  await context.setGeolocation({ latitude: 41.890251, longitude: 12.492373 });
  await annPage.click('[data-testid=location-here]');
  await expectAttached(annPage, '[data-testid=location-status][data-state=found]', 'the position found');
  const filled = [await annPage.inputValue('#location-lat'), await annPage.inputValue('#location-lon')];
  if (JSON.stringify(filled) !== JSON.stringify(['41.890251', '12.492373'])) fail(`the form holds ${filled}`);
  const focused = await annPage.evaluate(() => document.activeElement?.id);
  if (focused !== 'location-name') fail(`the focus is on ${focused}, not the name`);
  await annPage.fill('#location-name', 'Colosseo');
  await t.screenshotNow(annPage, 'form');
  await annPage.click('[data-testid=location-send]');

  // The place sent shows those coordinates, at Ann's and live at Bob's.
  const place = '.msg:has([data-testid=location])';
  await expectVisible(annPage, `.msg.mine[data-status=sent]${place.slice(4)}`, 'the place sent');
  await expectText(bobPage, `${place} .place-name`, 'Colosseo', "the place's name at Bob");
  await expectText(bobPage, `${place} .place-coordinates`, '41.89025, 12.49237', 'its coordinates at Bob');
  const link = new URL((await bobPage.getAttribute(`${place} [data-testid=location-link]`, 'href')) ?? 'about:blank');
  if (link.searchParams.get('mlat') !== '41.890251' || link.searchParams.get('mlon') !== '12.492373') fail(`the map link is ${link}`);
  const stored = (await call(bob.token, 'GET', `/conversations/${direct}/messages?limit=1`)).messages[0];
  if (stored?.kind !== 'location' || stored.location?.lat !== 41.890251 || stored.location?.lon !== 12.492373) fail(`stored: ${JSON.stringify(stored)}`);

  // Allowed before: the next form is filled at once, with no click (a
  // position up to a minute old will do).
  await annPage.click('[data-testid=attach-more]');
  await annPage.click('[data-testid=attach-menu] [data-testid=attach-location]');
  await annPage.waitForFunction(() => document.querySelector('#location-lat')?.value === '41.890251', null, { timeout: EXPECT_TIMEOUT_MS })
    .catch(() => fail('the form of a page allowed before was not filled at once'));
  await annPage.click('[data-testid=location-dialog] button:text-is("Cancel")');
  t.screenshot(annPage);
  t.screenshot(bobPage, 'phone');
});

// ------------------------------------------------------------ the list: counts and settings

scenario('unread-and-settings', async (t) => {
  const [bob, ann, cat, dan] = [await apiUser('bob'), await apiUser('ann'), await apiUser('cat'), await apiUser('dan')];
  const withDan = await apiBefriend(bob, dan);
  const withCat = await apiBefriend(bob, cat);
  const withAnn = await apiBefriend(bob, ann);
  for (const [id, who] of [[withDan, 'Dan'], [withCat, 'Cat'], [withAnn, 'Ann']]) await apiSend(bob, id, `Hi ${who}`);
  // Bob on two devices, both on the chat list.
  const desk = await t.page({ viewport: DESKTOP });
  const phone = await t.page({ viewport: PHONE, name: 'phone', colorScheme: 'dark' });
  await logInInBrowser(desk, bob.username);
  await logInInBrowser(phone, bob.username);
  const devices = [desk, phone];
  const entry = (id) => `.chat-list li[data-conversation-id="${id}"]`;
  const count = (id) => `${entry(id)} .badge:not(.mention):not([hidden])`;
  const tab = '.areas a[data-area=chat] .nav-badge:not([hidden])';
  for (const page of devices) await expectOrder(page, [withAnn, withCat, withDan], 'the list by last activity');

  // Ann writes three times: the count goes up live on both devices.
  for (let n = 1; n <= 3; n += 1) {
    await apiSend(ann, withAnn, `Ann's news ${n}`);
    for (const page of devices) await expectText(page, count(withAnn), String(n), `${n} unread from Ann`);
  }
  await expectText(desk, tab, '3', 'three on the Chats tab');

  // Dan's chat pinned from the desktop (a right click): on top there, and
  // on the phone too, live.
  await desk.click(entry(withDan), { button: 'right' });
  await expectVisible(desk, '[data-testid=conversation-menu] [data-testid=pin-conversation]', "the chat's menu");
  await t.screenshotNow(desk, 'menu');
  await desk.click('[data-testid=conversation-menu] [data-testid=pin-conversation]');
  for (const page of devices) {
    await expectOrder(page, [withDan, withAnn, withCat], 'Dan pinned on top');
    await expectAttached(page, `${entry(withDan)}[data-pinned=true] .row-mark.pin`, 'the pin beside his name');
  }
  if (!(await listed(bob, withDan)).pinned) fail('the pin is not on the server');
  // A message moves its chat up, below the pinned one.
  await apiSend(cat, withCat, 'Cat here');
  for (const page of devices) await expectOrder(page, [withDan, withCat, withAnn], "Cat's message moving her up, below the pin");

  // Cat's chat muted from the phone, from its header's menu (reading her
  // message meanwhile): her next message counts grey, not on the tab.
  await phone.click(`${entry(withCat)} a`);
  await phone.click('[data-testid=conversation-menu-button]');
  await phone.click('[data-testid=conversation-menu] [data-testid=mute-conversation]');
  await expectAttached(phone, '[data-testid=mute-toggle][aria-pressed=true]', 'the bell showing the mute');
  await phone.click('a.back');
  await apiSend(cat, withCat, 'Cat again');
  for (const page of devices) {
    await expectText(page, `${count(withCat)}.muted`, '1', 'a grey count on the muted chat');
    await expectAttached(page, `${entry(withCat)}[data-muted=true] .row-mark.bell-off`, 'the muted bell beside her name');
  }
  await desk.waitForTimeout(300);
  await expectText(desk, tab, '3', 'the tab not counting the muted chat');
  t.screenshot(phone, 'phone-dark');

  // Ann's chat archived from its "…" on the desktop: out of the list,
  // under "Archived (1)" on both devices, its count grey there and off the tab.
  await desk.hover(entry(withAnn));
  await desk.click(`${entry(withAnn)} [data-testid=conversation-actions]`);
  await desk.click('[data-testid=conversation-menu] [data-testid=archive-conversation]');
  for (const page of devices) {
    await expectOrder(page, ['archived', withDan, withCat], 'Ann archived');
    await expectText(page, '[data-testid=archived-row]', 'Archived (1)', 'the archive\'s row');
    await expectText(page, '[data-testid=archived-row] .badge.muted:not([hidden])', '3', "Ann's unread on the archive's row");
  }
  await expectGoneTab(desk, tab);
  // Archived stays archived when Ann writes again.
  await apiSend(ann, withAnn, "Ann's news 4");
  await expectText(phone, '[data-testid=archived-row] .badge:not([hidden])', '4', 'the archive counting her new message');
  await t.screenshotNow(desk, 'archived');

  // On the phone the archive opens in the list's place; unarchived, Ann
  // is back in the list on both devices and the archive's row is gone.
  await phone.click('[data-testid=archived-row] button');
  await expectOrder(phone, [withAnn], 'the archive open');
  await expectVisible(phone, '[data-testid=archived-back]', 'the way back from the archive');
  await t.screenshotNow(phone, 'archive-phone-dark');
  await phone.click(entry(withAnn), { button: 'right' });
  await phone.click('[data-testid=conversation-menu] [data-testid=archive-conversation]');
  for (const page of devices) await expectOrder(page, [withDan, withAnn, withCat], 'Ann back from the archive');
  await expectText(desk, tab, '4', "Ann's four unread on the tab again");

  // The eleventh pin: the server's refusal is said.
  await desk.route('**/api/v1/conversations/*/settings', (route) => route.fulfill({
    status: 409,
    contentType: 'application/problem+json',
    body: JSON.stringify({ type: 'urn:piazza:problem:limit_reached', title: 'Conflict', status: 409, code: 'limit_reached', detail: 'limit_reached' }),
  }));
  await desk.click(entry(withCat), { button: 'right' });
  await desk.click('[data-testid=conversation-menu] [data-testid=pin-conversation]');
  await expectText(desk, '[data-testid=settings-error]', 'You can pin at most 10 chats.', 'the pin limit in a toast');
  await desk.unroute('**/api/v1/conversations/*/settings');
  if ((await listed(bob, withCat)).pinned) fail('a refused pin is on the server');
  t.screenshot(desk);
});

// ------------------------------------------------------------ the list: previews from its own fields

scenario('list-previews', async (t) => {
  const [ann, bob, cat] = [await apiUser('ann'), await apiUser('bob'), await apiUser('cat')];
  const direct = await apiBefriend(ann, bob);
  await apiBefriend(ann, cat);
  const group = await apiGroup(ann, `Club ${run}`, [bob, cat]);
  // Bob's transfer is the last of their chat; Cat's message, recalled by
  // the group's owner, the last of the group.
  await apiFund(bob, 10000);
  await call(bob.token, 'POST', '/transfers', { to: ann.account_id, amount_minor: 1234, pin: PIN }, { 'Idempotency-Key': randomUUID() });
  const cats = await apiSend(cat, group, 'A message the owner takes back');
  await call(ann.token, 'POST', `/conversations/${group}/messages/${cats.message_id}/recall`);
  const listed = (await call(ann.token, 'GET', '/conversations')).conversations;
  const [money, recalled] = [direct, group].map((id) => listed.find((c) => c.conversation_id === id)?.last_message);
  if (!money?.ref || money.kind !== 'transfer' || recalled?.recalled_by !== ann.account_id) fail(`the list's last messages: ${JSON.stringify([money, recalled])}`);

  // The list words both from its own fields (the transfer's amount from
  // its ref, the recall's from recalled_by): no message is fetched whole.
  const annPage = await t.page({ viewport: DESKTOP });
  const wholeMessages = [];
  annPage.on('request', (request) => {
    if (/\/api\/v1\/conversations\/[^/]+\/messages\/[^/?]+$/.test(new URL(request.url()).pathname)) wholeMessages.push(request.url());
  });
  await logInInBrowser(annPage, ann.username);
  await expectText(annPage, `.chat-list li[data-conversation-id="${direct}"] .row-subtitle`, '[Transfer] ¥12.34', "the transfer's preview");
  await expectText(annPage, `.chat-list li[data-conversation-id="${group}"] .row-subtitle`, `You recalled a message from cat ${run}`, "the owner's recall's preview");
  const catPage = await t.page({ viewport: PHONE, name: 'cat', colorScheme: 'dark' });
  await logInInBrowser(catPage, cat.username);
  await expectText(catPage, `.chat-list li[data-conversation-id="${group}"] .row-subtitle`, `ann ${run} recalled a message of yours`, "the recall's preview at Cat");
  await annPage.waitForTimeout(500);
  if (wholeMessages.length) fail(`messages fetched whole for the list: ${wholeMessages.join(', ')}`);
  t.screenshot(annPage);
  t.screenshot(catPage, 'phone-dark');
});

async function expectGoneTab(page, tab) {
  await page.waitForSelector(tab, { state: 'detached', timeout: EXPECT_TIMEOUT_MS }).catch(() => fail('the Chats tab still counts'));
}
