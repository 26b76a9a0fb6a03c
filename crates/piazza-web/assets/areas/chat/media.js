// Files, voice notes and videos in a conversation: their bubbles (a file's
// card with its Download, a voice note's player, a video), the line of an
// upload on its way (its progress and Cancel), and the voice recorder.
//
// Media need the bearer token, so nothing here points an element at the
// server: the bytes are fetched with the token when they are wanted (a
// click on Play or Download, never for every message at once) and shown
// through a blob: URL. A voice note plays through Web Audio (decoded from
// its bytes), which needs no URL at all; a video needs its blob: URL
// allowed as media by the page's Content-Security-Policy, and says so
// when the browser refuses it (offering the download instead).

import { h, icon, replace } from '../../lib/dom.js';
import { formatDecimal, t } from '../../lib/i18n.js';
import { actions, iconButton, openDialog, toast } from '../../lib/ui.js';
import { problemText } from '../auth/index.js';

/** A voice note shorter than this is taken for a slip and not sent. */
const VOICE_MIN_MS = 500;
/** A recording stops (and is sent) at this length. */
const VOICE_MAX_MS = 5 * 60 * 1000;
/** How often the recording's timer and a player's position are drawn. */
const TICK_MS = 200;
/** Decoded voice notes kept for playing again (their bytes are small). */
const VOICE_CACHE_MAX = 8;
/** How long a download's blob: URL lives after its click. */
const DOWNLOAD_URL_MS = 60 * 1000;
/** What the recorder is asked for, best first (Chrome and Firefox: WebM or Ogg Opus; Safari: MP4). */
const RECORDING_TYPES = ['audio/webm;codecs=opus', 'audio/ogg;codecs=opus', 'audio/webm', 'audio/mp4'];

/**
 * "512 B", "3.4 KB", "12 MB", "1.2 GB" (binary units, one decimal under ten).
 * @param {number} bytes
 */
export function humanSize(bytes) {
  const units = ['chat.size_kb', 'chat.size_mb', 'chat.size_gb'];
  if (!(bytes >= 1024)) return t('chat.size_bytes', { n: formatDecimal(Math.max(0, bytes || 0), 0) });
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return t(units[unit], { n: formatDecimal(value, value < 10 ? 1 : 0) });
}

/**
 * A length as a player shows it: "0:04", "12:30", "1:02:03".
 * @param {number} ms
 */
export function formatDuration(ms) {
  const total = Math.max(0, Math.round((ms || 0) / 1000));
  const seconds = String(total % 60).padStart(2, '0');
  const minutes = Math.floor(total / 60) % 60;
  const hours = Math.floor(total / 3600);
  return hours ? `${hours}:${String(minutes).padStart(2, '0')}:${seconds}` : `${minutes}:${seconds}`;
}

/**
 * The kind a file picked from disk is sent as (a picture goes through
 * the picture's preview instead): a video as `video`, anything else —
 * an audio file too; only a recording is a voice note — as `file`.
 * @param {Blob} file
 */
export function kindOfFile(file) {
  return file.type.startsWith('video/') ? 'video' : 'file';
}

/**
 * What a message's attachment says, or, for a send on its way, what its
 * file says.
 * @param {any} item
 * @returns {{ content_type: string, bytes: number, name?: string, width?: number, height?: number, duration_ms?: number }}
 */
function attachmentOf(item) {
  const known = item.attachment ?? {};
  const file = item.file;
  return {
    content_type: known.content_type ?? file?.type ?? 'application/octet-stream',
    bytes: known.bytes ?? file?.size ?? 0,
    name: known.name ?? file?.name,
    width: known.width,
    height: known.height,
    duration_ms: known.duration_ms ?? item.duration_ms,
  };
}

/** The bytes of a message's media: its own file while it is on its way, else fetched with the token. */
function bytesOf(item, view) {
  return item.file ? Promise.resolve(item.file) : view.session.api.mediaBlob(item.ref);
}

/**
 * Saves a message's media under its name: fetched with the token (a link
 * cannot send it), then handed to the browser as a download.
 * @param {any} item
 * @param {any} view
 * @param {HTMLButtonElement} button disabled (and busy) meanwhile
 */
async function download(item, view, button) {
  const name = attachmentOf(item).name || t('chat.file_unnamed');
  button.disabled = true;
  button.setAttribute('aria-busy', 'true');
  try {
    const blob = await bytesOf(item, view);
    const url = URL.createObjectURL(blob);
    const link = h('a', { href: url, download: name, hidden: true });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), DOWNLOAD_URL_MS);
  } catch (error) {
    toast(`${t('chat.download_failed')} ${problemText(error)}`, { tone: 'error', testid: 'download-error' });
  } finally {
    button.disabled = false;
    button.removeAttribute('aria-busy');
  }
}

/**
 * A file's bubble: an icon, its name, its size, and Download (once it is
 * stored; a send on its way has only its own file).
 * @param {any} item
 * @param {any} view the conversation
 */
export function fileContent(item, view) {
  const attachment = attachmentOf(item);
  const name = attachment.name || t('chat.file_unnamed');
  const save = iconButton('download', t('chat.file_download', { name }), {
    class: 'file-download',
    'data-testid': 'file-download',
    disabled: !item.ref,
    onclick: () => download(item, view, save),
  });
  return h(
    'div',
    { class: 'file-card', 'data-testid': 'file-card' },
    h('span', { class: 'file-icon' }, icon('file')),
    h(
      'span',
      { class: 'file-text' },
      h('strong', { class: 'file-name', title: name, 'data-testid': 'file-name' }, name),
      h('span', { class: 'file-size', 'data-testid': 'file-size' }, humanSize(attachment.bytes)),
    ),
    save,
  );
}

// ------------------------------------------------------------ voice notes

/** @type {AudioContext | null} */
let audio = null;
/** Decoded voice notes by media id (or client_msg_id), newest last. @type {Map<string, Promise<AudioBuffer>>} */
const decoded = new Map();
/**
 * The voice note playing now (one at a time), and the player drawing it.
 * @type {{ key: string, source: AudioBufferSourceNode, context: AudioContext, startedAt: number, timer: any, player: any } | null}
 */
let playing = null;

function audioContext() {
  if (!audio) audio = new AudioContext();
  if (audio.state === 'suspended') audio.resume().catch(() => {});
  return audio;
}

/** A message's voice note decoded, once (a few are kept). */
function decode(item, view) {
  const key = item.ref ?? item.client_msg_id;
  let buffer = decoded.get(key);
  if (!buffer) {
    buffer = bytesOf(item, view)
      .then((blob) => blob.arrayBuffer())
      .then((bytes) => audioContext().decodeAudioData(bytes));
    buffer.catch(() => decoded.delete(key));
    decoded.set(key, buffer);
    while (decoded.size > VOICE_CACHE_MAX) decoded.delete(decoded.keys().next().value);
  }
  return buffer;
}

/** Where each voice note was left (ms), so a row built again goes on from there. */
const positions = new Map();

/**
 * A voice note's player: Play/Pause, its position (a slider the keyboard
 * moves too) and its length ("0:01 / 0:04" once started). It plays
 * through Web Audio from the bytes fetched at the first Play; one note
 * plays at a time, and a row built again while its note plays shows it.
 */
class VoicePlayer {
  constructor(item, view) {
    this.item = item;
    this.view = view;
    this.key = item.ref ?? item.client_msg_id;
    this.length = attachmentOf(item).duration_ms ?? 0;
    this.button = iconButton('play', t('chat.voice_play'), { class: 'voice-toggle', 'data-testid': 'voice-play', 'aria-pressed': 'false' });
    this.slider = h('input', {
      type: 'range',
      class: 'voice-position',
      min: '0',
      step: '100',
      'aria-label': t('chat.voice_position'),
      'data-testid': 'voice-position',
    });
    this.time = h('span', { class: 'voice-time', 'data-testid': 'voice-duration' });
    this.element = h(
      'div',
      { class: 'voice', 'data-testid': 'voice-note', dataset: { state: 'paused' } },
      h('span', { class: 'voice-icon' }, icon('mic')),
      this.button,
      this.slider,
      this.time,
    );
    this.button.addEventListener('click', () => (playing?.key === this.key ? this.pause() : this.play()));
    this.slider.addEventListener('input', () => {
      const at = Number(this.slider.value);
      positions.set(this.key, at);
      if (playing?.key === this.key) this.play(at);
      else this.draw(at, false);
    });
    if (playing?.key === this.key) this.follow();
    else this.draw(positions.get(this.key) ?? 0, false);
  }

  /** Shows position `at` (ms), playing or not. */
  draw(at, isPlaying) {
    const { slider, time, button, length } = this;
    const both = `${formatDuration(at)} / ${formatDuration(length)}`;
    slider.max = String(Math.max(1, length));
    slider.value = String(Math.round(at));
    slider.setAttribute('aria-valuetext', both);
    time.textContent = at > 0 || isPlaying ? both : formatDuration(length);
    this.element.dataset.state = isPlaying ? 'playing' : 'paused';
    button.setAttribute('aria-pressed', String(isPlaying));
    const label = isPlaying ? t('chat.voice_pause') : t('chat.voice_play');
    button.setAttribute('aria-label', label);
    button.title = label;
    replace(button, icon(isPlaying ? 'pause' : 'play'));
  }

  /** Draws the note playing now as it goes, and its end. */
  follow() {
    const current = playing;
    const at = () => Math.min(this.length, (current.context.currentTime - current.startedAt) * 1000);
    clearInterval(current.timer);
    current.player = this;
    current.timer = setInterval(() => this.draw(at(), true), TICK_MS);
    current.source.onended = () => {
      clearInterval(current.timer);
      if (playing === current) playing = null;
      positions.delete(this.key);
      this.draw(0, false);
    };
    this.draw(at(), true);
  }

  pause() {
    const current = playing;
    if (current?.key !== this.key) return;
    playing = null;
    positions.set(this.key, Math.min(this.length, (current.context.currentTime - current.startedAt) * 1000));
    clearInterval(current.timer);
    current.source.onended = null;
    current.source.stop();
    this.draw(positions.get(this.key) ?? 0, false);
  }

  async play(from = positions.get(this.key) ?? 0) {
    if (playing) playing.player.pause();
    const context = audioContext();
    this.button.setAttribute('aria-busy', 'true');
    let buffer;
    try {
      buffer = await decode(this.item, this.view);
    } catch {
      this.element.dataset.state = 'broken';
      this.time.textContent = t('chat.voice_unavailable');
      return;
    } finally {
      this.button.removeAttribute('aria-busy');
    }
    if (playing) playing.player.pause();
    this.length = Math.round(buffer.duration * 1000) || this.length;
    const offset = from >= this.length - 50 ? 0 : from;
    const source = context.createBufferSource();
    source.buffer = buffer;
    source.connect(context.destination);
    source.start(0, offset / 1000);
    playing = { key: this.key, source, context, startedAt: context.currentTime - offset / 1000, timer: 0, player: this };
    this.follow();
  }
}

/**
 * A voice note's bubble.
 * @param {any} item
 * @param {any} view
 */
export function voiceContent(item, view) {
  return new VoicePlayer(item, view).element;
}

// ------------------------------------------------------------------ video

/**
 * A video's bubble: a `<video controls>` sized from the video's own width
 * and height, empty until Play is pressed (its bytes are fetched then,
 * with the token, into a blob: URL); a video the browser cannot play
 * (its codec, or a page policy refusing blob: media) says so and offers
 * its download.
 * @param {any} item
 * @param {any} view
 */
export function videoContent(item, view) {
  const attachment = attachmentOf(item);
  const width = attachment.width || 16;
  const height = attachment.height || 9;
  const video = h('video', {
    class: 'video-player',
    controls: true,
    preload: 'none',
    playsinline: true,
    width: String(attachment.width || 240),
    height: String(attachment.height || 135),
    'data-testid': 'chat-video',
    // Nothing to play before Play: the keyboard goes to the Play button over it.
    tabindex: '-1',
  });
  video.style.aspectRatio = `${width} / ${height}`;
  const label = attachment.duration_ms ? formatDuration(attachment.duration_ms) : '';
  const start = h(
    'button',
    { type: 'button', class: 'video-start', 'aria-label': t('chat.video_play'), title: t('chat.video_play'), 'data-testid': 'video-play' },
    icon('play'),
    label ? h('span', { class: 'video-length' }, label) : null,
  );
  const note = h('p', { class: 'video-note', role: 'status', 'data-testid': 'video-note' });
  const box = h('div', { class: 'video', dataset: { state: 'idle' } }, video, start, note);
  const refuse = () => {
    if (box.dataset.state === 'refused') return;
    box.dataset.state = 'refused';
    start.hidden = true;
    const save = h(
      'button',
      { type: 'button', class: 'video-download', 'data-testid': 'video-download', onclick: () => download(item, view, save) },
      icon('download'),
      t('chat.download'),
    );
    replace(note, t('chat.video_unplayable'), ' ', save);
  };
  video.addEventListener('error', refuse);
  start.addEventListener('click', async () => {
    box.dataset.state = 'loading';
    start.disabled = true;
    note.textContent = t('chat.video_loading');
    try {
      const blob = await bytesOf(item, view);
      if (!box.isConnected) return;
      video.src = URL.createObjectURL(blob);
      start.hidden = true;
      note.textContent = '';
      box.dataset.state = 'ready';
      video.removeAttribute('tabindex');
      video.focus({ preventScroll: true });
      await video.play();
    } catch (error) {
      // A refused load fires `error` on the video (said there); a failed fetch is said here.
      if (!video.error && box.dataset.state !== 'ready') {
        box.dataset.state = 'idle';
        start.disabled = false;
        note.textContent = `${t('chat.video_unavailable')} ${problemText(error)}`;
      }
    }
  });
  return box;
}

// ------------------------------------------------------------ the upload

/**
 * Under a send whose media is still uploading: the progress ("42 %") and
 * Cancel; once failed, why, and Cancel to give it up (Retry is beside
 * its time, as for every send).
 * @param {any} item
 * @param {() => void} cancel
 */
export function uploadLine(item, cancel) {
  const failed = item.status === 'failed';
  const fraction = item.progress ?? 0;
  const bar = h('progress', { class: 'upload-bar', max: '1', value: String(fraction), 'aria-label': t('chat.upload_label') });
  const percent = h('span', { class: 'upload-percent' }, `${Math.round(fraction * 100)}%`);
  const why = failed && item.error ? h('span', { class: 'upload-error', 'data-testid': 'upload-error' }, uploadErrorText(item.error)) : null;
  return h(
    'div',
    { class: 'upload', 'data-testid': 'upload', dataset: { state: failed ? 'failed' : 'uploading' } },
    failed ? why : [bar, percent],
    h('button', { type: 'button', class: 'upload-cancel', 'data-testid': 'upload-cancel', onclick: cancel }, t('chat.upload_cancel')),
  );
}

/** Updates an upload line in place as its bytes go. */
export function showProgress(row, loaded, total) {
  const fraction = total ? Math.min(1, loaded / total) : 0;
  const bar = /** @type {HTMLProgressElement | null} */ (row.querySelector('.upload-bar'));
  if (bar) bar.value = fraction;
  const percent = row.querySelector('.upload-percent');
  if (percent) percent.textContent = `${Math.round(fraction * 100)}%`;
}

/**
 * Why an upload failed: the catalog's words for its code and the
 * server's detail (which names the cap or the quota).
 * @param {any} error
 */
export function uploadErrorText(error) {
  const detail = error?.problem?.detail;
  const said = problemText(error);
  return detail && !said.includes(detail) && error?.status !== 0 ? `${said} (${detail})` : said;
}

// --------------------------------------------------------- the recorder

/**
 * Whether this page may record: the browser has a microphone API and a
 * recorder, the page is a secure context, and its Permissions-Policy
 * allows the microphone (Chrome tells through `document.permissionsPolicy`
 * or `featurePolicy`; a browser that cannot say is asked, and its refusal
 * is said).
 */
export function canRecord() {
  const policy = /** @type {any} */ (document).permissionsPolicy ?? /** @type {any} */ (document).featurePolicy;
  return (
    !!navigator.mediaDevices?.getUserMedia &&
    typeof MediaRecorder !== 'undefined' &&
    window.isSecureContext !== false &&
    (policy?.allowsFeature?.('microphone') ?? true)
  );
}

/**
 * A recording under way: the microphone is asked for only now. Resolves
 * once recording, with `stop()` (→ `{blob, durationMs}`) and `cancel()`;
 * rejects as getUserMedia does (NotAllowedError, NotFoundError…).
 */
export async function startRecording() {
  const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
  const mimeType = RECORDING_TYPES.find((type) => MediaRecorder.isTypeSupported?.(type));
  const recorder = new MediaRecorder(stream, mimeType ? { mimeType } : {});
  const chunks = [];
  recorder.addEventListener('dataavailable', (e) => {
    if (e.data.size) chunks.push(e.data);
  });
  const release = () => stream.getTracks().forEach((track) => track.stop());
  const begun = new Promise((resolve) => {
    recorder.addEventListener('start', resolve, { once: true });
  });
  recorder.start(TICK_MS);
  await begun;
  const startedAt = performance.now();
  return {
    startedAt,
    /** @returns {Promise<{ blob: Blob, durationMs: number }>} */
    stop() {
      const durationMs = Math.round(performance.now() - startedAt);
      return new Promise((resolve) => {
        recorder.addEventListener(
          'stop',
          () => {
            release();
            const type = (recorder.mimeType || mimeType || 'audio/webm').split(';')[0];
            resolve({ blob: new Blob(chunks, { type }), durationMs });
          },
          { once: true },
        );
        recorder.stop();
      });
    },
    cancel() {
      if (recorder.state !== 'inactive') recorder.stop();
      release();
    },
  };
}

/**
 * The bar that takes the composer's place while a voice note records: a
 * red dot and the time so far, Cancel (or Escape) and Send (or Enter).
 * `send({blob, durationMs})` gets the recording; `done()` runs when the
 * bar goes either way. It stops and sends by itself at five minutes.
 * @param {{ stop: () => Promise<{ blob: Blob, durationMs: number }>, cancel: () => void, startedAt: number }} recording
 * @param {{ send: (voice: { blob: Blob, durationMs: number }) => void, done: () => void }} handlers
 */
export function recordingBar(recording, { send, done }) {
  const time = h('span', { class: 'recording-time', 'data-testid': 'recording-time', role: 'timer' }, formatDuration(0));
  let finished = false;
  const finish = async (keep) => {
    if (finished) return;
    finished = true;
    clearInterval(timer);
    bar.remove();
    done();
    if (!keep) {
      recording.cancel();
      return;
    }
    const voice = await recording.stop();
    if (voice.durationMs < VOICE_MIN_MS || !voice.blob.size) toast(t('chat.voice_too_short'), { testid: 'voice-too-short' });
    else send(voice);
  };
  const cancel = iconButton('trash', t('chat.voice_cancel'), { class: 'recording-cancel', 'data-testid': 'recording-cancel', onclick: () => finish(false) });
  const stop = h(
    'button',
    { type: 'button', class: 'primary recording-send', 'data-testid': 'recording-send', onclick: () => finish(true) },
    icon('send'),
    t('chat.voice_send'),
  );
  const bar = h(
    'div',
    { class: 'recording-bar', 'data-testid': 'recording-bar', role: 'group', 'aria-label': t('chat.voice_recording') },
    cancel,
    h('span', { class: 'recording-dot', 'aria-hidden': 'true' }),
    h('span', { class: 'recording-label' }, t('chat.voice_recording')),
    time,
    stop,
  );
  bar.addEventListener('keydown', (e) => {
    if (e.key === 'Escape') {
      e.preventDefault();
      finish(false);
    }
  });
  const timer = setInterval(() => {
    const ms = performance.now() - recording.startedAt;
    time.textContent = formatDuration(ms);
    if (ms >= VOICE_MAX_MS) finish(true);
  }, TICK_MS);
  return { element: bar, focus: () => stop.focus(), cancel: () => finish(false) };
}

/**
 * Why a voice note cannot be recorded here, and the way round: an audio
 * file sent as a voice note. `reason`: 'policy' (this page may not use
 * the microphone at all), 'denied' (the person or the browser refused
 * it), 'missing' (no microphone), 'unsupported' (no recorder).
 * @param {'policy' | 'denied' | 'missing' | 'unsupported'} reason
 * @param {() => void} pickFile
 */
export function voiceUnavailableDialog(reason, pickFile) {
  const text = {
    policy: 'chat.voice_blocked',
    denied: 'chat.voice_denied',
    missing: 'chat.voice_no_microphone',
    unsupported: 'chat.voice_unsupported',
  }[reason];
  openDialog({
    title: t('chat.voice_title'),
    testid: 'voice-unavailable',
    body: (close) => [
      h('p', { class: 'voice-why', 'data-reason': reason, 'data-testid': 'voice-why' }, t(text)),
      actions(
        h('button', { type: 'button', onclick: close }, t('ui.close')),
        h(
          'button',
          {
            type: 'button',
            class: 'primary',
            'data-testid': 'voice-pick-file',
            autofocus: true,
            onclick: () => {
              close();
              pickFile();
            },
          },
          icon('attach'),
          t('chat.voice_pick_file'),
        ),
      ),
    ],
  });
}

/**
 * The length of an audio file, read by decoding it (null when it cannot
 * be): sent as a voice note's `duration_ms`.
 * @param {Blob} file
 * @returns {Promise<number | null>}
 */
export async function audioLength(file) {
  try {
    const buffer = await audioContext().decodeAudioData(await file.arrayBuffer());
    return Math.round(buffer.duration * 1000);
  } catch {
    return null;
  }
}
