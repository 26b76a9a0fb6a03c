// Reading a QR code with the camera, for every screen that takes one
// (approving a QR log-in, paying a merchant, later adding a contact). The
// browser's own `BarcodeDetector` reads the frames: nothing to download,
// and on the phones people scan with (Chrome on Android, Safari on iOS 17+
// behind its flag, Chrome on macOS and ChromeOS) it is the platform's
// native decoder. Where it is missing (Firefox, Chrome on Linux and
// Windows) the scan button is not shown and the screen's paste field,
// always there, is the way in. Why not a JavaScript decoder: see the web
// crate's README ("QR codes").

import { h } from './dom.js';
import { t } from './i18n.js';
import { actions, openDialog } from './ui.js';

/** How often a frame is searched, and how long a scan may look at most. */
const SCAN_INTERVAL_MS = 200;
const SCAN_TIMEOUT_MS = 120000;

/** @type {Promise<boolean> | null} */
let supported = null;

/**
 * Whether this browser can scan: `BarcodeDetector` that knows QR codes,
 * and a camera API. Asked once.
 * @returns {Promise<boolean>}
 */
export function canScan() {
  if (!supported) {
    supported = (async () => {
      const Detector = /** @type {any} */ (window).BarcodeDetector;
      if (!Detector || !navigator.mediaDevices?.getUserMedia) return false;
      try {
        const formats = await Detector.getSupportedFormats();
        return Array.isArray(formats) && formats.includes('qr_code');
      } catch {
        return false;
      }
    })();
  }
  return supported;
}

/**
 * A "Scan with the camera" button, shown only where scanning works, that
 * opens the scanner and hands what it reads to `onCode`.
 * @param {{ check?: (text: string) => string | null, onCode: (text: string) => void, testid?: string }} options
 */
export function scanButton({ check, onCode, testid = 'scan-button' }) {
  const button = h('button', { type: 'button', hidden: true, 'data-testid': testid }, t('scan.button'));
  button.addEventListener('click', async () => {
    const text = await scanQr({ check });
    if (text !== null) onCode(text);
  });
  canScan().then((yes) => (button.hidden = !yes));
  return button;
}

/**
 * The camera's picture in a dialog until a QR code is read. `check(text)`
 * returns a catalog key saying why a code is not the one wanted (the scan
 * goes on, saying so), or null to take it. Resolves with the text read, or
 * null when the dialog was closed or the camera could not be used.
 * @param {{ check?: (text: string) => string | null }} [options]
 * @returns {Promise<string | null>}
 */
export function scanQr({ check = () => null } = {}) {
  return new Promise((resolve) => {
    const video = /** @type {HTMLVideoElement} */ (
      h('video', { class: 'scanner-video', autoplay: true, muted: true, playsinline: true, 'data-testid': 'scanner-video' })
    );
    const status = h('p', { class: 'status', role: 'status', 'data-testid': 'scanner-status' }, t('scan.starting'));
    /** @type {MediaStream | null} */
    let stream = null;
    let timer = 0;
    let found = /** @type {string | null} */ (null);
    const stop = () => {
      clearTimeout(timer);
      stream?.getTracks().forEach((track) => track.stop());
      stream = null;
    };
    const { dialog, close } = openDialog({
      title: t('scan.title'),
      testid: 'scanner',
      className: 'scanner-dialog',
      body: (closeIt) =>
        h(
          'div',
          { class: 'scanner' },
          h('div', { class: 'scanner-frame' }, video, h('span', { class: 'scanner-target', 'aria-hidden': 'true' })),
          status,
          actions(h('button', { type: 'button', onclick: closeIt }, t('ui.cancel'))),
        ),
      onClose: () => {
        stop();
        resolve(found);
      },
    });
    look({ video, status, dialog, check, started: Date.now() }, {
      setStream: (s) => (stream = s),
      setTimer: (id) => (timer = id),
      stop,
      done: (text) => {
        found = text;
        close();
      },
    });
  });
}

/**
 * Starts the camera and searches its frames.
 * @param {{ video: HTMLVideoElement, status: HTMLElement, dialog: HTMLDialogElement, check: (text: string) => string | null, started: number }} scan
 * @param {{ setStream: (s: MediaStream) => void, setTimer: (id: number) => void, stop: () => void, done: (text: string) => void }} control
 */
async function look({ video, status, dialog, check, started }, control) {
  let detector;
  try {
    detector = new (/** @type {any} */ (window).BarcodeDetector)({ formats: ['qr_code'] });
    const stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment' }, audio: false });
    control.setStream(stream);
    if (!dialog.open) return control.stop();
    video.srcObject = stream;
    await video.play().catch(() => {});
  } catch (failure) {
    status.textContent = t(cameraProblem(failure));
    status.classList.add('error');
    return control.stop();
  }
  status.textContent = t('scan.looking');
  const frame = async () => {
    if (!dialog.open) return;
    if (Date.now() - started > SCAN_TIMEOUT_MS) {
      status.textContent = t('scan.gave_up');
      return control.stop();
    }
    try {
      const codes = video.readyState >= 2 ? await detector.detect(video) : [];
      for (const code of codes) {
        const text = String(code.rawValue ?? '');
        if (!text) continue;
        const wrong = check(text);
        if (!wrong) return control.done(text);
        status.textContent = t(wrong);
      }
    } catch {
      // A frame that is not ready yet: the next one.
    }
    control.setTimer(window.setTimeout(frame, SCAN_INTERVAL_MS));
  };
  frame();
}

/**
 * Why the camera cannot be used, as a catalog key.
 * @param {unknown} failure
 */
function cameraProblem(failure) {
  const name = /** @type {{ name?: string }} */ (failure)?.name;
  if (name === 'NotAllowedError' || name === 'SecurityError') return 'scan.denied';
  if (name === 'NotFoundError' || name === 'OverconstrainedError' || name === 'NotReadableError') return 'scan.no_camera';
  return 'scan.failed';
}
