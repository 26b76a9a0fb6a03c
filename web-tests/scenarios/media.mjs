// Files, voice notes and videos (issue 14): the composer's attach button
// and microphone, the bubbles of each kind, an upload's progress, failure
// and Cancel, and the chat list's previews.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import {
  DESKTOP,
  PHONE,
  args,
  call,
  fail,
  repo,
  run,
  apiUser,
  apiBefriend,
  expectVisible,
  expectText,
  logInInBrowser,
  openChatWith,
  scenario,
} from '../harness.mjs';

const FIXTURES = join(repo, 'crates/piazza-core/fixtures/media');

/** The newest message of `user`'s history of `kind`. */
async function newest(user, conversationId, kind) {
  const page = await call(user.token, 'GET', `/conversations/${conversationId}/messages?limit=20`);
  return page.messages.filter((m) => m.kind === kind).sort((a, b) => a.seq - b.seq).at(-1);
}

/**
 * What the server's page headers allow: blob: media (a video played from
 * its fetched bytes) and the microphone (a voice note recorded).
 */
async function pagePolicy() {
  const response = await fetch(`${args.baseUrl}/`);
  await response.arrayBuffer();
  const csp = response.headers.get('content-security-policy') ?? '';
  const permissions = response.headers.get('permissions-policy') ?? '';
  const media = /(?:^|;)\s*media-src[^;]*blob:/.test(csp);
  const microphone = !/(?:^|[\s,])microphone=\(\)/.test(permissions);
  return { media, microphone };
}

scenario('media', async (t) => {
  const policy = await pagePolicy();
  const ann = await apiUser('ann');
  const bob = await apiUser('bob');
  const conversation = await apiBefriend(ann, bob);
  const annPage = await t.page({ viewport: DESKTOP, name: 'ann' });
  const bobPage = await t.page({ viewport: PHONE, name: 'bob', acceptDownloads: true });
  await logInInBrowser(annPage, ann.username);
  await logInInBrowser(bobPage, bob.username);
  await openChatWith(annPage, `bob ${run}`);
  await openChatWith(bobPage, `ann ${run}`);

  // ---------------------------------------------------------------- a file
  // 20 KiB of bytes that are no picture, audio or video, as a PDF's name
  // and type: uploaded as application/octet-stream under its name.
  const bytes = Buffer.alloc(20 * 1024);
  for (let i = 0; i < bytes.length; i += 1) bytes[i] = (i * 7 + 3) % 251;
  const uploads = [];
  annPage.on('request', (request) => {
    if (request.method() === 'POST' && new URL(request.url()).pathname === '/api/v1/media') {
      uploads.push({ url: request.url(), type: request.headers()['content-type'] });
    }
  });
  await annPage.setInputFiles('[data-testid=attach-input]', { name: 'report.pdf', mimeType: 'application/pdf', buffer: bytes });
  await expectVisible(annPage, '.msg.mine[data-status=sent] [data-testid=file-card]', "Ann's file, sent");
  const upload = uploads.at(-1);
  if (!upload || upload.type !== 'application/octet-stream' || new URL(upload.url).searchParams.get('name') !== 'report.pdf') {
    fail(`the file's upload: ${JSON.stringify(uploads)}`);
  }
  const file = await newest(ann, conversation, 'file');
  if (!file?.ref || file.attachment?.name !== 'report.pdf' || file.attachment?.bytes !== bytes.length) {
    fail(`the file as stored: ${JSON.stringify(file)}`);
  }
  await expectText(bobPage, '.msg.theirs [data-testid=file-name]', 'report.pdf', "Bob's file card with its name");
  const size = await bobPage.locator('.msg.theirs [data-testid=file-size]').last().textContent();
  if (size !== '20 KB') fail(`the file's size reads "${size}"`);
  await expectText(annPage, '.chat-list a', '[File] report.pdf', "Ann's chat list preview of the file");
  // Bob's Download fetches it with his token and saves it under its name.
  const fetched = bobPage.waitForResponse((r) => r.url().endsWith(`/api/v1/media/${file.ref}`));
  const [download] = await Promise.all([
    bobPage.waitForEvent('download'),
    bobPage.locator('.msg.theirs [data-testid=file-download]').last().click(),
  ]);
  const response = await fetched;
  if (!(response.request().headers().authorization ?? '').startsWith('Bearer ')) fail('the download was fetched without the token');
  if (download.suggestedFilename() !== 'report.pdf') fail(`the download is named "${download.suggestedFilename()}"`);
  const saved = readFileSync(await download.path());
  if (!saved.equals(bytes)) fail(`the downloaded bytes differ (${saved.length} bytes)`);
  await t.screenshotNow(bobPage, 'file');
  // Bob forwards it back from its menu: Ann gets the same file, marked forwarded.
  await bobPage.locator('.msg.theirs .bubble').filter({ has: bobPage.locator('[data-testid=file-card]') }).last().click({ button: 'right' });
  await bobPage.click('[data-testid=forward-message]');
  await bobPage.locator('[data-testid=forward-target]').first().click();
  await expectVisible(annPage, '.msg.theirs:has([data-testid=forwarded]) [data-testid=file-card]', 'the forwarded file at Ann');
  const forwarded = await newest(ann, conversation, 'file');
  if (forwarded.ref !== file.ref || forwarded.attachment?.name !== 'report.pdf' || !forwarded.forward_of) {
    fail(`the forwarded file as stored: ${JSON.stringify(forwarded)}`);
  }

  // An upload on its way shows its progress and Cancel, which stops it
  // and stores nothing (the network slowed to 512 KiB/s up by Chromium's
  // throttling, through the DevTools protocol: a 2 MiB file's bar moves);
  // one refused shows why (the server's detail), and Cancel takes it away.
  const cdp = await annPage.context().newCDPSession(annPage);
  await cdp.send('Network.enable');
  await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 20, downloadThroughput: -1, uploadThroughput: 512 * 1024 });
  await annPage.setInputFiles('[data-testid=attach-input]', { name: 'big.bin', mimeType: '', buffer: Buffer.alloc(2 * 1024 * 1024, 1) });
  await expectVisible(annPage, '.msg.mine[data-status=sending] [data-testid=upload] progress', 'the upload in progress');
  await annPage.waitForFunction(() => {
    const bar = document.querySelector('.msg.mine[data-status=sending] [data-testid=upload] progress');
    return bar && bar.value > 0.05 && bar.value < 0.95;
  });
  await t.screenshotNow(annPage, 'uploading');
  await annPage.click('.msg.mine[data-status=sending] [data-testid=upload-cancel]');
  await annPage.locator('[data-testid=upload]').waitFor({ state: 'detached' });
  await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
  await cdp.detach();
  await annPage.route('**/api/v1/media?*', (route) =>
    route.fulfill({
      status: 413,
      contentType: 'application/problem+json',
      body: JSON.stringify({ code: 'body_too_large', title: 'Payload Too Large', status: 413, detail: 'files are at most 512 MiB' }),
    }),
  );
  t.allowConsoleErrors(/413/);
  await annPage.setInputFiles('[data-testid=attach-input]', { name: 'huge.bin', mimeType: '', buffer: Buffer.alloc(1024, 2) });
  await expectText(annPage, '.msg.mine[data-status=failed] [data-testid=upload-error]', 'files are at most 512 MiB', 'the refused upload, with its detail');
  await expectVisible(annPage, '[data-testid=send-error]', 'the toast of the refused upload');
  await t.screenshotNow(annPage, 'upload-refused');
  await annPage.click('.msg.mine[data-status=failed] [data-testid=upload-cancel]');
  await annPage.locator('.msg.mine[data-status=failed]').waitFor({ state: 'detached' });
  await annPage.unroute('**/api/v1/media?*');
  // A file dropped on the conversation goes the same way.
  await annPage.evaluate(() => {
    const data = new DataTransfer();
    data.items.add(new File(['dropped notes\n'], 'notes.txt', { type: 'text/plain' }));
    document.querySelector('pz-conversation').dispatchEvent(new DragEvent('drop', { dataTransfer: data, bubbles: true, cancelable: true }));
  });
  await expectText(annPage, '.msg.mine[data-status=sent] [data-testid=file-name]', 'notes.txt', "Ann's dropped file, sent");
  await expectText(bobPage, '.msg.theirs [data-testid=file-card]', '14 B', "Bob's card of the dropped file");
  const files = (await call(ann.token, 'GET', `/conversations/${conversation}/messages?limit=20`)).messages.filter((m) => m.kind === 'file');
  if (files.length !== 3) fail(`${files.length} files stored, not 3 (the file, its forward, the dropped one)`);

  // --------------------------------------------------------------- a video
  const webm = readFileSync(join(FIXTURES, 'v.webm'));
  await annPage.setInputFiles('[data-testid=attach-input]', { name: 'clip.webm', mimeType: 'video/webm', buffer: webm });
  await expectVisible(annPage, '.msg.mine[data-status=sent] video[data-testid=chat-video]', "Ann's video, sent");
  const video = await newest(ann, conversation, 'video');
  if (!video?.ref || video.attachment?.content_type !== 'video/webm') fail(`the video as stored: ${JSON.stringify(video)}`);
  await expectVisible(bobPage, '.msg.theirs video[data-testid=chat-video]', "Bob's video");
  const shown = bobPage.locator('.msg.theirs video[data-testid=chat-video]').last();
  // Sized from the video's own width and height, and nothing fetched before Play.
  if (video.attachment.width && (await shown.getAttribute('width')) !== String(video.attachment.width)) {
    fail(`the video's width is ${await shown.getAttribute('width')}, not ${video.attachment.width}`);
  }
  if (await shown.evaluate((v) => v.currentSrc)) fail('the video was fetched before Play');
  await expectText(annPage, '.chat-list a', '[Video]', "Ann's chat list preview of the video");
  const videoFetched = bobPage.waitForResponse((r) => r.url().endsWith(`/api/v1/media/${video.ref}`));
  await bobPage.locator('.msg.theirs [data-testid=video-play]').last().click();
  await videoFetched;
  if (policy.media) {
    await bobPage.waitForFunction(() => [...document.querySelectorAll('video[data-testid=chat-video]')].at(-1).readyState >= 1);
  } else {
    // This server's page policy refuses blob: media: the video says so and offers its download.
    t.allowConsoleErrors(/Content Security Policy|media-src/);
    await expectText(bobPage, '.msg.theirs [data-testid=video-note]', 'cannot be played', 'the video refused by the page policy');
    await expectVisible(bobPage, '.msg.theirs [data-testid=video-download]', "the refused video's Download");
  }
  await t.screenshotNow(bobPage, 'video');

  // ---------------------------------------------------------- a voice note
  const ogg = readFileSync(join(FIXTURES, 'a.ogg'));
  if (policy.microphone) {
    await annPage.context().grantPermissions(['microphone'], { origin: args.baseUrl });
    await annPage.click('[data-testid=voice-record]');
    await expectVisible(annPage, '[data-testid=recording-bar]', 'the recording bar');
    await annPage.waitForTimeout(1500);
    await annPage.click('[data-testid=recording-send]');
  } else {
    // This server's page may not use the microphone: the button says why
    // and sends an audio file as a voice note instead.
    await annPage.click('[data-testid=voice-record]');
    await expectVisible(annPage, '[data-testid=voice-unavailable] [data-reason=policy]', 'why no voice note can be recorded');
    await t.screenshotNow(annPage, 'voice-unavailable');
    const [chooser] = await Promise.all([annPage.waitForEvent('filechooser'), annPage.click('[data-testid=voice-pick-file]')]);
    await chooser.setFiles({ name: 'note.ogg', mimeType: 'audio/ogg', buffer: ogg });
  }
  await expectVisible(annPage, '.msg.mine[data-status=sent] [data-testid=voice-note]', "Ann's voice note, sent");
  const voice = await newest(ann, conversation, 'voice');
  if (!voice?.ref || !(voice.attachment?.duration_ms > 0)) fail(`the voice note as stored: ${JSON.stringify(voice)}`);
  const length = voice.attachment.duration_ms;
  const expected = `${Math.floor(Math.round(length / 1000) / 60)}:${String(Math.round(length / 1000) % 60).padStart(2, '0')}`;
  await expectText(bobPage, '.msg.theirs [data-testid=voice-duration]', expected, `Bob's voice note, ${expected} long`);
  await expectText(annPage, '.chat-list a', `[Voice] ${expected}`, "Ann's chat list preview of the voice note");
  // Bob plays it: fetched with his token, it plays and comes back to the start.
  const player = bobPage.locator('.msg.theirs [data-testid=voice-note]').last();
  await player.locator('[data-testid=voice-play]').click();
  await bobPage.waitForFunction(() => [...document.querySelectorAll('.msg.theirs [data-testid=voice-note]')].at(-1).dataset.state === 'playing');
  await t.screenshotNow(bobPage, 'voice-playing');
  await bobPage.waitForFunction(
    () => [...document.querySelectorAll('.msg.theirs [data-testid=voice-note]')].at(-1).dataset.state === 'paused',
    null,
    { timeout: length + 5000 },
  );
  // The keyboard reaches the player's button and its position.
  await player.locator('[data-testid=voice-play]').focus();
  await bobPage.keyboard.press('Tab');
  const focused = await bobPage.evaluate(() => document.activeElement?.dataset.testid);
  if (focused !== 'voice-position') fail(`Tab from Play went to ${focused}`);
  // After a reload the list's snapshot names only the kind: the voice
  // note's message is read once for its length.
  await annPage.reload();
  await expectText(annPage, '.chat-list a', `[Voice] ${expected}`, "Ann's chat list preview of the voice note, after a reload");
  t.screenshot(bobPage);
  t.screenshot(annPage, 'ann');
});

// Recording a voice note, and a video playing, with the page headers the
// server sends for them (`media-src 'self' blob:`, `microphone=(self)`).
// Chromium's fake microphone (the harness launches it with
// --use-fake-device-for-media-stream) records a tone.
scenario('voice-record', async (t) => {
  const ann = await apiUser('ann');
  const bob = await apiUser('bob');
  const conversation = await apiBefriend(ann, bob);
  const annPage = await t.page({ viewport: PHONE, name: 'ann', colorScheme: 'dark' });
  await annPage.context().grantPermissions(['microphone'], { origin: args.baseUrl });
  await logInInBrowser(annPage, ann.username);
  await openChatWith(annPage, `bob ${run}`);

  // Escape gives a recording up: nothing is sent.
  await annPage.click('[data-testid=voice-record]');
  await expectVisible(annPage, '[data-testid=recording-bar]', 'the recording bar');
  await annPage.keyboard.press('Escape');
  await annPage.locator('[data-testid=recording-bar]').waitFor({ state: 'detached' });
  await expectVisible(annPage, '#composer', 'the composer back');

  // From the keyboard: Enter on the microphone records, the timer runs, Enter on Send sends.
  await annPage.focus('[data-testid=voice-record]');
  await annPage.keyboard.press('Enter');
  await expectVisible(annPage, '[data-testid=recording-bar]', 'the recording bar');
  await annPage.waitForFunction(() => document.querySelector('[data-testid=recording-time]')?.textContent === '0:02', null, { timeout: 5000 });
  await t.screenshotNow(annPage, 'recording');
  const focused = await annPage.evaluate(() => document.activeElement?.dataset.testid);
  if (focused !== 'recording-send') fail(`the recording's focus is on ${focused}`);
  await annPage.keyboard.press('Enter');
  await expectVisible(annPage, '.msg.mine[data-status=sent] [data-testid=voice-note]', "Ann's recorded voice note, sent");
  const voice = await newest(ann, conversation, 'voice');
  const length = voice?.attachment?.duration_ms ?? 0;
  if (!voice?.ref || length < 1500 || length > 6000) fail(`the recorded voice note as stored: ${JSON.stringify(voice)}`);
  if (!voice.attachment.content_type.startsWith('audio/')) fail(`the recording was kept as ${voice.attachment.content_type}`);
  const stored = await call(ann.token, 'GET', `/conversations/${conversation}/messages?limit=20`);
  if (stored.messages.filter((m) => m.kind === 'voice').length !== 1) fail('the cancelled recording was sent');

  // The video plays from its blob: URL once the page allows it.
  const webm = readFileSync(join(FIXTURES, 'v.webm'));
  await annPage.setInputFiles('[data-testid=attach-input]', { name: 'clip.webm', mimeType: 'video/webm', buffer: webm });
  await expectVisible(annPage, '.msg.mine[data-status=sent] video[data-testid=chat-video]', "Ann's video, sent");
  await annPage.locator('.msg.mine[data-status=sent] [data-testid=video-play]').last().click();
  await annPage.waitForFunction(() => [...document.querySelectorAll('video[data-testid=chat-video]')].at(-1).readyState >= 1);
  t.screenshot(annPage);
});
