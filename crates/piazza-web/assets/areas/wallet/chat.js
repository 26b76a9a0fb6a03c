// Money in chats: a transfer or red-packet message is drawn as a card in
// WeChat's way — orange for a transfer, red for a red packet, the amount
// or greeting beside its icon, the kind on a strip below, faded once
// settled — with Accept / Decline, Open and Details; the composer gets a
// button to send one, and the chat list a one-line preview of each. The
// chat view calls in through its `chatExtensions`; it knows nothing of
// money.

import { h, icon, replace } from '../../lib/dom.js';
import { t } from '../../lib/i18n.js';
import { actions, openDialog } from '../../lib/ui.js';
import { chatExtensions } from '../chat/conversation.js';
import { kindLabel, previewMakers } from '../chat/summary.js';
import { MoneyAction } from './money.js';
import { amountField, failureText, formDialog, moneyText, pinField, readAmount, readPin } from './ui.js';

/** Shares a red packet may have (the server's cap). */
const SHARES_MAX = 100;
const NOTE_MAX = 200;
const GREETING_MAX = 100;

export function registerChatExtensions(walletOf) {
  chatExtensions.cards.set('transfer', (message, view) => {
    const card = document.createElement('pz-transfer-card');
    card.setup(walletOf(view.session), message, view);
    return card;
  });
  chatExtensions.cards.set('red_packet', (message, view) => {
    const card = document.createElement('pz-red-packet-card');
    card.setup(walletOf(view.session), message, view);
    return card;
  });
  chatExtensions.composer.push((view) => moneyButton(view, walletOf(view.session)));
  previewMakers.set('transfer', (message, session, redraw) => {
    const transfer = known(walletOf(session), 'transfers', message.ref, redraw);
    const label = `[${kindLabel('transfer')}]`;
    return transfer ? `${label} ${moneyText(transfer.amount_minor, { currency: transfer.currency })}` : label;
  });
  previewMakers.set('red_packet', (message, session, redraw) => {
    const packet = known(walletOf(session), 'packets', message.ref, redraw);
    return `[${kindLabel('red_packet')}] ${packet?.greeting || t('wallet.red_packet_default_greeting')}`;
  });
}

/**
 * A transfer or packet the wallet holds; else asked for once, and
 * `redraw` runs when it arrives.
 * @param {import('./state.js').WalletState} wallet
 * @param {'transfers' | 'packets'} which
 * @param {string | null | undefined} ref
 * @param {() => void} redraw
 */
function known(wallet, which, ref, redraw) {
  if (!ref) return null;
  const held = wallet[which].get(ref);
  // Asked once: a preview that cannot load is not asked again on every redraw.
  if (held || wallet.previewsAsked.has(ref)) return held ?? null;
  wallet.previewsAsked.add(ref);
  const loading = which === 'transfers' ? wallet.transfer(ref) : wallet.redPacket(ref);
  loading.then(redraw, () => {});
  return null;
}

/** A card that redraws when its wallet learns something about it. */
class MoneyCard extends HTMLElement {
  setup(wallet, message, view) {
    this.wallet = wallet;
    this.message = message;
    this.view = view;
    this.refId = message.ref ?? '';
  }

  connectedCallback() {
    this.onChange = (e) => {
      if (e.detail === this.refId) this.draw();
    };
    this.wallet.addEventListener(this.eventName, this.onChange);
    // Rendered in place; the list measures the row right after inserting it.
    this.render();
    if (!this.known() && this.refId) {
      this.load().catch((error) => {
        this.failure = failureText(error);
        this.draw();
      });
    }
  }

  disconnectedCallback() {
    this.wallet.removeEventListener(this.eventName, this.onChange);
  }

  // What each kind of card says for itself.
  /** The wallet event naming this card's money ('transfer', 'red-packet'). */
  get eventName() {
    return '';
  }
  /** @returns {any} what the wallet holds of it, if anything */
  known() {
    return null;
  }
  /** @returns {Promise<unknown>} asks the wallet for it */
  load() {
    return Promise.resolve();
  }
  render() {}

  /** Redraws and has the virtual list measure the row again. */
  draw() {
    this.render();
    this.view.schedule();
  }

  button(label, onclick, extra = {}) {
    return h('button', { type: 'button', onclick, ...extra }, label);
  }

  /** The card's parts: its icon beside its lines, its buttons, the kind strip. */
  draw_(iconName, lines, buttons, kind) {
    replace(
      this,
      h('div', { class: 'money-card-main' }, h('span', { class: 'money-card-icon' }, icon(iconName)), h('span', { class: 'money-card-text' }, lines)),
      buttons ? h('div', { class: 'card-actions' }, buttons) : null,
      h('span', { class: 'error', role: 'alert' }, this.failure ?? ''),
      h('span', { class: 'card-kind' }, kind),
    );
  }
}

export class TransferCard extends MoneyCard {
  get eventName() {
    return 'transfer';
  }
  known() {
    return this.wallet.transfers.get(this.refId);
  }
  load() {
    return this.wallet.transfer(this.refId);
  }

  render() {
    const transfer = this.known();
    const me = this.view.session.me;
    const status = transfer?.status ?? 'loading';
    this.className = `money-card transfer-card${status === 'pending' || status === 'loading' ? '' : ' settled'}`;
    this.dataset.transferId = this.refId;
    this.dataset.status = status;
    const incoming = transfer ? transfer.to === me : this.message.sender !== me;
    const pendingForMe = status === 'pending' && incoming;
    const said = !transfer ? t('wallet.loading') : pendingForMe ? t('wallet.transfer_status.to_you') : t(`wallet.transfer_status.${status}`);
    const buttons = pendingForMe
      ? [
          this.button(t('wallet.accept'), () => this.decide('accept'), { class: 'primary', 'data-testid': 'transfer-accept' }),
          this.button(t('wallet.decline'), () => this.decide('decline'), { 'data-testid': 'transfer-decline' }),
        ]
      : null;
    this.draw_(
      'transfer',
      [
        h('strong', { class: 'card-amount', 'data-testid': 'transfer-amount' }, transfer ? moneyText(transfer.amount_minor, { currency: transfer.currency }) : '…'),
        transfer?.note ? h('span', { class: 'card-note' }, transfer.note) : null,
        h('span', { class: 'card-status', 'data-testid': 'transfer-status' }, said),
      ],
      buttons,
      t('chat.kind.transfer'),
    );
  }

  async decide(decision) {
    this.failure = null;
    for (const button of this.querySelectorAll('button')) button.disabled = true;
    try {
      await this.wallet.decideTransfer(this.refId, decision);
      // The card may be stale if someone else decided first: read it again.
      await this.wallet.transfer(this.refId, { fresh: true });
    } catch (error) {
      this.failure = failureText(error);
      this.wallet.transfer(this.refId, { fresh: true }).catch(() => {});
    }
    this.draw();
  }
}

export class RedPacketCard extends MoneyCard {
  get eventName() {
    return 'red-packet';
  }
  known() {
    return this.wallet.packets.get(this.refId);
  }
  load() {
    return this.wallet.redPacket(this.refId);
  }

  render() {
    const packet = this.known();
    const me = this.view.session.me;
    const mine = packet?.claims.find((claim) => claim.account_id === me);
    const status = packet?.status ?? 'loading';
    const openable = !!packet && !mine && status === 'open';
    this.className = `money-card red-packet-card${packet && !openable ? ' settled' : ''}`;
    this.dataset.redPacketId = this.refId;
    this.dataset.status = status;
    let line;
    if (!packet) line = t('wallet.loading');
    else if (mine) line = h('span', { 'data-testid': 'red-packet-mine' }, t('wallet.red_packet_you_got', { amount: moneyText(mine.amount_minor) }));
    else line = t(`wallet.red_packet_status.${status}`);
    this.draw_(
      'red-packet',
      [h('strong', { class: 'card-greeting' }, packet?.greeting || t('wallet.red_packet_default_greeting')), h('span', { class: 'card-status' }, line)],
      packet
        ? [
            openable ? this.button(t('wallet.red_packet_open'), () => this.open(), { class: 'primary open-packet', 'data-testid': 'red-packet-open' }) : null,
            this.button(t('wallet.red_packet_details'), () => this.details(), { 'data-testid': 'red-packet-details' }),
          ]
        : null,
      t('chat.kind.red_packet'),
    );
  }

  async open() {
    this.failure = null;
    for (const button of this.querySelectorAll('button')) button.disabled = true;
    try {
      await this.wallet.claim(this.refId);
      await this.wallet.redPacket(this.refId, { fresh: true });
    } catch (error) {
      this.failure = failureText(error);
    }
    this.draw();
  }

  async details() {
    let packet = this.known();
    try {
      packet = await this.wallet.redPacket(this.refId, { fresh: true });
    } catch {
      // Show what is known.
    }
    const session = this.view.session;
    const claimed = packet.claims.reduce((sum, claim) => sum + claim.amount_minor, 0);
    openDialog({
      title: t('wallet.red_packet_details_title'),
      testid: 'red-packet-dialog',
      body: (close) => [
        h('p', {}, t('wallet.red_packet_from', { name: session.name(packet.sender) })),
        h(
          'p',
          { 'data-testid': 'red-packet-summary' },
          t('wallet.red_packet_summary', {
            opened: packet.claims.length,
            count: packet.count,
            claimed: moneyText(claimed),
            total: moneyText(packet.total_minor),
          }),
        ),
        h(
          'ul',
          { class: 'claims', 'aria-label': t('wallet.red_packet_claims') },
          packet.claims.map((claim) =>
            h(
              'li',
              { dataset: { accountId: claim.account_id, amountMinor: String(claim.amount_minor) } },
              h('span', { class: 'name' }, claim.account_id === session.me ? t('chat.you') : session.name(claim.account_id)),
              h('span', { class: 'amount' }, moneyText(claim.amount_minor)),
            ),
          ),
        ),
        actions(h('button', { type: 'button', class: 'primary', onclick: close }, t('ui.close'))),
      ],
    });
  }
}

customElements.define('pz-transfer-card', TransferCard);
customElements.define('pz-red-packet-card', RedPacketCard);

/** The composer's money button: a transfer (direct chats) or a red packet. */
function moneyButton(view, wallet) {
  const button = h(
    'button',
    {
      type: 'button',
      class: 'money-button',
      'aria-label': t('wallet.send_money'),
      title: t('wallet.send_money'),
      'data-testid': 'send-money',
    },
    t('wallet.money_symbol'),
  );
  button.addEventListener('click', () => {
    const conversation = view.state.conversations.get(view.conversationId);
    if (!conversation) return;
    const choice = (testid, iconName, label, then) =>
      h('button', { type: 'button', class: `money-choice ${iconName}`, 'data-testid': testid, onclick: then }, icon(iconName), h('span', {}, label));
    openDialog({
      title: t('wallet.send_money'),
      testid: 'money-choices',
      body: (close) =>
        h(
          'div',
          { class: 'money-choices' },
          conversation.kind === 'direct'
            ? choice('choose-transfer', 'transfer', t('chat.kind.transfer'), () => (close(), transferDialog(view, wallet)))
            : null,
          choice('choose-red-packet', 'red-packet', t('chat.kind.red_packet'), () => (close(), redPacketDialog(view, wallet, conversation))),
        ),
    });
  });
  // The chat view calls `update` when the conversation changes.
  return Object.assign(button, {
    update: (conversation, gone) => {
      button.disabled = gone || !conversation;
    },
  });
}

/**
 * A dialog whose form moves money once: one MoneyAction (its idempotency
 * key) per dialog, `body(action)` making the call.
 */
function moneyDialog({ title, testid, fields, submitLabel, send }) {
  const action = new MoneyAction();
  return formDialog({
    title,
    testid,
    fields,
    submitLabel,
    submitTestid: 'money-submit',
    submit: async (close) => {
      await send(action);
      close();
    },
  });
}

/** Runs a money call under `action`'s key, settling the key by its outcome. */
async function underKey(action, body, call) {
  const key = action.keyFor(JSON.stringify({ ...body, pin: null }));
  try {
    await call(key);
    action.settle();
  } catch (error) {
    action.settle(error);
    throw error;
  }
}

async function transferDialog(view, wallet) {
  const members = await view.state.loadMembers(view.conversationId);
  const peer = [...members].find((member) => member !== view.session.me);
  const amount = amountField('wallet.amount');
  const noteId = `transfer-note-${view.conversationId}`;
  const note = h('input', { id: noteId, name: 'note', maxlength: NOTE_MAX, autocomplete: 'off' });
  const pin = pinField();
  moneyDialog({
    title: t('wallet.transfer_title', { name: view.state.conversations.get(view.conversationId)?.title ?? '' }),
    testid: 'transfer-dialog',
    fields: [amount.element, h('div', { class: 'field' }, h('label', { for: noteId }, t('wallet.note')), note), pin.element],
    submitLabel: t('wallet.transfer_send'),
    send: async (action) => {
      const body = { to: peer ?? '', amount_minor: readAmount(amount.input), pin: readPin(pin.input) };
      if (note.value.trim()) body.note = note.value.trim();
      await underKey(action, body, (key) => wallet.sendTransfer(key, body));
    },
  });
}

function redPacketDialog(view, wallet, conversation) {
  const total = amountField('wallet.red_packet_total', { name: 'total' });
  const countId = `rp-count-${view.conversationId}`;
  const count = h('input', {
    id: countId,
    name: 'count',
    type: 'number',
    inputmode: 'numeric',
    min: 1,
    max: SHARES_MAX,
    step: 1,
    required: true,
    value: String(Math.max(1, Math.min(SHARES_MAX, (conversation.member_count ?? 2) - 1 || 1))),
  });
  const modeId = `rp-mode-${view.conversationId}`;
  const mode = h(
    'select',
    { id: modeId, name: 'mode' },
    h('option', { value: 'lucky' }, t('wallet.red_packet_mode.lucky')),
    h('option', { value: 'equal' }, t('wallet.red_packet_mode.equal')),
  );
  const greetingId = `rp-greeting-${view.conversationId}`;
  const greeting = h('input', {
    id: greetingId,
    name: 'greeting',
    maxlength: GREETING_MAX,
    autocomplete: 'off',
    placeholder: t('wallet.red_packet_default_greeting'),
  });
  const pin = pinField();
  moneyDialog({
    title: t('wallet.red_packet_title'),
    testid: 'red-packet-form',
    fields: [
      total.element,
      h('div', { class: 'field' }, h('label', { for: countId }, t('wallet.red_packet_count')), count),
      h('div', { class: 'field' }, h('label', { for: modeId }, t('wallet.red_packet_mode_label')), mode),
      h('div', { class: 'field' }, h('label', { for: greetingId }, t('wallet.red_packet_greeting')), greeting),
      pin.element,
    ],
    submitLabel: t('wallet.red_packet_send'),
    send: async (action) => {
      const shares = Number(count.value);
      if (!Number.isInteger(shares) || shares < 1 || shares > SHARES_MAX) {
        throw Object.assign(new Error('count'), { catalogKey: 'wallet.red_packet_count_invalid' });
      }
      const body = {
        conversation_id: view.conversationId,
        total_minor: readAmount(total.input),
        count: shares,
        mode: mode.value,
        pin: readPin(pin.input),
      };
      if (greeting.value.trim()) body.greeting = greeting.value.trim();
      await underKey(action, body, (key) => wallet.sendRedPacket(key, body));
    },
  });
}
