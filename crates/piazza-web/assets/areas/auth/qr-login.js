// <pz-qr-login>: asks the server for a login request, shows its QR code
// (the server draws it as SVG) and the payload as text, and polls every
// second until another device approves it, it expires, or the page leaves.

import { Api } from '../../lib/api.js';
import { h, replace } from '../../lib/dom.js';
import { t } from '../../lib/i18n.js';
import { deviceName } from '../../lib/session.js';
import { problemText } from './index.js';

const POLL_INTERVAL_MS = 1000;
/** A page left open renews its request this many times, then stops. */
const RENEWALS_MAX = 10;

export class QrLogin extends HTMLElement {
  /** Runs with the new device's session once another device approved. */
  /** @type {((answer: any) => void) | null} */ onApproved = null;
  connectedCallback() {
    this.api = new Api();
    this.alive = true;
    this.renewals = 0;
    this.className = 'card qr-login';
    this.setAttribute('role', 'region');
    this.setAttribute('aria-labelledby', 'qr-title');
    this.start();
  }

  disconnectedCallback() {
    this.alive = false;
    clearTimeout(this.timer);
    if (this.imageUrl) URL.revokeObjectURL(this.imageUrl);
  }

  async start() {
    this.status = h('p', { class: 'status', role: 'status', 'aria-live': 'polite' }, t('qr.loading'));
    replace(
      this,
      h('h1', { id: 'qr-title' }, t('qr.title')),
      h('p', { class: 'hint' }, t('qr.instructions')),
      this.status,
      h('p', { class: 'links' }, h('a', { href: '#/login' }, t('qr.use_password'))),
    );
    let request;
    try {
      request = await this.api.createLoginRequest(deviceName());
    } catch (error) {
      this.status.textContent = t('qr.failed', { detail: problemText(error) });
      return;
    }
    if (!this.alive) return;
    this.request = request;
    this.show(request);
    this.poll();
  }

  show(request) {
    // The SVG is a document from the server; as an <img> from a blob: URL
    // it is only ever an image, never markup in this page.
    const blob = new Blob([request.qr_svg], { type: 'image/svg+xml' });
    if (this.imageUrl) URL.revokeObjectURL(this.imageUrl);
    this.imageUrl = URL.createObjectURL(blob);
    const image = h('img', {
      class: 'qr',
      src: this.imageUrl,
      alt: t('qr.image_alt'),
      width: 240,
      height: 240,
    });
    const payload = h('code', { class: 'qr-payload', translate: 'no', 'data-testid': 'qr-payload' }, request.qr_payload);
    const copy = h(
      'button',
      {
        type: 'button',
        onclick: async () => {
          try {
            await navigator.clipboard.writeText(request.qr_payload);
            this.status.textContent = t('qr.copied');
          } catch {
            getSelection()?.selectAllChildren(payload);
          }
        },
      },
      t('qr.copy'),
    );
    this.status.textContent = t('qr.waiting');
    this.querySelector('.hint').after(
      h('figure', { class: 'qr-figure' }, image, h('figcaption', {}, t('qr.payload_label'), ' ', payload, ' ', copy)),
    );
  }

  async poll() {
    if (!this.alive) return;
    const { request_id, secret } = this.request;
    let answer = null;
    try {
      answer = await this.api.loginRequestStatus(request_id, secret);
    } catch (error) {
      if (error.status === 404 || error.status === 410) answer = { status: 'expired' };
    }
    if (!this.alive) return;
    if (answer?.status === 'approved' && answer.token) {
      this.alive = false;
      this.status.textContent = t('qr.approved');
      this.onApproved?.(answer);
      return;
    }
    if (answer?.status === 'expired') {
      this.renewals += 1;
      this.querySelector('.qr-figure')?.remove();
      if (this.renewals > RENEWALS_MAX) {
        this.status.textContent = t('qr.expired');
        this.status.after(h('button', { type: 'button', onclick: () => ((this.renewals = 0), this.start()) }, t('qr.renew')));
        return;
      }
      this.start();
      return;
    }
    this.timer = setTimeout(() => this.poll(), POLL_INTERVAL_MS);
  }
}

customElements.define('pz-qr-login', QrLogin);
