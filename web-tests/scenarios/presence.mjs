// Presence and typing: live only (ephemeral WebSocket events, never in the
// log): who is typing in a conversation, whether a contact is online and
// when they were last seen, and who may see one's own.

import {
  EXPECT_TIMEOUT_MS,
  DESKTOP,
  PHONE,
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
  logInInBrowser,
  openChatWith,
  scenario,
} from '../harness.mjs';

// ------------------------------------------------------------ helpers

async function apiGroup(owner, title, members) {
  return (await call(owner.token, 'POST', '/conversations', { title, members: members.map((m) => m.account_id) })).conversation_id;
}

/**
 * Puts the page's WebSockets through a proxy in the test (Playwright's
 * `routeWebSocket`), which passes every frame on both ways and keeps
 * them: `frames(from)` reads those the page sent ('page') or got
 * ('server') as JSON, `drop()` closes the page's socket as a lost network
 * would (the page reconnects), `inject(frame)` sends a frame to the server
 * as if the page had.
 */
async function proxySocket(page) {
  const log = [];
  let current = null;
  await page.context().routeWebSocket('**/api/v1/ws**', (ws) => {
    const server = ws.connectToServer();
    current = { ws, server };
    ws.onMessage((message) => {
      log.push({ from: 'page', data: String(message) });
      server.send(message);
    });
    server.onMessage((message) => {
      log.push({ from: 'server', data: String(message) });
      ws.send(message);
    });
  });
  return {
    frames(from) {
      return log.filter((f) => f.from === from).map((f) => JSON.parse(f.data));
    },
    count() {
      return log.length;
    },
    async drop() {
      if (!current) fail('no socket to drop');
      const { ws, server } = current;
      current = null;
      await ws.close({ code: 1012, reason: 'test: network lost' });
      await server.close().catch(() => {});
    },
    inject(frame) {
      if (!current) fail('no socket to send on');
      current.server.send(JSON.stringify(frame));
    },
    get open() {
      return !!current;
    },
  };
}

/** Waits until `check()` holds (polled), else fails naming `what`. */
async function until(page, check, what, timeoutMs = EXPECT_TIMEOUT_MS) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) fail(`${what}: not within ${timeoutMs} ms`);
    await page.waitForTimeout(100);
  }
}

const entry = (id) => `.chat-list li[data-conversation-id="${id}"]`;
const subtitle = '[data-testid=conversation-subtitle]';

/** Opens a conversation from the chat list by its id (a group's preview may name the person too). */
async function openChat(page, id) {
  await page.click('.areas a[href="#/chats"]');
  await page.click(`${entry(id)} a.row-main`);
  await expectVisible(page, `pz-conversation #composer`, `the conversation ${id}`);
}

// ------------------------------------------------------------ typing

scenario('typing', async (t) => {
  const [ann, bob, cat] = [await apiUser('ann'), await apiUser('bob'), await apiUser('cat')];
  const direct = await apiBefriend(ann, bob);
  await apiBefriend(ann, cat);
  const title = `Picnic ${run}`;
  const group = await apiGroup(ann, title, [bob, cat]);
  await apiSend(ann, direct, 'Morning Bob');
  await apiSend(ann, group, 'Saturday at noon?');
  const [bobName, catName] = [`bob ${run}`, `cat ${run}`];
  const annPage = await t.page({ viewport: DESKTOP });
  const annSocket = await proxySocket(annPage);
  const bobPage = await t.page({ viewport: PHONE, name: 'bob', colorScheme: 'dark' });
  const bobSocket = await proxySocket(bobPage);
  const catPage = await t.page({ viewport: DESKTOP, name: 'cat' });
  await logInInBrowser(annPage, ann.username);
  await logInInBrowser(bobPage, bob.username);
  await logInInBrowser(catPage, cat.username);
  await openChat(annPage, direct);
  await openChat(bobPage, direct);
  await openChat(catPage, group);

  // Bob types in their chat: Ann sees it under the title and in the
  // list in place of the last message; Bob, the typer, sees it nowhere.
  const composer = bobPage.locator('#composer');
  await composer.pressSequentially('Hel', { delay: 50 });
  await expectText(annPage, `${subtitle}[data-typing=true]`, `${bobName} is typing…`, "Bob's typing in Ann's header");
  await expectText(annPage, `${entry(direct)}[data-typing=true] .row-subtitle`, `${bobName} is typing…`, "Bob's typing in Ann's list");
  if (await bobPage.locator('[data-typing=true]').count()) fail('the typer sees his own typing');
  // Sent once while he keeps typing for a while (once every 3 s at most), and not for an empty composer.
  const typedBefore = bobSocket.frames('page').filter((f) => f.op === 'typing').length;
  await composer.pressSequentially('lo Ann, ', { delay: 350 });
  const typed = bobSocket.frames('page').filter((f) => f.op === 'typing');
  if (typed.length - typedBefore > 1 || typed.some((f) => f.conversation_id !== direct)) fail(`Bob's socket sent ${JSON.stringify(typed)}`);
  await t.screenshotNow(annPage, 'direct');

  // His message ends it at once (not 5 s later), in the header and the list.
  await composer.pressSequentially('see you');
  await composer.press('Enter');
  await expectText(annPage, '.msg.theirs', 'Hello Ann, see you', "Bob's message at Ann");
  await expectAttached(annPage, `${subtitle}[data-typing=false]`, "the header's typing ended by the message");
  await expectText(annPage, `${entry(direct)}[data-typing=false] .row-subtitle`, 'Hello Ann, see you', 'the preview back with the message');
  if ((await annPage.locator(subtitle).textContent())?.includes('typing')) fail('the header still says typing');

  // An empty composer tells nothing: Bob clears what he starts.
  const sentBefore = bobSocket.frames('page').filter((f) => f.op === 'typing').length;
  await bobPage.fill('#composer', '');
  await composer.dispatchEvent('input');
  await bobPage.waitForTimeout(300);
  if (bobSocket.frames('page').filter((f) => f.op === 'typing').length !== sentBefore) fail('an empty composer sent typing');

  // The group: Bob types there; Ann's list shows it in the group's entry,
  // Cat's open group in its header; with Cat typing too, both are named.
  await bobPage.click('a.back');
  await bobPage.click(`${entry(group)} a.row-main`);
  await expectText(bobPage, 'pz-conversation h2', title, 'the group at Bob');
  await composer.pressSequentially('On my way');
  await expectText(annPage, `${entry(group)}[data-typing=true] .row-subtitle`, `${bobName} is typing…`, "Bob's typing in the group's entry at Ann");
  await expectText(catPage, `${subtitle}[data-typing=true]`, `${bobName} is typing…`, "Bob's typing in Cat's group");
  await t.screenshotNow(catPage, 'group');
  await catPage.locator('#composer').pressSequentially('Bring');
  const both = new RegExp(`^(${bobName} and ${catName}|${catName} and ${bobName}) are typing…$`);
  await expectText(annPage, `${entry(group)} .row-subtitle`, both, 'both typing in the group at Ann');
  if (await catPage.locator(`${entry(group)}[data-typing=true]`).count()) {
    const shown = await catPage.locator(`${entry(group)} .row-subtitle`).textContent();
    if (shown?.includes(catName)) fail(`Cat's own typing shown to her: ${shown}`);
  }
  await t.screenshotNow(annPage, 'two');
  // Five quiet seconds and it is gone, with nothing else happening.
  const stopped = Date.now();
  await annPage.waitForTimeout(1000);
  if (!(await annPage.locator(`${entry(group)}[data-typing=true]`).count())) fail('the typing went within a second of the last key');
  await annPage.waitForSelector(`${entry(group)}[data-typing=false]`, { timeout: 7000 }).catch(() => fail('the typing stayed 7 s after the last key'));
  t.metric(`typing shown ${((Date.now() - stopped) / 1000).toFixed(1)} s after the last key`);
  await expectText(annPage, `${entry(group)} .row-subtitle`, 'You: Saturday at noon?', "the group's preview back");

  // Typing moved no cursor: Ann's socket got typing frames (no cursor)
  // after the last log event; dropped, it reconnects and asks for a
  // replay from that event's cursor.
  const got = annSocket.frames('server');
  const lastLogged = got.filter((f) => f.type && f.cursor).at(-1);
  const typingFrames = got.filter((f) => f.type === 'typing');
  if (!lastLogged || !typingFrames.length || typingFrames.some((f) => 'cursor' in f)) fail(`Ann's socket got ${JSON.stringify(got)}`);
  if (got.indexOf(typingFrames.at(-1)) < got.indexOf(lastLogged)) fail('no typing frame came after the last log event');
  const asked = annSocket.frames('page').length;
  await annSocket.drop();
  await until(annPage, () => annSocket.frames('page').length > asked && annSocket.open, 'the socket reconnected and asked for a replay');
  const replay = annSocket.frames('page').slice(asked).find((f) => f.op === 'sync');
  if (replay?.since !== lastLogged.cursor) fail(`the replay asked since ${replay?.since}, not the last event's ${lastLogged.cursor}`);
  // A typing notice about a conversation she is not in is answered with
  // an error frame, which the page takes quietly; it still works live.
  annSocket.inject({ op: 'typing', conversation_id: 'conv_00000000000000000000000000' });
  await until(annPage, () => annSocket.frames('server').some((f) => f.op === 'error'), 'the error frame');
  await apiSend(bob, direct, 'Still live?');
  await expectText(annPage, '.msg.theirs', 'Still live?', 'a message after the reconnect');

  // The socket's code by itself: an ephemeral frame goes out as such and
  // leaves the cursor where it was, with or without one.
  const sync = await annPage.evaluate(async () => {
    const { Sync } = await import('/lib/sync.js');
    const s = new Sync({ token: 'x' }, () => {});
    const seen = [];
    s.addEventListener('event', (e) => seen.push(`event ${e.detail.type}`));
    s.addEventListener('ephemeral', (e) => seen.push(`ephemeral ${e.detail.type}`));
    s.deliver({ type: 'typing', conversation_id: 'c', account_id: 'a' });
    const fresh = s.cursor;
    s.deliver({ type: 'message.new', cursor: 'v1.0a' });
    s.deliver({ type: 'presence', account_id: 'a', online: true });
    s.deliver({ type: 'typing', conversation_id: 'c', account_id: 'a' });
    return { fresh, cursor: s.cursor, seen };
  });
  const wanted = { fresh: null, cursor: 'v1.0a', seen: ['ephemeral typing', 'event message.new', 'ephemeral presence', 'ephemeral typing'] };
  if (JSON.stringify(sync) !== JSON.stringify(wanted)) fail(`the socket's handling: ${JSON.stringify(sync)}`);
  t.screenshot(annPage);
  t.screenshot(bobPage, 'phone-dark');
});

// ------------------------------------------------------------ presence

scenario('presence', async (t) => {
  const [ann, bob] = [await apiUser('ann'), await apiUser('bob')];
  const direct = await apiBefriend(ann, bob);
  await apiSend(bob, direct, 'Ping me when you are around');
  const bobName = `bob ${run}`;
  const annPage = await t.page({ viewport: DESKTOP });
  await annPage.clock.install();
  const annSocket = await proxySocket(annPage);
  await logInInBrowser(annPage, ann.username);
  await openChatWith(annPage, bobName);
  const dot = `${entry(direct)} [data-testid=online-dot]`;

  // Bob is away: his setup's requests were just now.
  await expectText(annPage, `${subtitle}[data-presence=last-seen]`, 'last seen just now', 'Bob last seen just now');
  if (await annPage.locator(dot).count()) fail('a green dot on Bob, away');

  // Bob opens the app on his phone: Ann sees him come online, live.
  const bobPage = await t.page({ viewport: PHONE, name: 'bob' });
  await logInInBrowser(bobPage, bob.username);
  await expectText(annPage, `${subtitle}[data-presence=online]`, 'online', 'Bob online in the header');
  await expectVisible(annPage, dot, "the green dot on Bob's chat");
  await expectAttached(annPage, `${entry(direct)}[data-online=true]`, 'the entry marked online');
  await t.screenshotNow(annPage, 'online');
  // The contacts list has the dot too.
  await annPage.click('.areas a[href="#/contacts"]');
  await expectVisible(annPage, `.contacts li[data-account-id="${bob.account_id}"] [data-testid=online-dot]`, 'the green dot among the contacts');
  await t.screenshotNow(annPage, 'contacts');
  await openChatWith(annPage, bobName);

  // Bob closes his page: last seen just now, no dot; the header words it
  // again as time goes (every minute): five minutes later, so it says.
  await bobPage.close();
  await expectText(annPage, `${subtitle}[data-presence=last-seen]`, 'last seen just now', 'Bob gone, last seen just now');
  await annPage.waitForSelector(dot, { state: 'detached', timeout: EXPECT_TIMEOUT_MS }).catch(() => fail('the dot stayed'));
  await annPage.clock.fastForward('05:00');
  await expectText(annPage, subtitle, 'last seen 5 minutes ago', 'the wording five minutes on');
  t.screenshot(annPage);

  // The wording by itself, in each case.
  const words = await annPage.evaluate(async () => {
    const { presenceText } = await import('/lib/presence.js');
    const now = new Date(2026, 2, 12, 10, 30).getTime();
    const at = (...parts) => new Date(2026, ...parts).toISOString();
    const time = (d) => new Date(d).toLocaleTimeString('en', { hour: '2-digit', minute: '2-digit' });
    return {
      got: [
        presenceText({ online: true, last_seen: null }, now),
        presenceText({ online: false, last_seen: at(2, 12, 10, 29, 40) }, now),
        presenceText({ online: false, last_seen: at(2, 12, 10, 25) }, now),
        presenceText({ online: false, last_seen: at(2, 12, 8, 5) }, now),
        presenceText({ online: false, last_seen: at(2, 11, 18, 4) }, now),
        presenceText({ online: false, last_seen: at(2, 9, 9, 30) }, now),
        presenceText({ online: false, last_seen: at(1, 20, 9, 30) }, now),
        presenceText({ online: false, last_seen: null }, now),
        presenceText(null, now),
      ],
      wanted: [
        'online',
        'last seen just now',
        'last seen 5 minutes ago',
        `last seen today at ${time(at(2, 12, 8, 5))}`,
        `last seen yesterday at ${time(at(2, 11, 18, 4))}`,
        `last seen Monday at ${time(at(2, 9, 9, 30))}`,
        'last seen Feb 20, 2026',
        '',
        '',
      ],
    };
  });
  if (JSON.stringify(words.got) !== JSON.stringify(words.wanted)) fail(`presence in words: ${JSON.stringify(words.got)}, not ${JSON.stringify(words.wanted)}`);
  // The state by itself: a list read again never takes a last seen back
  // (the list's is a device's last request, maybe older than the one an
  // offline event told), and one missing from it hides it.
  const merged = await annPage.evaluate(async () => {
    const { Presence } = await import('/lib/presence.js');
    let answer = { presence: [{ account_id: 'b', online: true }] };
    const presence = new Presence(Object.assign(new EventTarget(), { api: { contactsPresence: async () => answer } }));
    await presence.load();
    const first = presence.of('b');
    presence.note({ type: 'presence', account_id: 'b', online: false, last_seen: '2026-03-12T10:30:00Z' });
    answer = { presence: [{ account_id: 'b', online: false, last_seen: '2026-03-12T09:00:00Z' }] };
    await presence.load();
    const kept = presence.of('b');
    answer = { presence: [] };
    await presence.load();
    return { first, kept, hidden: presence.of('b') };
  });
  const mergedWanted = { first: { online: true, last_seen: null }, kept: { online: false, last_seen: '2026-03-12T10:30:00Z' }, hidden: null };
  if (JSON.stringify(merged) !== JSON.stringify(mergedWanted)) fail(`the presence state: ${JSON.stringify(merged)}`);

  // Bob back, on his phone in the dark: online at Ann's again. On his Me
  // page he shows it to nobody.
  const bobPhone = await t.page({ viewport: PHONE, name: 'bob-phone', colorScheme: 'dark' });
  await logInInBrowser(bobPhone, bob.username);
  await expectText(annPage, `${subtitle}[data-presence=online]`, 'online', 'Bob online again');
  await bobPhone.goto(`${args.baseUrl}/#/me`);
  await expectVisible(bobPhone, '[data-testid=privacy-contacts]:checked:enabled', 'his privacy, contacts by default');
  await expectText(bobPhone, '[data-testid=me-privacy]', "Who can see when I'm online", 'the question');
  await bobPhone.click('[data-testid=privacy-nobody]');
  await expectVisible(bobPhone, '[data-testid=privacy-saved]', 'the choice saved');
  if ((await call(bob.token, 'GET', '/me/privacy')).last_seen !== 'nobody') fail('nobody is not on the server');
  await bobPhone.locator('[data-testid=me-privacy]').scrollIntoViewIfNeeded();
  await t.screenshotNow(bobPhone, 'privacy-phone-dark');

  // Ann's socket drops and reconnects: the list, read again, leaves Bob
  // out, so no dot and no last seen; his leaving tells her nothing.
  await annSocket.drop();
  await expectAttached(annPage, `${subtitle}[data-presence=""]`, 'Bob shown neither online nor last seen');
  await annPage.waitForSelector(dot, { state: 'detached', timeout: EXPECT_TIMEOUT_MS }).catch(() => fail('the dot stayed after Nobody'));
  if ((await annPage.locator(subtitle).textContent()) !== '') fail(`the header says "${await annPage.locator(subtitle).textContent()}"`);
  await bobPhone.close();
  await annPage.waitForTimeout(1500);
  if ((await annPage.locator(subtitle).textContent()) !== '') fail('Bob leaving told Ann something');
  await annPage.click('.areas a[href="#/contacts"]');
  await expectVisible(annPage, `.contacts li[data-account-id="${bob.account_id}"]`, 'Bob among the contacts');
  if (await annPage.locator('.contacts [data-testid=online-dot]').count()) fail('a dot among the contacts');
  t.screenshot(annPage, 'nobody');

  // Shown to his contacts again: after her next reconnect, last seen.
  await call(bob.token, 'PATCH', '/me/privacy', { last_seen: 'contacts' });
  await openChatWith(annPage, bobName);
  await annSocket.drop();
  await expectAttached(annPage, `${subtitle}[data-presence=last-seen]`, 'last seen again');
  // Worded in each language, switched live.
  for (const [lang, words] of [['it', /^ultimo accesso \S/], ['zh', /^最近上线：\S/], ['en', /^last seen \S/]]) {
    await annPage.evaluate(async (code) => (await import('/lib/i18n.js')).setLanguage(code), lang);
    await expectText(annPage, `${subtitle}[data-presence=last-seen]`, words, `the last seen in ${lang}`);
  }
});
