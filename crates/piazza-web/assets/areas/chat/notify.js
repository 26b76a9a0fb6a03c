// Telling the user about a message they are not looking at: a desktop
// notification (the Notification API, asked for only when they press the
// banner's button, never on load) and a short sound, both silenced for a
// muted conversation. A message is "seen" when the page is visible, has
// the focus and shows its conversation; anything else is announced.

import { h } from '../../lib/dom.js';
import { t } from '../../lib/i18n.js';
import { toast } from '../../lib/ui.js';
import { messageSummary } from './summary.js';

/** Where "don't ask again" is kept (per browser: the permission is the browser's too). */
const DISMISSED_KEY = 'piazza.notify.dismissed';
/** A notification's body is cut here. */
const BODY_MAX = 120;

let audio = null;

/**
 * The sound needs an AudioContext made during a user gesture (the page's
 * autoplay rules); the first tap or key anywhere makes it.
 */
function prepareSound() {
  if (audio || typeof AudioContext === 'undefined') return;
  try {
    audio = new AudioContext();
  } catch {
    audio = null;
  }
}
for (const type of ['pointerdown', 'keydown']) {
  window.addEventListener(type, prepareSound, { capture: true, passive: true });
}

/** Two short soft tones (no sound file to fetch). */
export function playSound() {
  performance.mark('piazza:notify-sound');
  if (!audio || audio.state !== 'running') return;
  const now = audio.currentTime;
  for (const [offset, frequency] of [
    [0, 880],
    [0.12, 1320],
  ]) {
    const tone = audio.createOscillator();
    const gain = audio.createGain();
    tone.type = 'sine';
    tone.frequency.value = frequency;
    gain.gain.setValueAtTime(0.0001, now + offset);
    gain.gain.exponentialRampToValueAtTime(0.15, now + offset + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, now + offset + 0.18);
    tone.connect(gain).connect(audio.destination);
    tone.start(now + offset);
    tone.stop(now + offset + 0.2);
  }
}

function supported() {
  return typeof Notification !== 'undefined';
}

/** Whether to show the "turn on notifications" banner. */
export function shouldAsk() {
  return supported() && Notification.permission === 'default' && localStorage.getItem(DISMISSED_KEY) !== '1';
}

/** The banner over the chat list: a sentence, "Turn on" and "Not now". */
export function notifyBanner(onDone) {
  const done = () => {
    banner.remove();
    onDone?.();
  };
  const banner = h(
    'div',
    { class: 'notify-banner', 'data-testid': 'notify-banner' },
    h('p', {}, t('notify.ask')),
    h(
      'button',
      {
        type: 'button',
        class: 'primary',
        'data-testid': 'notify-enable',
        onclick: async () => {
          prepareSound();
          const answer = await Notification.requestPermission();
          if (answer === 'granted') toast(t('notify.enabled'), { tone: 'success' });
          else if (answer === 'denied') toast(t('notify.denied'));
          done();
        },
      },
      t('notify.enable'),
    ),
    h(
      'button',
      {
        type: 'button',
        'data-testid': 'notify-dismiss',
        onclick: () => {
          localStorage.setItem(DISMISSED_KEY, '1');
          done();
        },
      },
      t('notify.not_now'),
    ),
  );
  return banner;
}

function seen(state, conversationId) {
  return document.visibilityState === 'visible' && document.hasFocus() && state.viewing === conversationId;
}

/** A message as a notification shows it: the list's one-line summary, cut short. */
function preview(message, session) {
  const text = messageSummary(message, session);
  return text.length > BODY_MAX ? `${text.slice(0, BODY_MAX - 1)}…` : text;
}

/** Announces incoming messages of `state` (a ChatState) while the session lives. */
export function watchIncoming(session, state) {
  state.addEventListener('incoming', (e) => {
    const message = e.detail;
    const id = message.conversation_id;
    if (session.state.chat !== state || state.isMuted(id) || seen(state, id)) return;
    playSound();
    if (!supported() || Notification.permission !== 'granted') return;
    const conversation = state.conversations.get(id);
    const sender = session.name(message.sender);
    const group = conversation?.kind === 'group';
    // An order's conversation is named by its title ("Shop · ord_12"), not by who wrote.
    const title = group || conversation?.kind === 'order' ? state.title(id) : sender;
    const body = group ? `${sender}: ${preview(message, session)}` : preview(message, session);
    try {
      const note = new Notification(title, { body, tag: id, lang: document.documentElement.lang });
      note.addEventListener('click', () => {
        window.focus();
        location.hash = `#/chats/${encodeURIComponent(id)}`;
        note.close();
      });
    } catch {
      // Some browsers allow notifications only from a service worker.
    }
  });
}
