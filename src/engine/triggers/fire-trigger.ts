/**
 * When a resting order or an SL/TP fires: a quote crossed its trigger (the crossing test and the
 * trigger shapes live in trigger-index.ts). The trigger was already taken out of the index.
 *
 * - While the market is closed, nothing fires: the trigger is put back for a later quote.
 * - A resting order past its expiration expires instead of filling.
 * - A resting order is checked again at the trigger (account status, balance limit, margin) and
 *   fills at market, the ask for a buy and the bid for a sell, or is rejected there. The price it
 *   was compared with is the same bid or ask, or on a last-triggered instrument the last
 *   (trigger-prices.ts), so such a limit can fill beyond its price, as at the broker.
 * - A stop loss or take profit closes its deal through a system order of its kind.
 */
import type { Step } from '../change-set.ts';
import { marketIsOpen, requireInstrument, type EngineState } from '../engine-state.ts';
import { closeThroughOrder, fillOrder } from '../execution/fill-order.ts';
import { expireOrder, finishOrder } from '../execution/resting-orders.ts';
import { formatPrice } from '../instrument.ts';
import type { AccountBook, Instrument, Quote } from '../model.ts';
import { triggeredOrderRejection } from '../risk/order-validation.ts';
import { transition } from '../order-transitions.ts';
import type { Trigger } from '../trigger-index.ts';
import { lastTriggerPrice } from './trigger-prices.ts';

export function fireTrigger(state: EngineState, step: Step, trigger: Trigger, quote: Quote): void {
  const book = state.books.get(trigger.accountId);
  if (!book) return;
  const instrument = requireInstrument(state, trigger.ticker);
  if (!marketIsOpen(state, instrument, step.now)) {
    // Resting orders and stops wait for the session: re-arm and let a later quote fire them.
    state.triggers.upsert(trigger);
    return;
  }
  // The price compared (the last on a last-triggered instrument) is named in the fill's rule.
  const last = lastTriggerPrice(state, quote);
  const compared = last ?? (trigger.watch === 'bid' ? quote.bid : quote.ask);
  const comparison = trigger.direction === 'at_or_below' ? '≤' : '≥';
  const explanation = `${last === undefined ? trigger.watch : 'last'} ${formatPrice(compared, instrument)} ${comparison} ${formatPrice(trigger.level, instrument)}`;
  if (trigger.kind === 'order') fireOrder(state, step, book, instrument, trigger, quote, explanation);
  else fireDealLevel(state, step, book, instrument, trigger, quote, explanation);
}

function fireOrder(
  state: EngineState,
  step: Step,
  book: AccountBook,
  instrument: Instrument,
  trigger: Trigger,
  quote: Quote,
  explanation: string,
): void {
  const order = book.orders.get(trigger.targetId);
  if (!order) return;
  if (order.expiration !== 0 && order.expiration <= step.now) {
    expireOrder(state, step, book, order);
    return;
  }
  // A fired order is executed at market: buys at the ask, sells at the bid, whatever the price
  // compared was, so a last-triggered limit may fill beyond its price (docs/compatibility.md).
  const fillPrice = trigger.watch === 'bid' ? quote.bid : quote.ask;
  transition(order, 'in_execution', step.now);
  const rejection = triggeredOrderRejection(state, book, instrument, order, fillPrice);
  if (rejection) {
    finishOrder(state, step, book, order, 'rejected', rejection.message);
    step.event(
      book,
      { type: 'order_rejected', order, code: rejection.code },
      `order ${order.id} rejected at trigger: ${rejection.message}`,
    );
    return;
  }
  const rule = `${order.side} ${order.type} ${formatPrice(trigger.level, instrument)} fired: ${explanation}`;
  fillOrder(state, step, book, instrument, order, fillPrice, quote, rule);
}

function fireDealLevel(
  state: EngineState,
  step: Step,
  book: AccountBook,
  instrument: Instrument,
  trigger: Trigger,
  quote: Quote,
  explanation: string,
): void {
  const deal = book.deals.get(trigger.targetId);
  if (!deal || trigger.kind === 'order') return;
  const name = trigger.kind === 'stop_loss' ? 'stop loss' : 'take profit';
  closeThroughOrder(state, step, book, deal, {
    type: trigger.kind,
    level: trigger.level,
    quote,
    rule: `${name} ${formatPrice(trigger.level, instrument)} fired: ${explanation}`,
    comment: `${name} of deal ${deal.id}`,
  });
}
