/**
 * What makes a command on an order or a deal rejected: the checks of order-checks.ts,
 * margin-check.ts and balance-checks.ts run in a fixed order, so a client with several problems
 * always hears about the same one first. Every check runs before the first change: these
 * functions read state and never change it.
 */
import { closingPrice } from '../account-metrics.ts';
import type { Price } from '../decimal.ts';
import type { EngineState } from '../engine-state.ts';
import { effectiveConditions } from '../instrument.ts';
import type { AccountBook, Deal, Instrument, Order, Quote, TradingConditions } from '../model.ts';
import type { ModifyDeal, ModifyOrder } from '../commands.ts';
import { positionEffect } from '../portfolio/positions.ts';
import { reject, type Rejection } from '../rejection.ts';
import { lastTriggerPrice } from '../triggers/trigger-prices.ts';
import { closeRejection, settlementRejection } from './balance-checks.ts';
import { marginRejection, marketAtFill } from './margin-check.ts';
import {
  accountStatusRejection,
  conversionRateRejection,
  expirationRejection,
  marketHoursRejection,
  pendingPriceRejection,
  priceRejection,
  quoteRejection,
  stopLevelsGridRejection,
  stopLevelsSideRejection,
  tradeModeRejection,
  volumeRejection,
} from './order-checks.ts';

/** Why a new order (still `in_execution`, not yet in the book) is rejected, if it is. */
export function newOrderRejection(
  state: EngineState,
  now: number,
  book: AccountBook,
  instrument: Instrument,
  order: Order,
): Rejection | undefined {
  const conditions = effectiveConditions(instrument, book.overrides.get(instrument.ticker));
  const shapeRejection = orderShapeRejection(now, book, instrument, conditions, order);
  if (shapeRejection) return shapeRejection;
  const quote = state.market.get(order.ticker);
  if (order.type === 'market') {
    const closed = marketHoursRejection(state, instrument, now);
    if (closed) return closed;
    const quoteProblem = quoteRejection(state, instrument, quote, now);
    if (quoteProblem) return quoteProblem;
  }
  const last = quote && lastTriggerPrice(state, quote);
  if (quote && order.price !== null) {
    const pendingRejection = pendingPriceRejection(order, quote, last, instrument);
    if (pendingRejection) return pendingRejection;
  }
  // A market order's SL/TP sit either side of what they will be compared with: the closing price,
  // or the last on a last-triggered instrument.
  const reference = order.price ?? (quote ? (last ?? closingPrice(order.side, quote.bid, quote.ask)) : null);
  if (reference !== null) {
    const sideRejection = stopLevelsSideRejection(
      order.side,
      order.stopLoss,
      order.takeProfit,
      reference,
      instrument,
      order.type === 'market' ? 'current price' : 'order price',
    );
    if (sideRejection) return sideRejection;
  }
  const estimate = order.price ?? (quote ? (order.side === 'buy' ? quote.ask : quote.bid) : null);
  if (estimate === null) return undefined;
  const atFill =
    quote && order.price !== null ? marketAtFill(state, quote, order.side, order.price) : state.market;
  return (
    settlementRejection(state, book, instrument, order.side, order.volume, estimate) ??
    marginRejection(state, book, instrument, order.side, order.volume, estimate, atFill)
  );
}

/** The checks of a new order that need no quote: status, volume, price, expiration, mode, levels. */
function orderShapeRejection(
  now: number,
  book: AccountBook,
  instrument: Instrument,
  conditions: TradingConditions,
  order: Order,
): Rejection | undefined {
  const statusRejection = accountStatusRejection(book);
  if (statusRejection) return statusRejection;
  const volumeProblem = volumeRejection(order.volume, conditions);
  if (volumeProblem) return volumeProblem;
  if (order.type === 'market') {
    if (order.price !== null) return reject('invalid_price', 'price is not allowed for market orders');
    if (order.expiration !== 0)
      return reject('invalid_expiration', 'expiration is not allowed for market orders');
  } else {
    if (order.price === null) return reject('invalid_price', `price is required for ${order.type} orders`);
    const priceProblem = priceRejection('price', order.price, conditions, instrument);
    if (priceProblem) return priceProblem;
    const expirationProblem = expirationRejection(order.expiration, now);
    if (expirationProblem) return expirationProblem;
  }
  const effect = positionEffect(book, order.ticker, order.side, order.volume);
  const modeRejection = tradeModeRejection(book, instrument, conditions, order.side, effect);
  if (modeRejection) return modeRejection;
  if (book.account.status === 'no_new_deals' && effect !== 'reduces') {
    return reject('account_status', 'account status is no_new_deals: only closing orders are allowed');
  }
  return stopLevelsGridRejection(order, conditions, instrument);
}

/** Why a resting order whose trigger fired cannot fill at `price` now, if it cannot. */
export function triggeredOrderRejection(
  state: EngineState,
  book: AccountBook,
  instrument: Instrument,
  order: Order,
  price: Price,
): Rejection | undefined {
  return (
    accountStatusRejection(book) ??
    settlementRejection(state, book, instrument, order.side, order.volume, price) ??
    marginRejection(state, book, instrument, order.side, order.volume, price)
  );
}

/** The active order as `command` would leave it, or why the change is rejected. */
export function modifiedOrder(
  state: EngineState,
  now: number,
  book: AccountBook,
  instrument: Instrument,
  order: Order,
  command: ModifyOrder,
): Rejection | { next: Order } {
  const conditions = effectiveConditions(instrument, book.overrides.get(order.ticker));
  const statusRejection = accountStatusRejection(book);
  if (statusRejection) return statusRejection;
  const { volume, price, expiration, stopLoss, takeProfit } = command;
  if (
    volume === undefined &&
    price === undefined &&
    expiration === undefined &&
    stopLoss === undefined &&
    takeProfit === undefined
  ) {
    return reject(
      'nothing_to_modify',
      'nothing to modify: give volume, price, expiration, stop_loss or take_profit',
    );
  }
  const next: Order = { ...order };
  if (volume !== undefined) {
    const rejection = volumeRejection(volume, conditions);
    if (rejection) return rejection;
    next.volume = volume;
  }
  if (price !== undefined) {
    const rejection = priceRejection('price', price, conditions, instrument);
    if (rejection) return rejection;
    next.price = price;
  }
  if (expiration !== undefined) {
    const rejection = expirationRejection(expiration, now);
    if (rejection) return rejection;
    next.expiration = expiration;
  }
  if (stopLoss !== undefined) next.stopLoss = stopLoss === 0 ? null : stopLoss;
  if (takeProfit !== undefined) next.takeProfit = takeProfit === 0 ? null : takeProfit;
  const gridRejection = stopLevelsGridRejection(next, conditions, instrument);
  if (gridRejection) return gridRejection;
  const quote = state.market.get(order.ticker);
  if (quote) {
    const pendingRejection = pendingPriceRejection(next, quote, lastTriggerPrice(state, quote), instrument);
    if (pendingRejection) return pendingRejection;
  }
  if (next.price === null) throw new Error(`active order ${order.id} has no price`);
  const sideRejection = stopLevelsSideRejection(
    next.side,
    next.stopLoss,
    next.takeProfit,
    next.price,
    instrument,
    'order price',
  );
  return sideRejection ?? { next };
}

/** The deal's stop loss and take profit as `command` would leave them, or why it is rejected. */
export function modifiedDealLevels(
  state: EngineState,
  book: AccountBook,
  instrument: Instrument,
  deal: Deal,
  command: ModifyDeal,
): Rejection | { stopLoss: Price | null; takeProfit: Price | null } {
  const statusRejection = accountStatusRejection(book);
  if (statusRejection) return statusRejection;
  if (command.stopLoss === undefined && command.takeProfit === undefined) {
    return reject('nothing_to_modify', 'nothing to modify: give stop_loss or take_profit (0 clears)');
  }
  const conditions = effectiveConditions(instrument, book.overrides.get(deal.ticker));
  const stopLoss = command.stopLoss === 0 ? null : command.stopLoss;
  const takeProfit = command.takeProfit === 0 ? null : command.takeProfit;
  // Only the levels the command sets are checked: a level kept as it is was checked when it was set.
  const gridRejection = stopLevelsGridRejection({ stopLoss, takeProfit }, conditions, instrument);
  if (gridRejection) return gridRejection;
  const levels = {
    stopLoss: stopLoss === undefined ? deal.stopLoss : stopLoss,
    takeProfit: takeProfit === undefined ? deal.takeProfit : takeProfit,
  };
  const quote = state.market.get(deal.ticker);
  if (!quote) return reject('no_quote', `no quote for ${deal.ticker}`);
  const sideRejection = stopLevelsSideRejection(
    deal.side,
    levels.stopLoss,
    levels.takeProfit,
    lastTriggerPrice(state, quote) ?? closingPrice(deal.side, quote.bid, quote.ask),
    instrument,
    'current price',
  );
  return sideRejection ?? levels;
}

/** The quote a client's close of `deal` fills on, or why the close is rejected. */
export function dealCloseQuote(
  state: EngineState,
  now: number,
  book: AccountBook,
  instrument: Instrument,
  deal: Deal,
): Rejection | { quote: Quote } {
  const statusRejection = accountStatusRejection(book);
  if (statusRejection) return statusRejection;
  const conditions = effectiveConditions(instrument, book.overrides.get(deal.ticker));
  if (conditions.tradeMode === 'disabled')
    return reject('trade_mode', `trading is disabled for ${deal.ticker}`);
  const closed = marketHoursRejection(state, instrument, now);
  if (closed) return closed;
  const quote = state.market.get(deal.ticker);
  const quoteProblem = quoteRejection(state, instrument, quote, now);
  if (quoteProblem || !quote) return quoteProblem ?? reject('no_quote', `no quote for ${deal.ticker}`);
  const rateRejection = conversionRateRejection(state, book, instrument);
  if (rateRejection) return rateRejection;
  const price = closingPrice(deal.side, quote.bid, quote.ask);
  return closeRejection(state, book, instrument, deal, deal.volume, price) ?? { quote };
}
