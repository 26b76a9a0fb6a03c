// A cluster behind a load balancer (crates/piazza/tests/web.rs starts two
// nodes on PostgreSQL and NATS, and a balancer that sends each new
// connection to the first node alive): the node the page talks to dies,
// and the page carries on through the other, resuming from its cursor.
// Runs only when named (`--only failover`), with `--kill-url`.

import { DESKTOP, args, run, fail, call, apiUser, apiBefriend, apiSend, expectText, logInInBrowser, openChatWith, sendInBrowser, scenario } from '../harness.mjs';

/** Long enough for the page's socket to notice and come back. */
const FAILOVER_TIMEOUT_MS = 30_000;

/** `apiSend`, tried again once: its kept-alive connection may have gone with the node. */
async function sendSurely(user, conversationId, text) {
  try {
    return await apiSend(user, conversationId, text);
  } catch {
    await new Promise((resolve) => setTimeout(resolve, 500));
    return apiSend(user, conversationId, text);
  }
}

scenario(
  'failover',
  async (t) => {
    if (!args.killUrl) fail('failover needs the test\'s load balancer: give --kill-url');
    const [ann, bob] = [await apiUser('ann'), await apiUser('bob')];
    const direct = await apiBefriend(ann, bob);
    const page = await t.page({ viewport: DESKTOP, name: 'ann' });
    await logInInBrowser(page, ann.username);
    await openChatWith(page, 'bob');
    await apiSend(bob, direct, `before ${run}`);
    await expectText(page, '.msg', `before ${run}`, 'a message before the node dies');

    // The node dies; the page's socket breaks, and it comes back through
    // the balancer to the other node, from its cursor.
    t.allowConsoleErrors(/WebSocket|net::ERR_|Failed to load resource/);
    const killed = await fetch(args.killUrl);
    if (!killed.ok) fail(`the test did not kill the node: ${killed.status}`);
    await sendSurely(bob, direct, `after ${run}`);
    await page
      .locator('.msg')
      .filter({ hasText: `after ${run}` })
      .first()
      .waitFor({ state: 'visible', timeout: FAILOVER_TIMEOUT_MS })
      .catch(() => fail(`a message sent after the node died: not shown within ${FAILOVER_TIMEOUT_MS} ms`));
    await sendInBrowser(page, `ann after ${run}`);
    const history = await call(bob.token, 'GET', `/conversations/${direct}/messages?limit=10`);
    const texts = history.messages.map((m) => m.text);
    if (!texts.some((text) => text === `ann after ${run}`)) fail(`bob does not have ann's message: ${JSON.stringify(texts)}`);
    t.screenshot(page);
  },
  { cluster: true },
);
