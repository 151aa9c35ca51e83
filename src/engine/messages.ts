/**
 * How prices, volumes, money and the balance limit read in rejection messages, comments and event
 * messages. Messages are part of the wire (an order's comment, a rejection's text): keep them stable.
 */
import type { AccountMetrics } from './account-metrics.ts';
import {
  MONEY_SCALE,
  PRICE_DECIMALS,
  QUANTITY_DECIMALS,
  decimalsOf,
  scaledToText,
  type Money,
  type Price,
  type Quantity,
} from './decimal.ts';
import { formatPrice } from './instrument.ts';
import type { Instrument } from './model.ts';
import { MAX_BALANCE } from './money.ts';

/** The balance limit as messages name it: MAX_BALANCE in units of the account currency. */
export const BALANCE_LIMIT_TEXT = String(MAX_BALANCE / MONEY_SCALE).replace(/\B(?=(\d{3})+$)/g, ',');

/** Said of an automatic close whose profit or loss the balance limit cut short. */
export function limitedNote(profit: Money): string {
  return `${profit > 0 ? 'profit' : 'loss'} limited to keep the balance within ±${BALANCE_LIMIT_TEXT}`;
}

/**
 * Names the valid prices either side of an off-grid `price` (> 0): the multiples of `tick` around
 * it, written with the tick's decimals; only the upper one when the lower would be 0.
 */
export function nearestOnGrid(price: Price, tick: Price): string {
  const below = price - (price % tick);
  const decimals = decimalsOf(tick, PRICE_DECIMALS);
  const show = (level: Price): string => {
    const [whole = '0', fraction = ''] = showPrice(level).split('.');
    return decimals === 0 ? whole : `${whole}.${fraction.padEnd(decimals, '0')}`;
  };
  if (below <= 0) return `nearest valid price: ${show(tick)}`;
  return `nearest valid prices: ${show(below)}, ${show(below + tick)}`;
}

/**
 * A client's price echoed in a rejection: with the instrument's decimals, or exactly when it has
 * more (an account's finer min_tick), so the message never shows a different price.
 */
export function echoPrice(price: Price, instrument: Instrument): string {
  return price % instrument.minTick === 0 ? formatPrice(price, instrument) : showPrice(price);
}

export function showQuantity(quantity: Quantity): string {
  return scaledToText(quantity, QUANTITY_DECIMALS);
}

export function showPrice(price: Price): string {
  return scaledToText(price, PRICE_DECIMALS);
}

export function showMoney(money: Money): string {
  return (money / 100).toFixed(2);
}

export function showLevel(metrics: AccountMetrics): string {
  return ((metrics.equity * 100) / metrics.margin).toFixed(2);
}
