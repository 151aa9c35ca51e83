/**
 * Conversion of wire numbers (decimal, as the client sent them) into the engine's fixed-point
 * units. Anything not finite, negative where it must not be, or more precise than the unit can
 * hold is refused with a message naming the field and echoing the value. The one rounding is of
 * float noise: a number a few units in the last place off a decimal the unit holds
 * (0.30000000000000004, or `bid * 0.99` computed by a client) reads as that decimal.
 */
import {
  MONEY_DECIMALS,
  PRICE_DECIMALS,
  QUANTITY_DECIMALS,
  toScaledIgnoringNoise,
  type Money,
  type Price,
  type Quantity,
} from '../engine/decimal.ts';
import { MAX_BALANCE } from '../engine/money.ts';
import { invalid } from './errors.ts';

function finite(field: string, value: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw invalid(`${field} must be a finite number`);
  return value;
}

function scaled(field: string, value: number, decimals: number, limit: string): number {
  const result = toScaledIgnoringNoise(finite(field, value), decimals);
  if (result === undefined) {
    throw invalid(
      Math.abs(value) * 10 ** decimals > Number.MAX_SAFE_INTEGER
        ? `${field} ${String(value)} must be below ${limit}`
        : `${field} ${String(value)} must be a number with at most ${decimals} decimals`,
    );
  }
  return result === 0 ? 0 : result; // normalises -0
}

/** A price: > 0, at most 8 decimals. `zeroAllowed` lets 0 through (it clears SL/TP). */
export function parsePrice(field: string, value: number, zeroAllowed = false): Price {
  const price = scaled(field, value, PRICE_DECIMALS, '90,000,000');
  if (price < 0 || (price === 0 && !zeroAllowed)) {
    throw invalid(`${field} ${String(value)} must be ${zeroAllowed ? '0 or greater' : 'greater than 0'}`);
  }
  return price;
}

export function parseQuantity(field: string, value: number): Quantity {
  const quantity = scaled(field, value, QUANTITY_DECIMALS, '9,000,000,000');
  if (quantity <= 0) throw invalid(`${field} ${String(value)} must be greater than 0`);
  return quantity;
}

/**
 * A money amount in the account currency: at most 2 decimals, sign allowed, below 10,000,000,000,000
 * (the balance limit, so that a JSON number still carries every cent exactly).
 */
export function parseMoney(field: string, value: number): Money {
  const money = scaled(field, value, MONEY_DECIMALS, '10,000,000,000,000');
  if (Math.abs(money) >= MAX_BALANCE)
    throw invalid(`${field} ${String(value)} must be below 10,000,000,000,000`);
  return money;
}

/** Unix seconds; fractions are truncated. 0 is allowed (it means "good till cancel" for expirations). */
export function parseTimestamp(field: string, value: number): number {
  const seconds = Math.trunc(finite(field, value));
  if (seconds < 0 || seconds > 1e11) throw invalid(`${field} must be a Unix timestamp in seconds`);
  return seconds;
}
