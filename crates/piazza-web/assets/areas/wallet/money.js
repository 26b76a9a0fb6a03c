// Money from the keyboard. Amounts are integer minor units (fen) end to
// end; they are parsed as strings, never through floating point, so
// 0.1 + 0.2 never shows up as a balance (and shown by `formatMoney` in
// lib/i18n.js, for the language in use).

import { randomUuid } from '../../lib/dom.js';

/** The wallet's one currency, and its decimal places. */
export const CURRENCY = 'CNY';
export const DECIMALS = 2;
const SCALE = 10 ** DECIMALS;
/** Digits before the point a user may type: keeps every value an exact integer. */
const WHOLE_DIGITS_MAX = 12;

/**
 * "12.34" (or "12,34", "12", "12.5") → { minor: 1234 }; otherwise
 * { error } with a catalog key: more decimals than the currency has, or
 * anything that is not a plain positive amount.
 */
export function parseMajor(text) {
  const trimmed = String(text ?? '').trim();
  const match = /^(\d+)(?:[.,](\d*))?$/.exec(trimmed);
  if (!match) return { error: 'wallet.amount_invalid' };
  const [, whole, fraction = ''] = match;
  if (fraction.length > DECIMALS) return { error: 'wallet.amount_too_precise' };
  const digits = whole.replace(/^0+(?=\d)/, '');
  if (digits.length > WHOLE_DIGITS_MAX) return { error: 'wallet.amount_too_large' };
  const minor = Number(digits) * SCALE + Number(fraction.padEnd(DECIMALS, '0') || '0');
  if (minor <= 0) return { error: 'wallet.amount_invalid' };
  return { minor };
}

/**
 * One user action that moves money, and its `Idempotency-Key`. The key is
 * made for the first attempt and kept while the same request (same
 * fingerprint) is retried after an unknown outcome — no answer, a timeout,
 * a 5xx — so the money moves at most once. A definite answer (success or a
 * 4xx refusal) ends the action: the next attempt is a new one.
 */
export class MoneyAction {
  constructor() {
    this.key = null;
    this.fingerprint = null;
  }

  keyFor(fingerprint) {
    if (!this.key || fingerprint !== this.fingerprint) {
      this.key = randomUuid();
      this.fingerprint = fingerprint;
    }
    return this.key;
  }

  /** Call with the error (or nothing on success) once an attempt ends. */
  settle(error = null) {
    const unknownOutcome = error && (error.status === 0 || error.status >= 500);
    if (!unknownOutcome) this.key = null;
  }
}

/** A PIN is exactly six digits. */
export function isPin(text) {
  return /^\d{6}$/.test(String(text ?? ''));
}
