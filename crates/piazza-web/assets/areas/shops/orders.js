// Orders: the lists (mine as a buyer, a shop's for its staff), filtered
// by status as the shopping apps' tabs are, and an order's page — its
// state and what it waits for, its steps with their times, items,
// address, shipment, the money held in escrow and refunded, its refund
// requests, and the moves the viewer may make: the buyer pays (the PIN,
// with `pay_by` counting down), cancels, confirms receipt, asks for a
// refund; the shop ships, cancels, approves or rejects a refund; either
// opens the order's own conversation from it. Every
// `order.updated` of the order reads it again, so both sides see a move
// the moment it is made.

import { h, icon, replace } from '../../lib/dom.js';
import { formatDateTime, formatNumber, has, t } from '../../lib/i18n.js';
import { emptyState, listRow, toast } from '../../lib/ui.js';
import { errorLine } from '../auth/index.js';
import { walletOf } from '../wallet/index.js';
import { amountField, formDialog, pinPaymentDialog, readAmount } from '../wallet/ui.js';
import { backLink } from './catalog.js';
import { shopsOf } from './state.js';
import { addressBlock, confirmMove, countdown, itemsSummary, majorText, moneyText, pagedList, productPicture, shopProblem, statusTag } from './ui.js';

const id = encodeURIComponent;
/** The statuses a list filters on, '' for all, in the order of an order's life. */
export const STATUS_FILTERS = ['', 'pending_payment', 'paid', 'shipped', 'completed', 'cancelled'];
const CARRIER_MAX = 64;
const TRACKING_MAX = 128;
const REASON_MAX = 500;

/** Runs `listener` for each order event (null: after a gap, anything may have changed) while `element` is on the page. */
export function onOrders(shops, element, listener) {
  const handler = (/** @type {CustomEvent} */ e) => {
    if (!element.isConnected) return shops.removeEventListener('order', handler);
    listener(e.detail);
  };
  shops.addEventListener('order', handler);
}

/**
 * Who bought, on a shop's row: my name for them when I know them (a
 * contact), else the name on the parcel (a shop may not read a stranger's
 * profile).
 */
function buyerLabel(session, order) {
  const known = session.people.get(order.buyer);
  return known ? session.name(order.buyer) : order.shipping_address?.name || t('shops.a_buyer');
}

export function orderRow(session, order) {
  const buyer = order.your_role === 'buyer';
  return listRow({
    href: `#/order/${id(order.order_id)}`,
    avatar: productPicture(session, order.items[0]?.product_id ?? '', 'shop-logo'),
    title: buyer ? order.shop.name : itemsSummary(order.items),
    subtitle: buyer ? itemsSummary(order.items) : `${buyerLabel(session, order)} · ${formatDateTime(order.placed_at)}`,
    meta: buyer ? formatDateTime(order.placed_at) : '',
    trailing: h('span', { class: 'order-row-end' }, h('strong', { class: 'order-row-total' }, moneyText(order.total_minor)), statusTag(order.status)),
    testid: 'order-row',
    dataset: { orderId: order.order_id, status: order.status },
  }).item;
}

/**
 * Orders of one side, a page at a time, with the status tabs; read again
 * on every order event. `role` is 'buyer' or 'shop' (with `shopId`).
 * @param {any} ctx
 * @param {{ role: string, shopId?: string | null, error: HTMLElement }} options
 */
export function ordersList(ctx, { role, shopId = null, error }) {
  const { session } = ctx;
  const shops = shopsOf(session);
  let status = '';
  const list = h('ul', { class: 'rows-list orders-list', 'data-testid': role === 'buyer' ? 'my-orders' : 'shop-orders' });
  const paged = pagedList({
    list,
    testid: 'more-orders',
    load: (cursor) => shops.orderPage({ role, shopId, status, cursor }).then((page) => ({ items: page.orders, next: page.next_cursor })),
    render: (order) => orderRow(session, order),
    empty: () => emptyState({ iconName: 'receipt', title: t('shops.no_orders') }),
    onError: (failure) => (error.textContent = shopProblem(failure)),
  });
  const tabs = h(
    'div',
    { class: 'order-filters', role: 'group', 'aria-label': t('shops.filter_label') },
    STATUS_FILTERS.map((value) =>
      h('button', { type: 'button', class: 'chip', 'aria-pressed': String(value === status), 'data-testid': 'order-filter', dataset: { status: value }, onclick: (e) => pick(e.currentTarget, value) }, t(`shops.filter.${value || 'all'}`)),
    ),
  );
  function pick(button, value) {
    status = value;
    for (const other of tabs.children) other.setAttribute('aria-pressed', String(other === button));
    paged.reload();
  }
  const element = h('div', { class: 'orders-section' }, tabs, list, paged.more);
  onOrders(shops, element, (event) => {
    if (!event || !shopId || event.shop_id === shopId) paged.reload();
  });
  paged.reload();
  return { element, reload: paged.reload };
}

export function myOrdersView(ctx) {
  const shops = shopsOf(ctx.session);
  shops.seen();
  const error = errorLine();
  const orders = ordersList(ctx, { role: 'buyer', error });
  return h('section', { class: 'page orders-page', 'aria-labelledby': 'orders-title' }, backLink('#/shops', 'shops.back'), h('h1', { id: 'orders-title' }, t('shops.my_orders')), error, orders.element);
}

// ---------------------------------------------------------- an order's page

export function orderView(ctx) {
  const { session } = ctx;
  const shops = shopsOf(session);
  const orderId = ctx.params.id;
  const error = errorLine();
  const page = h('section', { class: 'page order-page', 'data-testid': 'order-page' }, error);
  let askToPay = ctx.query.get('pay') === '1';
  const load = async () => {
    try {
      const order = await shops.order(orderId);
      page.dataset.status = order.status;
      replace(page, error, orderSections(ctx, order, load));
      if (askToPay && order.status === 'pending_payment' && order.your_role === 'buyer') openPay(ctx, order, load);
      askToPay = false;
    } catch (failure) {
      error.textContent = shopProblem(failure);
    }
  };
  onOrders(shops, page, (event) => {
    if (!event || event.order_id === orderId) load();
  });
  load();
  return page;
}

function orderSections(ctx, order, load) {
  const back = order.your_role === 'buyer' ? backLink('#/shops/orders', 'shops.my_orders') : backLink(`#/shop/${id(order.shop.shop_id)}/manage`, 'shops.back_to_manage');
  return [
    back,
    statusBanner(order, load),
    orderSteps(order),
    orderMoves(ctx, order, load),
    order.refund_requests.length ? refundsCard(ctx, order, load) : null,
    itemsCard(order),
    moneyCard(order),
    order.shipped_at ? shipmentCard(order) : null,
    h('section', { class: 'card' }, h('h2', {}, t('shops.shipping_address')), addressBlock(order.shipping_address)),
    h('p', { class: 'hint order-id' }, t('shops.order_number', { id: order.order_id }), ' · ', formatDateTime(order.placed_at)),
  ];
}

/** Where the order stands and what it waits for; the time left to pay. */
function statusBanner(order, load) {
  const role = order.your_role === 'buyer' ? 'buyer' : 'shop';
  const explainKey = order.status === 'cancelled' ? `shops.cancelled_by.${order.cancelled_by}` : `shops.explain.${order.status}_${role}`;
  const explain = has(explainKey) ? t(explainKey) : '';
  return h(
    'div',
    { class: `order-banner status-${order.status}` },
    statusTag(order.status),
    explain ? h('p', {}, explain) : null,
    order.status === 'pending_payment' ? countdown(order.pay_by, { onEnd: () => setTimeout(load, 1500) }) : null,
    order.status === 'shipped' && order.auto_confirm_at ? h('p', { class: 'hint' }, t('shops.auto_confirm', { time: formatDateTime(order.auto_confirm_at) })) : null,
  );
}

/** Placed → Paid → Shipped → Completed, each with its time once reached. */
function orderSteps(order) {
  const steps = [
    ['placed', order.placed_at],
    ['paid', order.paid_at],
    ['shipped', order.shipped_at],
    ['completed', order.completed_at],
  ];
  return h(
    'ol',
    { class: 'order-steps', 'aria-label': t('shops.steps_label') },
    steps.map(([step, at]) =>
      h('li', { class: at ? 'done' : '', dataset: { step } }, h('span', { class: 'step-name' }, t(`shops.step.${step}`)), h('small', {}, at ? formatDateTime(at) : '')),
    ),
  );
}

/** Money that may still be asked back: what was paid, less refunded and asked already. */
export function refundable(order) {
  if (!order.paid_at) return 0;
  const asked = order.refund_requests.filter((r) => r.status === 'requested').reduce((sum, r) => sum + r.amount_minor, 0);
  return Math.max(0, order.total_minor - order.refunded_minor - asked);
}

function orderMoves(ctx, order, load) {
  const buttons = [];
  const move = (key, testid, onclick, primary = false) => buttons.push(h('button', { type: 'button', class: primary ? 'primary' : '', 'data-testid': testid, onclick }, t(key)));
  const status = order.status;
  if (order.your_role === 'buyer') {
    if (status === 'pending_payment') move('shops.pay', 'order-pay', () => openPay(ctx, order, load), true);
    if (status === 'shipped') move('shops.confirm_receipt', 'order-confirm', () => openConfirm(ctx, order, load), true);
    if (['paid', 'shipped', 'completed'].includes(status) && refundable(order) > 0) move('shops.request_refund', 'order-refund', () => openRefund(ctx, order, load));
  } else if (status === 'paid') {
    move('shops.ship', 'order-ship', () => openShip(ctx, order, load), true);
  }
  if (status === 'pending_payment' || status === 'paid') move('shops.cancel_order', 'order-cancel', () => openCancel(ctx, order, load));
  buttons.push(orderChatButton(ctx, order));
  return h('div', { class: 'actions order-moves' }, buttons);
}

/**
 * The order's own conversation, between its buyer and the shop's staff:
 * opened on the server the first time either side asks for it.
 */
function orderChatButton(ctx, order) {
  const label = order.your_role === 'buyer' ? 'shops.contact_shop' : 'shops.contact_buyer';
  const open = async () => {
    try {
      const conversation = order.conversation_id ?? (await shopsOf(ctx.session).orderConversation(order.order_id));
      ctx.navigate(`/chats/${id(conversation)}`);
    } catch (error) {
      toast(shopProblem(error), { tone: 'error' });
    }
  };
  return h('button', { type: 'button', 'data-testid': 'order-chat', onclick: open }, icon('chat'), h('span', {}, t(label)));
}

function itemsCard(order) {
  return h(
    'section',
    { class: 'card order-items' },
    h('h2', {}, h('a', { href: `#/shop/${id(order.shop.shop_id)}` }, order.shop.name)),
    h(
      'ul',
      { class: 'checkout-lines' },
      order.items.map((item) =>
        h(
          'li',
          { class: 'checkout-line', 'data-testid': 'order-item' },
          h('span', { class: 'checkout-line-title' }, h('a', { href: `#/product/${id(item.product_id)}` }, item.title), h('small', {}, item.variant_name)),
          h('span', { class: 'hint' }, t('shops.times', { quantity: formatNumber(item.quantity), price: moneyText(item.unit_price_minor) })),
          h('strong', {}, moneyText(item.line_total_minor)),
        ),
      ),
    ),
    h('p', { class: 'checkout-total' }, h('span', {}, t('shops.total')), h('strong', { 'data-testid': 'order-total' }, moneyText(order.total_minor))),
  );
}

function moneyCard(order) {
  const row = (key, minor, testid) => h('div', { class: 'money-row' }, h('dt', {}, t(key)), h('dd', { 'data-testid': testid, dataset: { minor: String(minor) } }, moneyText(minor)));
  return h(
    'section',
    { class: 'card order-money' },
    h('h2', {}, t('shops.money')),
    h(
      'dl',
      { class: 'money-rows' },
      row('shops.paid_amount', order.paid_at ? order.total_minor : 0, 'order-paid'),
      row('shops.escrow', order.escrow_minor, 'order-escrow'),
      row('shops.refunded', order.refunded_minor, 'order-refunded'),
    ),
    h('p', { class: 'hint' }, t('shops.escrow_hint')),
  );
}

function shipmentCard(order) {
  return h(
    'section',
    { class: 'card order-shipment', 'data-testid': 'order-shipment' },
    h('h2', {}, t('shops.shipment')),
    h(
      'dl',
      { class: 'money-rows' },
      h('div', { class: 'money-row' }, h('dt', {}, t('shops.carrier')), h('dd', { translate: 'no' }, order.carrier ?? '')),
      h('div', { class: 'money-row' }, h('dt', {}, t('shops.tracking')), h('dd', { translate: 'no', 'data-testid': 'order-tracking' }, order.tracking ?? '')),
      h('div', { class: 'money-row' }, h('dt', {}, t('shops.shipped_at')), h('dd', {}, formatDateTime(order.shipped_at))),
    ),
  );
}

function refundsCard(ctx, order, load) {
  return h(
    'section',
    { class: 'card order-refunds' },
    h('h2', {}, t('shops.refund_requests')),
    h('ul', { class: 'refund-list' }, order.refund_requests.map((request) => refundRow(ctx, order, request, load))),
  );
}

function refundRow(ctx, order, request, load) {
  const shops = shopsOf(ctx.session);
  const decide = (decision) => async () => {
    await shops.decideRefund(order.order_id, request.index, decision);
    const said = decision === 'approve' ? t('shops.refund_approved_done', { amount: moneyText(request.amount_minor) }) : t('shops.refund_rejected_done');
    toast(said, { tone: 'success', testid: 'order-move-toast' });
    load();
  };
  const tools =
    order.your_role === 'shop' && request.status === 'requested'
      ? h(
          'div',
          { class: 'actions' },
          h('button', { type: 'button', class: 'danger', 'data-testid': 'refund-reject', onclick: () => confirmMove({ title: t('shops.refund_reject'), text: t('shops.refund_reject_text', { amount: moneyText(request.amount_minor) }), confirmLabel: t('shops.refund_reject'), testid: 'refund-reject-dialog', run: decide('reject') }) }, t('shops.refund_reject')),
          h('button', { type: 'button', class: 'primary', 'data-testid': 'refund-approve', onclick: () => confirmMove({ title: t('shops.refund_approve'), text: t(order.status === 'completed' ? 'shops.refund_approve_settled' : 'shops.refund_approve_escrow', { amount: moneyText(request.amount_minor) }), confirmLabel: t('shops.refund_approve'), testid: 'refund-approve-dialog', run: decide('approve') }) }, t('shops.refund_approve')),
        )
      : null;
  return h(
    'li',
    { class: 'refund-request', 'data-testid': 'refund-request', dataset: { index: String(request.index), status: request.status } },
    h('div', { class: 'refund-head' }, h('strong', {}, moneyText(request.amount_minor)), h('span', { class: `refund-status status-${request.status}` }, t(`shops.refund_status.${request.status}`))),
    h('p', { class: 'refund-reason' }, request.reason),
    h('p', { class: 'hint' }, t('shops.refund_asked_at', { time: formatDateTime(request.requested_at) }), request.decided_at ? ` · ${t('shops.refund_decided_at', { time: formatDateTime(request.decided_at) })}` : ''),
    tools,
  );
}

// ------------------------------------------------------------------ moves

/** Pays with the PIN: the wallet's own dialog, with the time left and the balance. */
export function openPay(ctx, order, load) {
  const shops = shopsOf(ctx.session);
  const wallet = walletOf(ctx.session);
  wallet.refresh();
  const balance = h('p', { class: 'hint', 'data-testid': 'pay-balance' }, wallet.balance === null ? '' : t('shops.wallet_balance', { amount: moneyText(wallet.balance) }));
  return pinPaymentDialog({
    title: t('shops.pay_title'),
    amountMinor: order.total_minor,
    lines: [t('shops.pay_to', { shop: order.shop.name }), countdown(order.pay_by), balance],
    testid: 'pay-dialog',
    pay: async (pin) => {
      await shops.pay(order.order_id, pin);
      toast(t('shops.paid_done', { amount: moneyText(order.total_minor) }), { tone: 'success', testid: 'order-move-toast' });
      load();
    },
  });
}

function openConfirm(ctx, order, load) {
  const shops = shopsOf(ctx.session);
  confirmMove({
    title: t('shops.confirm_receipt'),
    text: t('shops.confirm_text', { amount: moneyText(order.escrow_minor), shop: order.shop.name }),
    confirmLabel: t('shops.confirm_receipt'),
    testid: 'confirm-dialog',
    run: async () => {
      await shops.confirm(order.order_id);
      toast(t('shops.confirmed_done'), { tone: 'success', testid: 'order-move-toast' });
      load();
    },
  });
}

function openCancel(ctx, order, load) {
  const shops = shopsOf(ctx.session);
  const paid = order.status === 'paid';
  confirmMove({
    title: t('shops.cancel_order'),
    text: paid ? t('shops.cancel_text_paid', { amount: moneyText(order.total_minor - order.refunded_minor) }) : t('shops.cancel_text'),
    confirmLabel: t('shops.cancel_order'),
    testid: 'cancel-dialog',
    run: async () => {
      await shops.cancel(order.order_id);
      toast(t('shops.cancelled_done'), { tone: 'success', testid: 'order-move-toast' });
      load();
    },
  });
}

function openShip(ctx, order, load) {
  const shops = shopsOf(ctx.session);
  const carrier = h('input', { id: 'ship-carrier', name: 'carrier', required: true, maxlength: CARRIER_MAX, autocomplete: 'off', 'data-testid': 'ship-carrier' });
  const tracking = h('input', { id: 'ship-tracking', name: 'tracking', required: true, maxlength: TRACKING_MAX, autocomplete: 'off', autocapitalize: 'characters', translate: 'no', 'data-testid': 'ship-tracking' });
  formDialog({
    title: t('shops.ship'),
    testid: 'ship-dialog',
    fields: [
      h('div', { class: 'field' }, h('label', { for: 'ship-carrier' }, t('shops.carrier')), carrier),
      h('div', { class: 'field' }, h('label', { for: 'ship-tracking' }, t('shops.tracking')), tracking),
      h('p', { class: 'hint' }, t('shops.ship_hint')),
    ],
    submitLabel: t('shops.ship'),
    submit: async (close) => {
      await shops.ship(order.order_id, carrier.value.trim(), tracking.value.trim());
      close();
      toast(t('shops.shipped_done'), { tone: 'success', testid: 'order-move-toast' });
      load();
    },
  });
}

function openRefund(ctx, order, load) {
  const shops = shopsOf(ctx.session);
  const most = refundable(order);
  const amount = amountField('shops.refund_amount', { name: 'refund-amount' });
  const reason = h('textarea', { id: 'refund-reason', name: 'reason', rows: 3, required: true, maxlength: REASON_MAX, 'data-testid': 'refund-reason' });
  const all = h('button', { type: 'button', class: 'chip', 'data-testid': 'refund-all', onclick: () => (amount.input.value = majorText(most)) }, t('shops.refund_all', { amount: moneyText(most) }));
  formDialog({
    title: t('shops.request_refund'),
    testid: 'refund-dialog',
    fields: [
      amount.element,
      h('p', { class: 'hint' }, t('shops.refund_at_most', { amount: moneyText(most) }), ' ', all),
      h('div', { class: 'field' }, h('label', { for: 'refund-reason' }, t('shops.refund_reason')), reason),
    ],
    submitLabel: t('shops.request_refund'),
    submit: async (close) => {
      const minor = readAmount(amount.input);
      if (minor > most) throw Object.assign(new Error('too much'), { catalogKey: 'shops.refund_too_much' });
      await shops.requestRefund(order.order_id, minor, reason.value.trim());
      close();
      toast(t('shops.refund_requested_done', { amount: moneyText(minor) }), { tone: 'success', testid: 'order-move-toast' });
      load();
    },
  });
}
