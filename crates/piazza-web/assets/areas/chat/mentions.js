// Mentions: "@" typed in a group's composer opens a list of its members
// (and, for the group's owner and admins, "@All"), filtered by what follows the @;
// Up and Down move, Enter or Tab (or a click) inserts "@Name " and
// remembers whom it names, Escape closes it. What is sent names those
// still written in the text. In a bubble, the mentions are marked, mine
// (and @All) in the accent.

import { h } from '../../lib/dom.js';
import { t } from '../../lib/i18n.js';
import { avatar } from '../../lib/ui.js';

/** Members listed at once (the filter finds the others). */
const SHOWN_MAX = 8;
/** The at sign and what is typed after it, just before the caret. */
const TRIGGER = /(^|\s)@([^\s@]{0,32})$/u;

let pickerCount = 0;

/** The words "@All" is written with in this language. */
export function allLabel() {
  return `@${t('chat.mention_all')}`;
}

/**
 * The member picker of one composer's text area. Its keys run before the
 * composer's own (Enter sends only when the list is closed).
 */
export class MentionPicker {
  /**
   * @param {any} view the conversation (`session`, `state`, `conversationId`)
   * @param {HTMLTextAreaElement} input
   */
  constructor(view, input) {
    this.view = view;
    this.input = input;
    /** @type {{ account_id: string | null, label: string }[]} what was inserted, so the send can name them */
    this.chosen = [];
    this.options = [];
    this.active = 0;
    this.asked = new Set();
    /** Bumped by each update and close, so a late answer of the members changes nothing. */
    this.ticket = 0;
    pickerCount += 1;
    this.id = `mention-picker-${pickerCount}`;
    this.element = h('ul', { class: 'mention-picker', id: this.id, role: 'listbox', 'aria-label': t('chat.mention_pick'), 'data-testid': 'mention-picker', hidden: true });
    // A press on the list keeps the focus in the text area.
    this.element.addEventListener('pointerdown', (e) => e.preventDefault());
    input.setAttribute('aria-autocomplete', 'list');
    input.setAttribute('aria-controls', this.id);
    input.setAttribute('aria-expanded', 'false');
    const update = () => this.update().catch(() => this.close());
    input.addEventListener('input', update);
    input.addEventListener('click', update);
    input.addEventListener('keydown', (e) => this.onKey(e));
    input.addEventListener('blur', () => this.close());
    this.onPerson = () => this.open && this.render();
    view.session.addEventListener('person', this.onPerson);
  }

  get open() {
    return !this.element.hidden;
  }

  /** Gone with its conversation. */
  detach() {
    this.view.session.removeEventListener('person', this.onPerson);
  }

  /** Opens, filters or closes the list from the text before the caret. */
  async update() {
    const conversation = this.view.state.conversations.get(this.view.conversationId);
    const caret = this.input.selectionStart ?? 0;
    const match = conversation?.kind === 'group' && this.input.selectionEnd === caret ? TRIGGER.exec(this.input.value.slice(0, caret)) : null;
    if (!match) return this.close();
    const ticket = ++this.ticket;
    const members = await this.view.state.loadMembers(this.view.conversationId);
    if (ticket !== this.ticket) return;
    this.query = match[2].toLowerCase();
    this.start = caret - match[2].length - 1;
    this.members = [...members].filter((id) => id !== this.view.session.me);
    this.owner = this.view.state.manages(this.view.conversationId);
    this.active = 0;
    this.render();
  }

  /** The members that match what is typed, "@All" first for the owner. */
  matches() {
    const session = this.view.session;
    const found = [];
    if (this.owner && t('chat.mention_all').toLowerCase().startsWith(this.query)) found.push({ account_id: null, name: t('chat.mention_all') });
    for (const id of this.members ?? []) {
      const person = session.people.get(id);
      if (!person?.display_name && !this.asked.has(id)) {
        // Not a contact of mine: who they are is asked once ('person' redraws).
        this.asked.add(id);
        session.api.account(id).then((p) => session.remember(p), () => {});
      }
      const name = session.name(id);
      const words = [name, person?.username ?? ''].map((w) => w.toLowerCase());
      if (!this.query || words.some((w) => w.includes(this.query))) found.push({ account_id: id, name, username: person?.username });
    }
    return found.slice(0, SHOWN_MAX);
  }

  render() {
    this.options = this.matches();
    if (!this.options.length) return this.close();
    this.active = Math.min(this.active, this.options.length - 1);
    this.element.replaceChildren(...this.options.map((option, index) => this.optionElement(option, index)));
    this.element.hidden = false;
    this.input.setAttribute('aria-expanded', 'true');
    this.input.setAttribute('aria-activedescendant', `${this.id}-${this.active}`);
  }

  optionElement(option, index) {
    const all = option.account_id === null;
    return h(
      'li',
      {
        id: `${this.id}-${index}`,
        role: 'option',
        class: 'mention-option',
        'aria-selected': String(index === this.active),
        'data-testid': all ? 'mention-all' : 'mention-option',
        dataset: { accountId: option.account_id ?? '' },
        onclick: () => this.choose(option),
      },
      all ? h('span', { class: 'avatar avatar-sm mention-all-mark', 'aria-hidden': 'true' }, '@') : avatar(this.view.session, option.account_id, { size: 'sm' }),
      h('span', { class: 'mention-name' }, option.name),
      option.username ? h('span', { class: 'hint', translate: 'no' }, `@${option.username}`) : null,
    );
  }

  close() {
    this.ticket += 1;
    if (!this.open) return;
    this.element.hidden = true;
    this.input.setAttribute('aria-expanded', 'false');
    this.input.removeAttribute('aria-activedescendant');
  }

  /** @param {KeyboardEvent} e */
  onKey(e) {
    if (!this.open || e.isComposing) return;
    const count = this.options.length;
    const moves = { ArrowDown: 1, ArrowUp: -1 };
    if (moves[e.key]) {
      this.active = (this.active + moves[e.key] + count) % count;
      this.render();
    } else if (e.key === 'Enter' || e.key === 'Tab') {
      this.choose(this.options[this.active]);
    } else if (e.key === 'Escape') {
      this.close();
    } else {
      return;
    }
    e.preventDefault();
    e.stopImmediatePropagation();
  }

  /** Writes "@Name " in place of what was typed after the at sign. */
  choose(option) {
    const label = option.account_id === null ? allLabel() : `@${option.name}`;
    this.input.setRangeText(`${label} `, this.start, this.input.selectionStart ?? this.start, 'end');
    this.chosen.push({ account_id: option.account_id, label });
    this.close();
    this.input.focus();
  }

  /**
   * What a send of `text` mentions: the members chosen whose "@Name" is
   * still in it, and "@All" if it is; the choices are then forgotten.
   * @param {string} text
   */
  take(text) {
    const named = this.chosen.filter((c) => text.includes(c.label));
    this.chosen = [];
    const mentions = [...new Set(named.filter((c) => c.account_id).map((c) => c.account_id))];
    const all = named.some((c) => c.account_id === null);
    return { ...(mentions.length ? { mentions } : {}), ...(all ? { mention_all: true } : {}) };
  }
}

/**
 * A message's text with its mentions marked: each "@Name" of a member it
 * mentions, mine (and "@All" when it mentions everyone) as `.mention.me`.
 * @param {any} item
 * @param {any} session
 * @returns {(string | HTMLElement)[] | string}
 */
export function mentionedText(item, session) {
  const text = item.text ?? '';
  if (!item.mentions?.length && !item.mention_all) return text;
  const tokens = new Map();
  for (const id of item.mentions ?? []) {
    const person = session.people.get(id);
    for (const name of [session.name(id), person?.username]) if (name) tokens.set(`@${name}`, id === session.me);
  }
  if (item.mention_all) tokens.set(allLabel(), true);
  const pattern = new RegExp([...tokens.keys()].sort((a, b) => b.length - a.length).map(escape).join('|'), 'gu');
  const parts = [];
  let at = 0;
  for (const found of text.matchAll(pattern)) {
    parts.push(text.slice(at, found.index));
    const me = tokens.get(found[0]);
    parts.push(h('span', { class: `mention${me ? ' me' : ''}`, dataset: me ? { mentionsMe: 'true' } : {} }, found[0]));
    at = found.index + found[0].length;
  }
  parts.push(text.slice(at));
  return parts;
}

function escape(text) {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
