// What other browsers lack, played in chromium: the client must start and
// sync without the APIs Safari (or an http:// origin on the LAN) does not
// have, and one area failing to start must not stop the others.

import {
  DESKTOP,
  PHONE,
  apiBefriend,
  apiSend,
  apiUser,
  call,
  expectText,
  expectVisible,
  fail,
  logInInBrowser,
  openChatWith,
  run,
  scenario,
  sendInBrowser,
} from '../harness.mjs';

const chatsBadge = '.areas a[data-area=chat] .nav-badge:not([hidden])';
const contactsBadge = '.areas a[data-area=contacts] .nav-badge:not([hidden])';

/** Bob with a chat with Ann and a contact request from Cat waiting. */
async function bobWithFriends() {
  const [ann, bob, cat] = [await apiUser('ann'), await apiUser('bob'), await apiUser('cat')];
  const direct = await apiBefriend(ann, bob);
  await call(cat.token, 'POST', '/contacts/requests', { to: bob.username, greeting: 'hi from Cat' });
  return { ann, bob, direct };
}

scenario('webkit-apis', async (t) => {
  const { ann, bob, direct } = await bobWithFriends();
  const page = await t.page({ viewport: PHONE });
  // Safari has no requestIdleCallback (nor AbortSignal.timeout before 16);
  // an http:// origin other than localhost has no crypto.randomUUID.
  await page.addInitScript(() => {
    delete window.requestIdleCallback;
    delete window.cancelIdleCallback;
    delete Crypto.prototype.randomUUID;
    delete AbortSignal.timeout;
  });
  await logInInBrowser(page, bob.username);
  const missing = await page.evaluate(
    () => typeof requestIdleCallback + typeof crypto.randomUUID + typeof AbortSignal.timeout,
  );
  if (missing !== 'undefinedundefinedundefined') fail(`the APIs were not taken away: ${missing}`);
  // Every area attached: the contacts count arrives, and sync runs live.
  await expectText(page, contactsBadge, '1', "Cat's request counted on the Contacts tab");
  await apiSend(ann, direct, `live without idle callbacks ${run}`);
  await expectText(page, chatsBadge, '1', 'the live message counted on the Chats tab');
  await openChatWith(page, `ann ${run}`);
  await expectText(page, '.msg.theirs', `live without idle callbacks ${run}`, "Ann's message in the conversation");
  // A send needs a client_msg_id made without crypto.randomUUID.
  await sendInBrowser(page, `sent without randomUUID ${run}`);
  const history = await call(ann.token, 'GET', `/conversations/${direct}/messages?limit=10`);
  const sent = history.messages.find((m) => m.text === `sent without randomUUID ${run}`);
  if (!sent || !/^web-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(sent.client_msg_id)) {
    fail(`the message sent: ${JSON.stringify(sent)}`);
  }
  t.screenshot(page);
});

scenario('area-attach-fails', async (t) => {
  const { ann, bob, direct } = await bobWithFriends();
  const page = await t.page({ viewport: DESKTOP });
  t.allowConsoleErrors(/area contacts: attach failed/);
  // The contacts area throws as it attaches (as it did in Safari).
  await page.route('**/areas/contacts/index.js', async (route) => {
    const response = await route.fetch();
    const source = await response.text();
    const broken = source.replace('attach(session) {', "attach(session) {\n    throw new ReferenceError('provoked by the test');");
    if (broken === source) fail('the contacts area has no attach(session) to break');
    await route.fulfill({ response, body: broken });
  });
  await logInInBrowser(page, bob.username);
  await apiSend(ann, direct, `still live ${run}`);
  await expectText(page, '.chat-list li', `still live ${run}`, 'the live message in the chat list');
  await expectText(page, chatsBadge, '1', 'the live message counted on the Chats tab');
  await page.waitForTimeout(500);
  if (await page.locator(contactsBadge).count()) fail('the broken contacts area counted anyway');
  const logged = t.consoleErrors().filter((line) => /area contacts: attach failed/.test(line));
  if (logged.length !== 1) fail(`the failure was logged ${logged.length} times`);
  await expectVisible(page, 'a[data-area=contacts]', 'the Contacts tab, still there');
});
