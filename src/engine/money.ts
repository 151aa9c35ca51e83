/**
 * Exact money arithmetic. Products of price × volume × contract size exceed 2^53, so they are
 * carried in bigint as a rational and rounded once, half away from zero, to the account's cents.
 */
import {
  MONEY_SCALE,
  PRICE_SCALE,
  QUANTITY_SCALE,
  type Money,
  type Price,
  type Quantity,
} from './decimal.ts';

/** A positive conversion factor from one currency to another, as numerator / denominator. */
export interface Rate {
  num: bigint;
  den: bigint;
}

export const UNIT_RATE: Rate = { num: 1n, den: 1n };

const PRICE = BigInt(PRICE_SCALE);
const QUANTITY = BigInt(QUANTITY_SCALE);
const MONEY = BigInt(MONEY_SCALE);
/** price × volume × contract size carries 1e-8 × 1e-6 × 1e-6. */
const NOTIONAL_DENOMINATOR = PRICE * QUANTITY * QUANTITY;

export function multiplyRates(a: Rate, b: Rate): Rate {
  return { num: a.num * b.num, den: a.den * b.den };
}

export function invertRate(rate: Rate): Rate {
  return { num: rate.den, den: rate.num };
}

/** Rounds num/den to the nearest integer, half away from zero. */
export function roundDivide(num: bigint, den: bigint): bigint {
  if (den < 0n) return roundDivide(-num, -den);
  const negative = num < 0n;
  const magnitude = negative ? -num : num;
  const rounded = (2n * magnitude + den) / (2n * den);
  return negative ? -rounded : rounded;
}

/**
 * Value of `volume` × `contractSize` at `price`, in account cents: the price difference form
 * gives profit, the plain price form gives notional market value.
 */
export function notionalToMoney(price: Price, volume: Quantity, contractSize: Quantity, rate: Rate): Money {
  const num = BigInt(price) * BigInt(volume) * BigInt(contractSize) * rate.num * MONEY;
  return Number(roundDivide(num, NOTIONAL_DENOMINATOR * rate.den));
}

/** Required margin: notional × margin ratio (leverage), in account cents. */
export function marginToMoney(
  price: Price,
  volume: Quantity,
  contractSize: Quantity,
  leverage: Quantity,
  rate: Rate,
): Money {
  const num = BigInt(price) * BigInt(volume) * BigInt(contractSize) * BigInt(leverage) * rate.num * MONEY;
  return Number(roundDivide(num, NOTIONAL_DENOMINATOR * QUANTITY * rate.den));
}

/** Volume-weighted average of two fills, rounded to the price unit (used when netting adds). */
export function weightedPrice(priceA: Price, volumeA: Quantity, priceB: Price, volumeB: Quantity): Price {
  const num = BigInt(priceA) * BigInt(volumeA) + BigInt(priceB) * BigInt(volumeB);
  return Number(roundDivide(num, BigInt(volumeA + volumeB)));
}
