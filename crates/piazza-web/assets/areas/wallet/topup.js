// Topping up, in a dialog: an amount (typed, or one of a few common ones)
// charged through the server's payment gateway (the sandbox credits at
// once). One `Idempotency-Key` per amount until a definite answer, so a
// retry after a lost answer charges once.

import { h } from '../../lib/dom.js';
import { t } from '../../lib/i18n.js';
import { toast } from '../../lib/ui.js';
import { MoneyAction } from './money.js';
import { amountField, formDialog, moneyText, readAmount } from './ui.js';

/** The common amounts offered, in minor units (50, 100, 200, 500 yuan). */
const QUICK_AMOUNTS = [5000, 10000, 20000, 50000];

/** @param {import('./state.js').WalletState} wallet */
export function openTopUp(wallet) {
  const action = new MoneyAction();
  const amount = amountField('wallet.amount', { name: 'topup' });
  const quick = h(
    'div',
    { class: 'quick-amounts', role: 'group', 'aria-label': t('wallet.top_up_quick') },
    QUICK_AMOUNTS.map((minor) =>
      h(
        'button',
        {
          type: 'button',
          class: 'chip',
          onclick: () => {
            // Whole yuan: no decimal separator to get wrong in any language.
            amount.input.value = String(minor / 100);
            amount.input.focus();
          },
        },
        moneyText(minor),
      ),
    ),
  );
  return formDialog({
    title: t('wallet.top_up_title'),
    testid: 'topup-dialog',
    fields: [h('p', { class: 'hint' }, t('wallet.top_up_hint')), amount.element, quick],
    submitLabel: t('wallet.top_up'),
    submit: async (close) => {
      const minor = readAmount(amount.input);
      const key = action.keyFor(String(minor));
      try {
        await wallet.topUp(key, minor);
        action.settle();
      } catch (failure) {
        action.settle(failure);
        throw failure;
      }
      close();
      toast(t('wallet.top_up_done', { amount: moneyText(minor) }), { tone: 'success', testid: 'wallet-toast' });
    },
  });
}
