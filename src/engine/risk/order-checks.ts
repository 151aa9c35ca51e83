/**
 * The single checks that reject an order or a deal change: account status, volume, the min_tick
 * grid, trade mode, expiration, market hours, quote age, and which side of the market a pending
 * price and SL/TP levels sit on. Each returns a `Rejection` with a stable code, or undefined.
 *
 * Checks read state and never change it. The order in which callers run them decides which of
 * several problems a client hears about first, so callers keep it fixed (see order-validation.ts).
 */
import { marketClosedMessage } from '../calendar/trading-calendar.ts';
import type { Price, Quantity } from '../decimal.ts';
import { marketIsOpen, type EngineState } from '../engine-state.ts';
import { formatPrice } from '../instrument.ts';
import { echoPrice, nearestOnGrid, showPrice, showQuantity } from '../messages.ts';
import type { AccountBook, Instrument, Order, Quote, Side, TradingConditions } from '../model.ts';
import type { PositionEffect } from '../portfolio/positions.ts';
import { reject, type Rejection } from '../rejection.ts';

export function accountStatusRejection(book: AccountBook): Rejection | undefined {
  if (book.account.status === 'disabled') return reject('account_status', 'account is disabled');
  return undefined;
}

export function volumeRejection(volume: Quantity, conditions: TradingConditions): Rejection | undefined {
  if (volume <= 0) return reject('invalid_volume', 'volume must be greater than 0');
  if (volume < conditions.minVolume) {
    return reject(
      'invalid_volume',
      `volume ${showQuantity(volume)} is below min_volume ${showQuantity(conditions.minVolume)}`,
    );
  }
  if (volume > conditions.maxVolume) {
    return reject(
      'invalid_volume',
      `volume ${showQuantity(volume)} is above max_volume ${showQuantity(conditions.maxVolume)}`,
    );
  }
  if (volume % conditions.volumeStep !== 0) {
    return reject(
      'invalid_volume',
      `volume ${showQuantity(volume)} is not a multiple of volume_step ${showQuantity(conditions.volumeStep)}`,
    );
  }
  return undefined;
}

/** A price must be positive and on the min_tick grid; `field` names it in the message. */
export function priceRejection(
  field: string,
  price: Price,
  conditions: TradingConditions,
  instrument: Instrument,
): Rejection | undefined {
  if (price <= 0) return reject('invalid_price', `${field} ${showPrice(price)} must be greater than 0`);
  if (price % conditions.minTick !== 0) {
    return reject(
      'invalid_price',
      `${field} ${showPrice(price)} is not on the min_tick grid ${showPrice(conditions.minTick)} of ${instrument.ticker}; ${nearestOnGrid(price, conditions.minTick)}`,
    );
  }
  return undefined;
}

/**
 * The stop loss, then the take profit, checked like a price (positive, on the grid), with the
 * level's own code. A null or absent level is not checked.
 */
export function stopLevelsGridRejection(
  levels: { stopLoss?: Price | null | undefined; takeProfit?: Price | null | undefined },
  conditions: TradingConditions,
  instrument: Instrument,
): Rejection | undefined {
  for (const field of ['stopLoss', 'takeProfit'] as const) {
    const level = levels[field];
    if (level === null || level === undefined) continue;
    const stopLoss = field === 'stopLoss';
    const rejection = priceRejection(stopLoss ? 'stop_loss' : 'take_profit', level, conditions, instrument);
    if (rejection) return { ...rejection, code: stopLoss ? 'invalid_stop_loss' : 'invalid_take_profit' };
  }
  return undefined;
}

export function expirationRejection(expiration: number, now: number): Rejection | undefined {
  if (expiration !== 0 && expiration <= now) {
    return reject('invalid_expiration', 'expiration must be 0 (good till cancel) or in the future');
  }
  return undefined;
}

export function marketHoursRejection(
  state: EngineState,
  instrument: Instrument,
  now: number,
): Rejection | undefined {
  if (marketIsOpen(state, instrument, now)) return undefined;
  return reject('market_closed', marketClosedMessage(instrument.ticker, instrument.calendar, now));
}

export function quoteRejection(
  state: EngineState,
  instrument: Instrument,
  quote: Quote | undefined,
  now: number,
): Rejection | undefined {
  if (!quote) return reject('no_quote', `no quote for ${instrument.ticker}`);
  const maxAge = state.options.maxQuoteAgeSeconds;
  if (maxAge !== null && now - quote.time > maxAge) {
    return reject(
      'stale_quote',
      `quote for ${instrument.ticker} is stale: ${now - quote.time} s old, limit ${maxAge} s`,
    );
  }
  return undefined;
}

export function tradeModeRejection(
  book: AccountBook,
  instrument: Instrument,
  conditions: TradingConditions,
  side: Side,
  effect: PositionEffect,
): Rejection | undefined {
  const mode = conditions.tradeMode;
  const ticker = instrument.ticker;
  if (mode === 'disabled') return reject('trade_mode', `trading is disabled for ${ticker}`);
  if (mode === 'close_only' && effect !== 'reduces') {
    return reject(
      'trade_mode',
      `${ticker} is close_only on account ${book.account.id}: only closing orders are allowed`,
    );
  }
  if (mode === 'buy_only' && side === 'sell' && effect !== 'reduces') {
    return reject('trade_mode', `${ticker} is buy_only: sell orders may only close a position`);
  }
  if (mode === 'sell_only' && side === 'buy' && effect !== 'reduces') {
    return reject('trade_mode', `${ticker} is sell_only: buy orders may only close a position`);
  }
  return undefined;
}

/**
 * A limit or stop price on the wrong side of the market would fill at once: reject it. The market
 * is the price the order's trigger compares against: `last` when given (a last-triggered
 * instrument's fresh last, triggers/trigger-prices.ts), else the ask for a buy, the bid for a sell.
 */
export function pendingPriceRejection(
  order: Pick<Order, 'side' | 'type' | 'price'>,
  quote: Quote,
  last: Price | undefined,
  instrument: Instrument,
): Rejection | undefined {
  if (order.price === null || (order.type !== 'limit' && order.type !== 'stop')) return undefined;
  const watched = last ?? (order.side === 'buy' ? quote.ask : quote.bid);
  const name = last !== undefined ? 'last' : order.side === 'buy' ? 'ask' : 'bid';
  const below = (order.side === 'buy') === (order.type === 'limit');
  if (below ? order.price < watched : order.price > watched) return undefined;
  return reject(
    'invalid_price',
    `${order.side} ${order.type} price ${echoPrice(order.price, instrument)} must be ${below ? 'below' : 'above'} the current ${name} ${formatPrice(watched, instrument)}`,
  );
}

/** A long's stop loss sits below and take profit above the reference price; a short mirrors it. */
export function stopLevelsSideRejection(
  side: Side,
  stopLoss: Price | null,
  takeProfit: Price | null,
  reference: Price,
  instrument: Instrument,
  referenceName: string,
): Rejection | undefined {
  // Prices are formatted only for a rejection's message: most orders pass.
  if (stopLoss !== null && (side === 'buy' ? stopLoss >= reference : stopLoss <= reference)) {
    return reject(
      'invalid_stop_loss',
      `stop_loss ${echoPrice(stopLoss, instrument)} must be ${side === 'buy' ? 'below' : 'above'} the ${referenceName} ${echoPrice(reference, instrument)} for a ${side}`,
    );
  }
  if (takeProfit !== null && (side === 'buy' ? takeProfit <= reference : takeProfit >= reference)) {
    return reject(
      'invalid_take_profit',
      `take_profit ${echoPrice(takeProfit, instrument)} must be ${side === 'buy' ? 'above' : 'below'} the ${referenceName} ${echoPrice(reference, instrument)} for a ${side}`,
    );
  }
  return undefined;
}

export function conversionRateRejection(
  state: EngineState,
  book: AccountBook,
  instrument: Instrument,
): Rejection | undefined {
  if (state.market.rate(instrument.quoteCurrency, book.account.currency)) return undefined;
  return reject(
    'no_conversion_rate',
    `no quote to convert ${instrument.quoteCurrency} into ${book.account.currency}`,
  );
}
