/**
 * Exact money arithmetic. Products of price × volume × contract size exceed 2^53, so they are
 * carried in bigint as a rational and rounded once, half away from zero, to the account's cents.
 *
 * Most of them are first tried in doubles (`certainlyRounded`): the result is taken only when the
 * double's error bound proves it rounds to the same cent, and the bigint route decides the rest.
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
const NOTIONAL_SCALE = PRICE_SCALE * QUANTITY_SCALE * QUANTITY_SCALE;
const MARGIN_SCALE = NOTIONAL_SCALE * QUANTITY_SCALE;

/**
 * How far a quotient of integers computed in doubles may be from the exact one, relative to it.
 * Each of the (at most ten) operations before it rounds by at most 2^-53 relative, and so does
 * each integer it is made of that exceeds 2^53 (a rate's bigint parts, the 1e26 scale); 2^-48
 * bounds them with room to spare.
 */
const RELATIVE_ERROR = 2 ** -48;
/** Doubles below this are spaced at most 1/2 apart, so their floor and fraction are exact. */
const EXACT_LIMIT = 2 ** 52;

/**
 * `value` rounded half away from zero when its error (RELATIVE_ERROR) cannot change the result:
 * it is not within that error of a half, and small enough for exact integers. Undefined otherwise
 * (also for NaN and infinities), and the caller takes the exact route.
 */
function certainlyRounded(value: number): number | undefined {
  const magnitude = Math.abs(value);
  if (!(magnitude < EXACT_LIMIT)) return undefined;
  const floor = Math.floor(magnitude);
  const fraction = magnitude - floor;
  if (Math.abs(fraction - 0.5) <= magnitude * RELATIVE_ERROR) return undefined;
  const rounded = fraction > 0.5 ? floor + 1 : floor;
  return value < 0 && rounded !== 0 ? -rounded : rounded;
}

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
  const approximate =
    (price * volume * contractSize * Number(rate.num) * MONEY_SCALE) / (NOTIONAL_SCALE * Number(rate.den));
  const certain = certainlyRounded(approximate);
  if (certain !== undefined) return certain;
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
  const approximate =
    (price * volume * contractSize * leverage * Number(rate.num) * MONEY_SCALE) /
    (MARGIN_SCALE * Number(rate.den));
  const certain = certainlyRounded(approximate);
  if (certain !== undefined) return certain;
  const num = BigInt(price) * BigInt(volume) * BigInt(contractSize) * BigInt(leverage) * rate.num * MONEY;
  return Number(roundDivide(num, NOTIONAL_DENOMINATOR * QUANTITY * rate.den));
}

/** Volume-weighted average of two fills, rounded to the price unit (used when netting adds). */
export function weightedPrice(priceA: Price, volumeA: Quantity, priceB: Price, volumeB: Quantity): Price {
  const num = BigInt(priceA) * BigInt(volumeA) + BigInt(priceB) * BigInt(volumeB);
  return Number(roundDivide(num, BigInt(volumeA + volumeB)));
}

/**
 * Every balance stays strictly inside ±MAX_BALANCE cents (10^13 units of the account currency):
 * far below 2^53, so a balance, and a balance plus any change that keeps it inside, is an exact
 * integer, and a JSON number still carries its every cent.
 */
export const MAX_BALANCE: Money = 10_000_000_000_000 * MONEY_SCALE;

/**
 * Whether `balance + change` stays strictly inside ±MAX_BALANCE. A change at least twice the limit
 * is outside whatever the balance (and such a change may already be a rounded double: money.ts
 * converts exactly only below 2^53), as is a change that is not a number at all.
 */
export function withinBalanceLimit(balance: Money, change: Money): boolean {
  if (!(Math.abs(change) < 2 * MAX_BALANCE)) return false;
  const after = balance + change;
  return after > -MAX_BALANCE && after < MAX_BALANCE;
}

/**
 * The part of `change` a balance can take without leaving ±MAX_BALANCE: all of it when it fits,
 * otherwise what brings the balance to the last cent inside the limit. The result has the sign of
 * `change` (or is 0) and is never larger, so a balance already outside the limit is not moved
 * further out, nor against the change.
 */
export function limitBalanceChange(balance: Money, change: Money): Money {
  if (withinBalanceLimit(balance, change)) return change;
  const edge = MAX_BALANCE - 1;
  const limited = (change > 0 ? edge : -edge) - balance;
  return change > 0 ? Math.min(Math.max(limited, 0), change) : Math.max(Math.min(limited, 0), change);
}
