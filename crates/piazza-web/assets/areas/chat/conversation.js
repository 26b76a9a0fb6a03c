// <pz-conversation>: one conversation. The message list is virtualised:
// only the rows on screen (plus a margin) are in the DOM, between two
// spacers sized from measured (or estimated) row heights, so 10,000
// messages scroll like 30. Scrolling near the top loads the page before the
// oldest message held (history API, `before` = that seq).

import { h, icon, replace, shortTime } from '../../lib/dom.js';
import { formatNumber, language, t } from '../../lib/i18n.js';
import { avatar, bubble, iconButton, toast } from '../../lib/ui.js';
import { messageSummary, recallLine } from './summary.js';
import { closeMessageMenu, confirmDeleteForMe, openMessageMenu } from './message-menu.js';
import { REACTIONS_PER_MEMBER_MAX, reactionChips, reactionsKey } from './reactions.js';
import { ReplyBar, quoteBlock, quoteMark } from './reply.js';
import { MentionPicker, mentionedText } from './mentions.js';
import { canForward, mentionsMe } from './fields.js';
import { locationContent, locationDialog } from './places.js';
import { contactCardContent, contactCardDialog } from './cards.js';
import { forwardDialog } from './forward.js';
import { audioLength, canRecord, fileContent, kindOfFile, recordingBar, showProgress, startRecording, uploadLine, videoContent, voiceContent, voiceUnavailableDialog } from './media.js';
import { openConversationMenu } from './conversation-menu.js';
import { problemText } from '../auth/index.js';
import { presenceText } from '../../lib/presence.js';
/** The preview and the viewer load on first use, not before the first paint. */
const pictures = () => import('./pictures.js');

/** Rows rendered beyond the visible area, in pixels, above and below. */
const OVERSCAN_PX = 600;
/** Height assumed for a row not measured yet. */
const ROW_ESTIMATE_PX = 52;
/** Closer than this to the top loads an older page. */
const LOAD_OLDER_PX = 400;
/** Within this of the bottom counts as "at the bottom" (follows new messages). */
const STICK_PX = 48;
const TEXT_MAX = 16384;
/** The image types the server keeps (others are refused before uploading). */
const IMAGE_TYPES = new Set(['image/png', 'image/jpeg', 'image/webp', 'image/gif']);
/** The server's default cap on one image; a bigger file is refused here at once. */
const IMAGE_BYTES_MAX = 10 * 1024 * 1024;
/** Older pages read, at most, to reach a quoted message. */
const QUOTE_PAGES_MAX = 20;
/** How long a message gone to from its quote stays lit. */
const FLASH_MS = 1600;
/** "last seen 5 minutes ago" is worded again this often. */
const PRESENCE_REWORD_MS = 60 * 1000;

/**
 * What other areas add to a conversation, so this view never names them:
 * `cards` maps a message `kind` other than text to `(message, view) =>
 * element` (its content may change later; it then calls `view.schedule()`
 * so the row is measured again); `composer` holds `(view) => element`
 * makers of buttons beside Send, whose optional `update(conversation,
 * gone)` runs when the conversation changes; `bars` maps a conversation
 * `kind` to `(conversation) => element | null`, a bar over its messages;
 * `senders` maps a conversation `kind` other than a group's to
 * `(conversation, accountId, view) => string | null`, the name over a
 * message the other side sent (it may call `view.schedule()` once it
 * knows better). The wallet adds transfers and red packets here (and
 * their one-line previews to summary.js's `previewMakers`); the shops
 * add product and order cards, the bar of an order's conversation
 * linking to it, and who speaks in it (the shop, the buyer).
 */
export const chatExtensions = { cards: new Map(), composer: [], bars: new Map(), senders: new Map() };

export class Conversation extends HTMLElement {
  /** Called by the chat layout before the element is connected. */
  open(session, state, conversationId) {
    this.session = session;
    this.state = state;
    this.conversationId = conversationId;
    this.heights = new Map();
    this.rows = new Map();
    this.stick = true;
    this.dividerSeq = null;
    /** Rows whose recall the server refused: not offered again. */
    this.recallRefused = new Set();
  }

  connectedCallback() {
    this.rows = new Map();
    this.offsets = null;
    this.build();
    this.onMessages = (e) => {
      if (e.detail === this.conversationId) this.refresh();
    };
    this.onChanged = () => this.updateHeader();
    this.onIncoming = (e) => {
      const event = e.detail;
      if (event.conversation_id !== this.conversationId) return;
      this.liveSeq = event.seq;
      this.live.textContent = t('chat.new_message_from', {
        name: this.session.name(event.sender),
        text: messageSummary(event, this.session),
      });
    };
    this.state.addEventListener('messages', this.onMessages);
    this.state.addEventListener('changed', this.onChanged);
    this.session.addEventListener('person', this.onChanged);
    this.state.addEventListener('incoming', this.onIncoming);
    // A recall is told too, and takes the place of the message's announcement.
    this.onRecalled = (e) => {
      const { conversation_id: id, message } = e.detail;
      if (id !== this.conversationId) return;
      this.liveSeq = message.seq;
      this.live.textContent = recallLine(message, this.session);
    };
    this.state.addEventListener('recalled', this.onRecalled);
    // A message deleted for me leaves no announcement of it behind.
    this.onDeleted = (e) => {
      const { conversation_id: id, seq } = e.detail;
      if (id === this.conversationId && seq === this.liveSeq) this.live.textContent = '';
    };
    this.state.addEventListener('deleted', this.onDeleted);
    // An upload's progress moves its bar in place (the row stays as built).
    this.onProgress = (e) => {
      const { conversation_id: id, client_msg_id: clientMsgId, loaded, total } = e.detail;
      const row = id === this.conversationId ? this.rows.get(`c${clientMsgId}`) : null;
      if (row) showProgress(row, loaded, total);
    };
    this.state.addEventListener('progress', this.onProgress);
    // Who is typing, and the person's presence, under the title.
    this.onTyping = (e) => {
      if (e.detail === this.conversationId) this.updateSubtitle();
    };
    this.state.typing.addEventListener('typing', this.onTyping);
    this.onPresence = () => this.updateSubtitle();
    this.session.presence?.addEventListener('change', this.onPresence);
    this.presenceTimer = setInterval(this.onPresence, PRESENCE_REWORD_MS);
    // Back to a tab left on this conversation: what it shows is read now.
    this.onVisible = () => {
      if (document.visibilityState !== 'visible') return;
      this.markRead(this.lastItems ?? []);
      this.schedule();
    };
    document.addEventListener('visibilitychange', this.onVisible);
    window.addEventListener('focus', this.onVisible);
    this.onResize = new ResizeObserver(() => this.schedule());
    this.onResize.observe(this.scroller);
    this.state.viewing = this.conversationId;
    const conversation = this.state.conversations.get(this.conversationId);
    if (conversation && conversation.unread > 0) this.dividerSeq = (conversation.read_seq ?? 0) + 1;
    this.state.openLog(this.conversationId).catch((error) => {
      this.status.textContent = problemText(error);
    });
    this.refresh();
  }

  disconnectedCallback() {
    this.state.removeEventListener('messages', this.onMessages);
    this.state.removeEventListener('changed', this.onChanged);
    this.session.removeEventListener('person', this.onChanged);
    this.state.removeEventListener('incoming', this.onIncoming);
    this.state.removeEventListener('recalled', this.onRecalled);
    this.state.removeEventListener('deleted', this.onDeleted);
    this.state.removeEventListener('progress', this.onProgress);
    this.recording?.cancel();
    this.state.typing.removeEventListener('typing', this.onTyping);
    this.session.presence?.removeEventListener('change', this.onPresence);
    clearInterval(this.presenceTimer);
    clearTimeout(this.recallTimer);
    this.recallExpiry = 0;
    closeMessageMenu();
    this.picker.detach();
    document.removeEventListener('visibilitychange', this.onVisible);
    window.removeEventListener('focus', this.onVisible);
    this.onResize.disconnect();
    if (this.state.viewing === this.conversationId) this.state.viewing = null;
    for (const row of this.rows.values()) releaseImages(row);
  }

  build() {
    this.faceKey = null;
    this.barKey = null;
    const header = this.buildHeader();
    this.bar = h('div', { class: 'conversation-bar', hidden: true });
    this.topSpacer = h('div', { class: 'spacer', 'aria-hidden': 'true' });
    this.bottomSpacer = h('div', { class: 'spacer', 'aria-hidden': 'true' });
    this.rowsBox = h('div', { class: 'rows' });
    this.loadingTop = h('p', { class: 'loading-older', hidden: true }, t('chat.loading_older'));
    this.scroller = h(
      'div',
      { class: 'messages', role: 'log', 'aria-labelledby': 'conversation-title', tabindex: '0' },
      this.loadingTop,
      this.topSpacer,
      this.rowsBox,
      this.bottomSpacer,
    );
    this.scroller.addEventListener('scroll', () => this.onScroll(), { passive: true });
    // New messages are announced here; the virtual list itself changes too
    // much to be a live region.
    this.live = h('div', { class: 'sr-only', 'aria-live': 'polite', role: 'status' });
    this.status = h('p', { class: 'error', role: 'alert' });
    this.replyBar = new ReplyBar(this.session, () => this.composer.querySelector('textarea').focus());
    this.composer = this.buildComposer();
    // The member list of "@" floats over the messages, above the composer.
    const composerArea = h('div', { class: 'composer-area' }, this.picker.element, this.replyBar.element, this.composer);
    this.className = 'conversation';
    replace(this, header, this.bar, this.scroller, this.status, composerArea, this.live);
    // A file dropped on the conversation goes as a picked one (wired once: build runs on every connect).
    if (!this.dropWired) this.wireDrop();
    this.updateHeader();
    // On a desktop the composer takes the keyboard at once; a phone would
    // pop its keyboard over the messages, so it waits for a tap.
    if (matchMedia('(min-width: 800px)').matches) {
      this.composer.querySelector('textarea').focus({ preventScroll: true });
    }
  }

  wireDrop() {
    this.dropWired = true;
    this.addEventListener('dragover', (e) => {
      if (![...(e.dataTransfer?.types ?? [])].includes('Files')) return;
      e.preventDefault();
      e.dataTransfer.dropEffect = 'copy';
    });
    this.addEventListener('drop', (e) => {
      const file = e.dataTransfer?.files?.[0];
      if (!file) return;
      e.preventDefault();
      this.pickFile(file);
    });
  }

  /**
   * Back, the person (or group) with their picture opening their profile,
   * mute, the conversation's menu (Pin, Mute, Archive), group info.
   */
  buildHeader() {
    this.titleElement = h('h2', { id: 'conversation-title' });
    this.subtitle = h('span', { class: 'subtitle', 'data-testid': 'conversation-subtitle' });
    this.avatarSlot = h('span', { class: 'peer-avatar' });
    this.peerLink = h(
      'a',
      { class: 'peer', 'data-testid': 'conversation-peer' },
      this.avatarSlot,
      h('span', { class: 'heading' }, this.titleElement, this.subtitle),
    );
    this.muteButton = iconButton('bell', t('chat.mute'), {
      'data-testid': 'mute-toggle',
      'aria-pressed': 'false',
      onclick: () => {
        this.state.setMuted(this.conversationId, !this.state.isMuted(this.conversationId)).catch((error) => {
          toast(problemText(error), { tone: 'error', testid: 'settings-error' });
        });
      },
    });
    this.menuButton = iconButton('more', t('chat.conversation_menu'), {
      'data-testid': 'conversation-menu-button',
      'aria-haspopup': 'menu',
      'aria-expanded': 'false',
      onclick: () => {
        if (this.menuButton.getAttribute('aria-expanded') === 'true') closeMessageMenu();
        else openConversationMenu(this.state, this.conversationId, { opener: this.menuButton });
      },
    });
    this.infoLink = h(
      'a',
      {
        class: 'button icon-button',
        href: `#/chats/${encodeURIComponent(this.conversationId)}/info`,
        'data-testid': 'group-info',
        'aria-label': t('group.info'),
        title: t('group.info'),
      },
      icon('info'),
    );
    return h(
      'header',
      { class: 'pane-header' },
      h('a', { class: 'back', href: '#/chats', 'aria-label': t('chat.back') }, icon('back')),
      this.peerLink,
      this.muteButton,
      this.menuButton,
      this.infoLink,
    );
  }

  /**
   * The picture button, "+" (a place, a contact card), the text (with the
   * "@" member list of a group), the other areas' buttons, Send.
   */
  buildComposer() {
    const input = h('textarea', {
      id: 'composer',
      name: 'text',
      rows: 1,
      maxlength: TEXT_MAX,
      placeholder: t('chat.composer_placeholder'),
      'aria-label': t('chat.composer_label'),
    });
    // Its keys come before the composer's: Enter picks a member while the list is open.
    this.picker = new MentionPicker(this, input);
    this.extras = chatExtensions.composer.map((make) => make(this));
    const form = h(
      'form',
      { class: 'composer', 'data-testid': 'composer' },
      this.buildAttachments(input),
      input,
      this.extras,
      h('button', { type: 'submit', class: 'primary' }, t('chat.send')),
    );
    input.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        form.requestSubmit();
      } else if (e.key === 'Escape' && !this.replyBar.element.hidden) {
        e.preventDefault();
        this.replyBar.clear();
      }
    });
    // The others see that I type (never for an empty composer).
    input.addEventListener('input', () => this.state.typing.typed(this.conversationId, input.value));
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      const text = input.value.trim();
      if (!text) return;
      input.value = '';
      this.stick = true;
      this.state.typing.sent(this.conversationId);
      this.state.send(this.conversationId, text, { ...this.takeReply(), ...this.picker.take(text) });
    });
    return form;
  }

  /**
   * The attach button (and its hidden file input, taking any file: a
   * picture is previewed with its caption — a pasted one too —, a video
   * goes as a video, anything else as a file), the voice note's
   * microphone (and, where it cannot record, an audio file sent as a
   * voice note) and "+", whose menu sends a place or a contact card.
   * @param {HTMLTextAreaElement} input
   */
  buildAttachments(input) {
    const picker = h('input', {
      type: 'file',
      class: 'sr-only',
      tabindex: '-1',
      'aria-hidden': 'true',
      'data-testid': 'attach-input',
    });
    picker.addEventListener('change', () => {
      const file = picker.files?.[0];
      picker.value = '';
      if (file) this.pickFile(file);
    });
    this.attach = iconButton('attach', t('chat.attach_image'), {
      class: 'attach',
      'data-testid': 'attach-image',
      onclick: () => picker.click(),
    });
    const voiceFile = h('input', {
      type: 'file',
      accept: 'audio/*',
      class: 'sr-only',
      tabindex: '-1',
      'aria-hidden': 'true',
      'data-testid': 'voice-file-input',
    });
    voiceFile.addEventListener('change', () => {
      const file = voiceFile.files?.[0];
      voiceFile.value = '';
      if (file) this.sendVoiceFile(file);
    });
    this.pickVoiceFile = () => voiceFile.click();
    this.voiceButton = iconButton('mic', t('chat.voice_record'), {
      class: 'attach',
      'data-testid': 'voice-record',
      onclick: () => this.record(),
    });
    // A pasted picture (a screenshot) is previewed like a picked one; another pasted file is sent as one.
    input.addEventListener('paste', (e) => {
      const item = [...(e.clipboardData?.items ?? [])].find((i) => i.kind === 'file');
      const file = item?.getAsFile();
      if (!file) return;
      e.preventDefault();
      this.pickFile(file);
    });
    const more = iconButton('plus', t('chat.attach_more'), {
      class: 'attach',
      'data-testid': 'attach-more',
      'aria-haspopup': 'menu',
      'aria-expanded': 'false',
      onclick: () => {
        if (more.getAttribute('aria-expanded') === 'true') return closeMessageMenu();
        const id = this.conversationId;
        openMessageMenu({
          opener: more,
          label: t('chat.attach_more'),
          testid: 'attach-menu',
          items: [
            { label: t('chat.location'), icon: 'place', testid: 'attach-location', action: () => locationDialog((place) => this.state.sendLocation(id, place, this.takeReply())) },
            { label: t('chat.kind.contact_card'), icon: 'card', testid: 'attach-card', action: () => contactCardDialog(this.session, (person) => this.state.sendCard(id, person, this.takeReply())) },
          ],
        });
      },
    });
    this.attachMore = more;
    return [picker, voiceFile, this.attach, this.voiceButton, more];
  }

  /**
   * A file picked from disk, pasted or dropped on the conversation: a
   * picture is previewed, a video or any other file sent at once.
   */
  pickFile(file) {
    if (this.composer.querySelector('textarea').disabled) return;
    if (IMAGE_TYPES.has(file.type)) {
      this.pickImage(file);
      return;
    }
    this.status.textContent = '';
    this.stick = true;
    this.state.sendMedia(this.conversationId, file, { kind: kindOfFile(file), extra: this.takeReply() });
  }

  /** An audio file sent as a voice note (where recording is not possible), with its length. */
  async sendVoiceFile(file) {
    const durationMs = await audioLength(file);
    this.stick = true;
    this.state.sendMedia(this.conversationId, file, { kind: 'voice', durationMs, extra: this.takeReply() });
  }

  /**
   * The microphone button: records a voice note (the microphone is asked
   * for only now), the composer giving its place to the recording's bar
   * until Send or Cancel. Where recording is not possible (the page's
   * policy, a refusal, no microphone) a dialog says why and offers an
   * audio file instead.
   */
  async record() {
    if (this.recording) return;
    if (!canRecord()) {
      const supported = !!navigator.mediaDevices?.getUserMedia && typeof MediaRecorder !== 'undefined';
      voiceUnavailableDialog(supported ? 'policy' : 'unsupported', this.pickVoiceFile);
      return;
    }
    this.voiceButton.disabled = true;
    let recording;
    try {
      recording = await startRecording();
    } catch (error) {
      this.voiceButton.disabled = false;
      const name = error?.name;
      const reason = name === 'NotFoundError' || name === 'OverconstrainedError' ? 'missing' : name === 'NotAllowedError' || name === 'SecurityError' ? 'denied' : 'unsupported';
      voiceUnavailableDialog(reason, this.pickVoiceFile);
      return;
    }
    if (!this.isConnected) {
      recording.cancel();
      return;
    }
    const id = this.conversationId;
    const extra = this.takeReply();
    const bar = recordingBar(recording, {
      send: ({ blob, durationMs }) => {
        const ext = blob.type.includes('ogg') ? 'ogg' : blob.type.includes('mp4') ? 'm4a' : 'webm';
        this.stick = true;
        this.state.sendMedia(id, blob, { kind: 'voice', durationMs, name: `voice.${ext}`, extra });
      },
      done: () => {
        this.recording = null;
        this.voiceButton.disabled = false;
        this.composer.hidden = false;
        if (this.isConnected) this.voiceButton.focus({ preventScroll: true });
      },
    });
    this.recording = bar;
    this.composer.hidden = true;
    this.composer.after(bar.element);
    bar.focus();
  }

  /** The reply being written, as a send names it (`reply_to`), and the bar closed. */
  takeReply() {
    const messageId = this.replyBar.messageId;
    this.replyBar.clear();
    this.stick = true;
    return messageId ? { reply_to: messageId } : {};
  }

  /** Answers `item`: the bar over the composer names it, the composer takes the focus. */
  replyTo(item) {
    this.replyBar.set(item);
    this.composer.querySelector('textarea').focus();
  }

  updateHeader() {
    const conversation = this.state.conversations.get(this.conversationId);
    // Removed from a group (or it never was ours): say so and stop sending.
    const gone = this.state.loaded && !conversation;
    this.composer.querySelector('textarea').disabled = gone;
    /** @type {HTMLButtonElement} */ (this.composer.querySelector('button[type=submit]')).disabled = gone;
    this.attach.disabled = gone;
    this.attachMore.disabled = gone;
    this.voiceButton.disabled = gone || !!this.recording;
    this.menuButton.disabled = gone;
    for (const extra of this.extras) extra.update?.(conversation, gone);
    this.status.textContent = gone ? t('chat.not_member') : '';
    this.updateSubtitle();
    if (!conversation) {
      this.titleElement.textContent = t('chat.title');
      return;
    }
    this.updateBar(conversation);
    const title = this.state.title(this.conversationId);
    this.titleElement.textContent = title;
    // An order's conversation is neither: no person's profile, no group's page.
    const group = conversation.kind === 'group';
    const direct = conversation.kind === 'direct';
    this.infoLink.hidden = !group;
    const face = this.state.face(this.conversationId);
    const faceKey = `${face.account_id ?? ''}|${face.avatar_media_id ?? ''}|${title}`;
    if (this.faceKey !== faceKey) {
      this.faceKey = faceKey;
      replace(this.avatarSlot, avatar(this.session, { ...face, title }, { size: 'sm' }));
    }
    const profile = group
      ? `#/chats/${encodeURIComponent(this.conversationId)}/info`
      : face.account_id
        ? `#/contacts/${encodeURIComponent(face.account_id)}`
        : null;
    if (profile) this.peerLink.setAttribute('href', profile);
    else this.peerLink.removeAttribute('href');
    if (group || direct) this.peerLink.setAttribute('aria-label', group ? t('group.info') : t('chat.open_profile', { name: title }));
    else this.peerLink.removeAttribute('aria-label');
    if (direct && !face.account_id && !this.peerAsked) {
      // A new device may not know the peer yet: the log tells.
      this.peerAsked = true;
      this.state.loadPeer(this.conversationId).then((peer) => peer && this.updateHeader(), () => {});
    }
    const muted = this.state.isMuted(this.conversationId);
    this.muteButton.setAttribute('aria-pressed', String(muted));
    const muteLabel = muted ? t('chat.unmute') : t('chat.mute');
    this.muteButton.setAttribute('aria-label', muteLabel);
    this.muteButton.title = muteLabel;
    replace(this.muteButton, icon(muted ? 'bell-off' : 'bell'));
  }

  /**
   * The bar the area owning this kind of conversation puts over its
   * messages (an order's: a link to the order), made again only when the
   * conversation's kind or title changes.
   */
  updateBar(conversation) {
    const key = `${conversation.kind}|${conversation.title ?? ''}`;
    if (this.barKey === key) return;
    this.barKey = key;
    const made = chatExtensions.bars.get(conversation.kind)?.(conversation) ?? null;
    replace(this.bar, made);
    this.bar.hidden = !made;
  }

  /**
   * Under the title: who is typing while someone is, else a group's (or
   * an order's) member count, or whether the person of a direct chat is
   * online or when they were last seen (nothing when they hide it).
   */
  updateSubtitle() {
    const conversation = this.state.conversations.get(this.conversationId);
    if (!conversation) {
      this.subtitle.textContent = '';
      return;
    }
    const typing = this.state.typing.text(this.conversationId);
    const direct = conversation.kind === 'direct';
    const seen = direct ? this.session.presence?.of(this.state.peerOf(this.conversationId)) : null;
    this.subtitle.textContent = typing || (direct ? presenceText(seen) : t('group.member_count', { count: conversation.member_count }));
    this.subtitle.classList.toggle('typing', !!typing);
    this.subtitle.dataset.typing = String(!!typing);
    this.subtitle.dataset.presence = !seen ? '' : seen.online ? 'online' : 'last-seen';
  }

  refresh() {
    this.schedule();
  }

  /**
   * A picture picked or pasted: shown with a caption field (holding what
   * the composer held) and sent only from there.
   */
  pickImage(file) {
    if (!IMAGE_TYPES.has(file.type)) {
      this.status.textContent = t('chat.image_unsupported');
      return;
    }
    if (file.size > IMAGE_BYTES_MAX) {
      this.status.textContent = t('chat.image_too_big');
      return;
    }
    this.status.textContent = '';
    const input = this.composer.querySelector('textarea');
    pictures().then(({ previewPicture }) =>
      previewPicture(file, input.value.trim().slice(0, TEXT_MAX), {
        captionMax: TEXT_MAX,
        send: (caption) => {
          input.value = '';
          this.stick = true;
          this.state.sendImage(this.conversationId, file, caption, { ...this.takeReply(), ...this.picker.take(caption) });
        },
      }),
    );
  }

  /**
   * The name over a message from the other side of a conversation that
   * is neither a group nor a direct chat, if its area names one.
   * @param {any} conversation
   * @param {string} accountId
   */
  senderOf(conversation, accountId) {
    const name = conversation && chatExtensions.senders.get(conversation.kind);
    return name ? name(conversation, accountId, this) : null;
  }

  /** The viewer, opened on one picture of this conversation. */
  view(item) {
    const shown = this.state
      .log(this.conversationId)
      .all()
      .filter((m) => m.kind === 'image' && (m.ref || m.file));
    const index = Math.max(0, shown.findIndex((m) => this.key(m) === this.key(item)));
    const load = (m) => (m.file ? Promise.resolve(m.file) : this.session.api.media(m.ref));
    pictures().then(({ openViewer }) => openViewer(shown, index, load));
  }

  schedule() {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = null;
      this.renderWindow();
    });
  }

  onScroll() {
    const { scrollTop, scrollHeight, clientHeight } = this.scroller;
    this.stick = scrollHeight - scrollTop - clientHeight < STICK_PX;
    if (scrollTop < LOAD_OLDER_PX) this.loadOlder();
    this.schedule();
  }

  async loadOlder() {
    const log = this.state.log(this.conversationId);
    if (!log.loaded || !log.hasMore || log.loading) return;
    this.loadingTop.hidden = false;
    try {
      await this.state.loadOlder(this.conversationId);
    } finally {
      this.loadingTop.hidden = true;
    }
    this.renderWindow();
  }

  key(message) {
    return message.seq ? `s${message.seq}` : `c${message.client_msg_id}`;
  }

  renderWindow() {
    if (!this.isConnected) return;
    const items = this.state.log(this.conversationId).all();
    const scroller = this.scroller;
    // The anchor: the first row at least partly visible, and where it sits.
    let anchor = null;
    if (!this.stick && this.offsets) {
      const index = this.indexAt(scroller.scrollTop);
      const item = this.lastItems?.[index];
      if (item) anchor = { key: this.key(item), delta: this.offsets[index] - scroller.scrollTop };
    }
    for (let pass = 0; pass < 3; pass += 1) {
      this.layout(items);
      let top = scroller.scrollTop;
      if (this.stick) {
        top = Math.max(0, this.offsets[items.length] - scroller.clientHeight);
      } else if (anchor) {
        const index = items.findIndex((item) => this.key(item) === anchor.key);
        if (index >= 0) top = this.offsets[index] - anchor.delta;
      }
      const changed = this.paint(items, top);
      if (this.stick) scroller.scrollTop = scroller.scrollHeight;
      else if (anchor) scroller.scrollTop = top;
      if (!changed) break;
    }
    this.lastItems = items;
    this.markRead(items);
    if (scroller.scrollTop < LOAD_OLDER_PX && scroller.scrollHeight > 0) this.loadOlder();
  }

  /** Cumulative offsets of every row from its measured or estimated height. */
  layout(items) {
    const offsets = new Float64Array(items.length + 1);
    for (let i = 0; i < items.length; i += 1) {
      offsets[i + 1] = offsets[i] + (this.heights.get(this.key(items[i])) ?? ROW_ESTIMATE_PX);
    }
    this.offsets = offsets;
  }

  /** The index of the row covering `y` (binary search over the offsets). */
  indexAt(y) {
    const offsets = this.offsets;
    let low = 0;
    let high = offsets.length - 2;
    while (low < high) {
      const middle = (low + high + 1) >> 1;
      if (offsets[middle] <= y) low = middle;
      else high = middle - 1;
    }
    return Math.max(0, low);
  }

  /** Puts the rows around `top` in the DOM; true if a height was new. */
  paint(items, top) {
    const total = this.offsets[items.length];
    const height = this.scroller.clientHeight || 600;
    const first = items.length ? this.indexAt(Math.max(0, top - OVERSCAN_PX)) : 0;
    const last = items.length ? this.indexAt(top + height + OVERSCAN_PX) + 1 : 0;
    this.topSpacer.style.height = `${this.offsets[first]}px`;
    this.bottomSpacer.style.height = `${total - this.offsets[last]}px`;
    const wanted = new Set();
    let previous = null;
    for (let i = first; i < last; i += 1) {
      const item = items[i];
      const key = this.key(item);
      wanted.add(key);
      let row = this.rows.get(key);
      if (!row || row.dataset.marks !== this.marks(item)) {
        const fresh = this.row(item);
        if (row) this.swapRow(row, fresh);
        row = fresh;
        this.rows.set(key, row);
      }
      const expected = previous ? previous.nextSibling : this.rowsBox.firstChild;
      if (expected !== row) {
        if (previous) previous.after(row);
        else this.rowsBox.prepend(row);
      }
      previous = row;
    }
    for (const [key, row] of this.rows) {
      if (!wanted.has(key)) {
        // A row leaving with the focus (a message just deleted) gives it to the list.
        const focused = row.contains(document.activeElement);
        releaseImages(row);
        row.remove();
        this.rows.delete(key);
        if (focused) this.scroller.focus({ preventScroll: true });
      }
    }
    let changed = false;
    for (const key of wanted) {
      const measured = this.rows.get(key).offsetHeight;
      if (measured && this.heights.get(key) !== measured) {
        this.heights.set(key, measured);
        changed = true;
      }
    }
    return changed;
  }

  /**
   * A row built again in place: its pictures given back, and the focus,
   * if it was inside, kept on the same reaction chip (while it stays),
   * else on its "…" button, else on the list.
   */
  swapRow(row, fresh) {
    const active = /** @type {HTMLElement} */ (document.activeElement);
    const focused = row.contains(active);
    releaseImages(row);
    row.replaceWith(fresh);
    if (!focused) return;
    const chip = active.classList.contains('reaction-chip')
      ? [...fresh.querySelectorAll('.reaction-chip')].find((c) => /** @type {HTMLElement} */ (c).dataset.emoji === active.dataset.emoji)
      : null;
    /** @type {HTMLElement} */ (chip ?? fresh.querySelector('.msg-actions') ?? this.scroller).focus({ preventScroll: true });
  }

  /**
   * What a row shows that changes after it is built (the send's state,
   * which also decides whether it has a menu, the read mark, a recall,
   * whether recalling is offered, the reactions and who made them, what
   * a reply's quote shows): a row whose marks differ is built again.
   */
  marks(item) {
    const recall = this.recallOffered(item) ? 'offer' : '';
    return `${item.status ?? 'sent'}|${this.readMark(item) ?? ''}|${item.recalled ? 'recalled' : recall}|${reactionsKey(item)}|${quoteMark(this, item)}|${this.senderMark(item)}`;
  }

  /** An area's name over the other side's message, once it knows one (the row is made again then). */
  senderMark(item) {
    const conversation = this.state.conversations.get(this.conversationId);
    if (item.sender === this.session.me || !chatExtensions.senders.has(conversation?.kind)) return '';
    return this.senderOf(conversation, item.sender) ?? '';
  }

  /**
   * Whether this message's menu offers Recall now (the state's hint: the
   * server decides). Until when is remembered, so the rows are looked at
   * again when the first offer runs out and its button goes.
   */
  recallOffered(item) {
    const deadline = this.state.recallDeadline(this.conversationId, item);
    if (deadline <= Date.now() || this.recallRefused.has(this.key(item))) return false;
    if (!this.recallExpiry || deadline < this.recallExpiry) {
      clearTimeout(this.recallTimer);
      this.recallExpiry = deadline;
      this.recallTimer = setTimeout(() => {
        this.recallExpiry = 0;
        this.schedule();
      }, deadline - Date.now() + 50);
    }
    return true;
  }

  /**
   * 'true' on my stored messages the peer of a direct chat has read, else
   * undefined (as the row's dataset reads when unset).
   */
  readMark(item) {
    const read = item.sender === this.session.me && item.status === 'sent' && this.state.readByPeer(this.conversationId, item.seq);
    return read ? 'true' : undefined;
  }

  row(item) {
    if (item.recalled) return this.recalledRow(item);
    const mine = item.sender === this.session.me;
    const conversation = this.state.conversations.get(this.conversationId);
    const group = conversation?.kind === 'group';
    const status = item.status ?? 'sent';
    // The row keeps the send's own state (sending, sent, failed); the
    // bubble's mark shows "read" once the peer has read it.
    const read = this.readMark(item);
    const retry =
      mine && status === 'failed'
        ? h(
            'button',
            {
              type: 'button',
              class: 'retry',
              onclick: () => this.state.retry(this.conversationId, item.client_msg_id),
            },
            t('chat.retry'),
          )
        : null;
    const actions = this.state.canDelete(item) ? this.actionsButton(item) : null;
    const forwarded = item.forward_of
      ? h('span', { class: 'forwarded', 'data-testid': 'forwarded' }, icon('share'), t('chat.forwarded'))
      : null;
    // Media on its way: its upload's progress, or why it failed, and Cancel.
    const uploading = mine && item.file && ((status === 'sending' && !item.ref) || status === 'failed');
    const upload = uploading ? uploadLine(item, () => this.state.cancelSend(this.conversationId, item.client_msg_id)) : null;
    const body = bubble({
      mine,
      status: read ? 'read' : status,
      sender: mine ? null : group ? this.session.name(item.sender) : this.senderOf(conversation, item.sender),
      content: [forwarded, quoteBlock(this, item), this.content(item), upload],
      time: h('time', { datetime: item.sent_at }, shortTime(item.sent_at, language())),
      extra: [retry, actions],
    });
    this.menuOnContext(body, item, actions);
    const chips = reactionChips(item, this.session, (emoji) => this.react(item, emoji), { indent: group && !mine });
    // A message naming me (or everyone) stands out, as in the chat list's "@".
    const mentioned = !mine && mentionsMe(item, this.session.me) ? { mentionsMe: 'true' } : {};
    return h(
      'div',
      {
        class: `msg ${mine ? 'mine' : 'theirs'}`,
        dataset: { seq: item.seq ?? '', status, clientMsgId: item.client_msg_id, marks: this.marks(item), ...(read ? { read } : {}), ...mentioned },
      },
      this.divider(item),
      group && !mine ? h('div', { class: 'msg-line' }, avatar(this.session, item.sender, { size: 'sm' }), body) : body,
      chips,
    );
  }

  /** "New messages" over the first unread message, when the conversation opened with some. */
  divider(item) {
    if (!this.dividerSeq || item.seq !== this.dividerSeq) return null;
    return h('p', { class: 'divider', role: 'separator' }, t('chat.new_messages'));
  }

  /**
   * A recalled message: a centred line in its place, no bubble, no
   * picture, no caption; its "…" (and a right click) can still delete it.
   */
  recalledRow(item) {
    const actions = this.state.canDelete(item) ? this.actionsButton(item) : null;
    const line = h(
      'div',
      { class: 'system-row' },
      h('p', { class: 'system-line', 'data-testid': 'recalled-line' }, recallLine(item, this.session)),
      actions,
    );
    this.menuOnContext(line, item, actions);
    return h(
      'div',
      {
        class: 'msg recalled',
        dataset: { seq: item.seq ?? '', status: item.status ?? 'sent', clientMsgId: item.client_msg_id, marks: this.marks(item), recalled: 'true' },
      },
      this.divider(item),
      line,
    );
  }

  /** A right click (or a phone's long press) on `target` opens the same menu as its "…". */
  menuOnContext(target, item, actions) {
    if (!actions) return;
    target.addEventListener('contextmenu', (e) => {
      e.preventDefault();
      this.openActions(item, actions, { x: e.clientX, y: e.clientY });
    });
  }

  /** The bubble's "…": the message's menu (what WeChat's long press opens). */
  actionsButton(item) {
    const button = iconButton('more', t('chat.message_actions'), {
      class: 'msg-actions',
      'data-testid': 'message-actions',
      'aria-haspopup': 'menu',
      'aria-expanded': 'false',
      onclick: () => {
        if (button.getAttribute('aria-expanded') === 'true') closeMessageMenu();
        else this.openActions(item, button);
      },
    });
    return button;
  }

  /**
   * The menu of a stored message: the quick reactions (not on a recalled
   * one), Reply and Forward (not on a recalled one; Forward not on money,
   * whose content cannot be carried), Recall where it is offered, then
   * Delete (for me).
   */
  openActions(item, opener, at = null) {
    const live = this.state.canReact(item);
    const member = this.state.conversations.has(this.conversationId);
    const items = [
      live && member ? { label: t('chat.reply'), icon: 'reply', testid: 'reply-message', action: () => this.replyTo(this.current(item)) } : null,
      canForward(item) ? { label: t('chat.forward'), icon: 'share', testid: 'forward-message', action: () => forwardDialog(this.session, this.state, this.conversationId, this.current(item)) } : null,
      this.recallOffered(item) ? { label: t('chat.recall'), icon: 'undo', testid: 'recall-message', action: () => this.recall(item) } : null,
      { label: t('chat.delete'), icon: 'trash', testid: 'delete-message', action: () => this.deleteForMe(item, opener) },
    ];
    const reactions = live
      ? { chosen: (emoji) => this.state.reactedWith(this.current(item), emoji), pick: (emoji) => this.react(item, emoji) }
      : null;
    openMessageMenu({ opener, at, reactions, items: items.filter(Boolean) });
  }

  /** `item` as the log holds it now (its reactions may have changed since its row was built). */
  current(item) {
    return this.state.log(this.conversationId).items.find((m) => m.seq === item.seq) ?? item;
  }

  /**
   * Reacts with `emoji`, or takes mine back if I had it; a refusal (a
   * recalled message, too many reactions) is said in a toast.
   */
  async react(item, emoji) {
    try {
      await this.state.toggleReaction(this.conversationId, this.current(item), emoji);
    } catch (error) {
      const text = error?.code === 'limit_reached' ? t('chat.reaction_limit', { max: formatNumber(REACTIONS_PER_MEMBER_MAX) }) : problemText(error);
      toast(text, { tone: 'error', testid: 'reaction-error' });
    }
  }

  /** Recalls at once, as WeChat does; a refusal (too late, not allowed) is said in a toast. */
  async recall(item) {
    try {
      await this.state.recall(this.conversationId, item);
    } catch (error) {
      toast(problemText(error), { tone: 'error', testid: 'recall-error' });
      if (error?.code === 'recall_too_late' || error?.code === 'recall_not_allowed') {
        this.recallRefused.add(this.key(item));
        this.schedule();
      }
    }
  }

  /**
   * Deletes the message for me once confirmed (the others keep it); the
   * focus waits on its "…" meanwhile and goes to the list with the row.
   * A refusal is said in a toast.
   */
  async deleteForMe(item, opener) {
    opener?.focus({ preventScroll: true });
    if (!(await confirmDeleteForMe())) return;
    try {
      await this.state.deleteForMe(this.conversationId, item);
      this.live.textContent = t('chat.deleted');
    } catch (error) {
      toast(problemText(error), { tone: 'error', testid: 'delete-error' });
    }
  }

  /**
   * A message's body: a picture, a place, a contact card, an area's card
   * for its kind, else its text (its mentions marked).
   */
  content(item) {
    if (item.kind === 'image') return this.image(item);
    const media = item.ref || item.file;
    if (item.kind === 'file' && media) return fileContent(item, this);
    if (item.kind === 'voice' && media) return voiceContent(item, this);
    if (item.kind === 'video' && media) return videoContent(item, this);
    if (item.kind === 'location' && item.location) return locationContent(item);
    if (item.kind === 'contact_card' && item.card) return contactCardContent(item, this);
    const special = item.kind && item.kind !== 'text';
    const card = special ? chatExtensions.cards.get(item.kind)?.(item, this) : null;
    if (card) return card;
    return h('p', { class: 'text' }, special ? messageSummary(item, this.session) : mentionedText(item, this.session));
  }

  /**
   * Goes to a message (a quote's click, a search result; `seq` when
   * known): older pages are read until it is held (a few at most), then
   * it is scrolled to the middle and lit for a moment. One that cannot be
   * reached is said in a toast.
   */
  async showMessage(messageId, seq = null) {
    const log = this.state.log(this.conversationId);
    const find = () => log.all().findIndex((m) => m.message_id === messageId);
    const targetSeq = seq ?? this.state.quoted(this.conversationId, messageId).message?.seq;
    try {
      for (let pages = 0; find() < 0 && log.hasMore && pages < QUOTE_PAGES_MAX; pages += 1) {
        if (!targetSeq || (log.oldestSeq() ?? Infinity) <= targetSeq) break;
        await log.loading;
        await this.state.loadOlder(this.conversationId);
      }
    } catch (error) {
      toast(problemText(error), { tone: 'error', testid: 'quote-error' });
      return;
    }
    const index = find();
    if (index < 0 || !this.isConnected) {
      toast(t('chat.quote_unavailable'), { testid: 'quote-error' });
      return;
    }
    const item = log.all()[index];
    this.stick = false;
    this.layout(log.all());
    this.scroller.scrollTop = Math.max(0, this.offsets[index] - this.scroller.clientHeight / 3);
    this.renderWindow();
    const row = this.rows.get(this.key(item));
    if (!row) return;
    row.scrollIntoView({ block: 'center' });
    row.classList.add('flash');
    setTimeout(() => row.classList.remove('flash'), FLASH_MS);
    row.querySelector('.msg-actions')?.focus({ preventScroll: true });
  }

  /**
   * An image message: its caption as alt text (or a catalog string), the
   * picture fetched with the token into a blob: URL only now that its row
   * is in the DOM, and given back by `releaseImages` when the row leaves.
   * A send still pending shows the local file.
   */
  image(item) {
    const img = h('img', { class: 'thumb', alt: item.text || t('chat.image_alt'), 'data-testid': 'chat-image' });
    img.addEventListener('load', () => this.schedule());
    const show = (blob) => {
      if (releasedImages.has(img)) return;
      img.src = URL.createObjectURL(blob);
    };
    if (item.file) show(item.file);
    else if (item.ref) {
      // The bubble shows the preview (at most 1280 px); the viewer, the picture whole.
      this.session.api
        .preview(item.ref)
        .catch(() => this.session.api.media(item.ref))
        .then(show)
        .catch(() => {
          img.alt = t('chat.image_unavailable');
          img.classList.add('broken');
        });
    }
    const open = h(
      'button',
      { type: 'button', class: 'thumb-button', 'aria-label': t('chat.view_image'), onclick: () => this.view(item) },
      img,
    );
    return h(
      'figure',
      { class: 'image' },
      open,
      item.text ? h('figcaption', { class: 'text' }, mentionedText(item, this.session)) : null,
    );
  }

  /**
   * Everything on screen is read once the newest message is in view, and
   * only while the page is visible: a hidden tab leaves what arrives
   * unread (and counted in the title) until it is looked at again.
   */
  markRead(items) {
    if (!this.stick || document.visibilityState !== 'visible') return;
    for (let i = items.length - 1; i >= 0; i -= 1) {
      if (items[i].seq) {
        this.state.markRead(this.conversationId, items[i].seq);
        return;
      }
    }
  }
}

/** Images whose row left: a picture arriving late is not shown (nor its URL kept). */
const releasedImages = new WeakSet();

/** Revokes the blob: URLs of a row's images and videos (and stops any still loading). */
function releaseImages(row) {
  for (const img of row.querySelectorAll('img.thumb, video')) {
    releasedImages.add(img);
    if (img.src.startsWith('blob:')) URL.revokeObjectURL(img.src);
  }
}

customElements.define('pz-conversation', Conversation);
