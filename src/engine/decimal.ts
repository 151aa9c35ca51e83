/**
 * Fixed-point decimals for prices, volumes and money.
 *
 * Invariants:
 * - Every quantity is an integer count of a fixed unit, so arithmetic is exact.
 *   Prices count 1e-8, volumes and ratios 1e-6, money counts the minor unit (1e-2).
 * - Integers stay below 2^53; products that could exceed it are computed in bigint (see money.ts).
 * - Conversion from and to decimal text happens only at the edges, never through float arithmetic
 *   that could round differently from the text (see fromScaled).
 */

export const PRICE_DECIMALS = 8;
export const QUANTITY_DECIMALS = 6;
export const MONEY_DECIMALS = 2;

export const PRICE_SCALE = 10 ** PRICE_DECIMALS;
export const QUANTITY_SCALE = 10 ** QUANTITY_DECIMALS;
export const MONEY_SCALE = 10 ** MONEY_DECIMALS;

/** Integer count of 1e-8 in the instrument's quote currency per unit. */
export type Price = number;
/** Integer count of 1e-6 units (shares, lots, contract multipliers, margin ratios). */
export type Quantity = number;
/** Integer count of minor units (cents) of the account currency. */
export type Money = number;

const DECIMAL_TEXT = /^([+-]?)(\d+)(?:\.(\d+))?$/;

/**
 * Parses a decimal (number or text) into an integer count of 10^-decimals.
 * Returns undefined when the value is not finite, has more precision than the scale can hold,
 * or would not stay a safe integer.
 */
export function toScaled(value: number | string, decimals: number): number | undefined {
  let text: string;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return undefined;
    const fast = numberToScaled(value, decimals);
    if (fast !== undefined) return fast;
    text = numberToPlainText(value);
  } else {
    text = value.trim();
  }
  const match = DECIMAL_TEXT.exec(text);
  if (!match) return undefined;
  const [, sign = '', whole = '0', rawFraction = ''] = match;
  const fraction = rawFraction.replace(/0+$/, '');
  if (fraction.length > decimals) return undefined;
  const digits = (whole + fraction.padEnd(decimals, '0')).replace(/^0+(?=\d)/, '');
  const scaled = Number(digits);
  if (!Number.isSafeInteger(scaled)) return undefined;
  return sign === '-' && scaled !== 0 ? -scaled : scaled;
}

/**
 * A number's count of 10^-decimals without going through its text, when that count is certain:
 * rounding value × 10^decimals is off by less than a half below 2^50, and the count's exact
 * decimal reads back as `value` (fromScaled) only if it is the one the value's text spells.
 * Undefined when unsure (larger counts, or more decimals than the scale): the text decides.
 */
function numberToScaled(value: number, decimals: number): number | undefined {
  const power = POWERS_OF_TEN[decimals];
  if (power === undefined) return undefined;
  const scaled = Math.round(value * power);
  if (!(Math.abs(scaled) < FAST_SCALED_LIMIT) || fromScaled(scaled, decimals) !== value) return undefined;
  return scaled === 0 ? 0 : scaled;
}

const FAST_SCALED_LIMIT = 2 ** 50;

/** Formats an integer count of 10^-decimals as a JSON-safe number with no float artefacts. */
export function fromScaled(scaled: number, decimals: number): number {
  // The same number as reading scaledToText's exact decimal text back, without building it: IEEE
  // division is correctly rounded, and so is reading decimal text, so both give the double nearest
  // to scaled × 10^-decimals while scaled and 10^decimals are exact (safe integers; 10^22 at most).
  return scaled / (POWERS_OF_TEN[decimals] ?? Number(`1e${decimals}`));
}

/** 10^0 … 10^22, each exact (read from text, which rounds correctly, rather than computed). */
const POWERS_OF_TEN: readonly number[] = Array.from({ length: 23 }, (_, exponent) => Number(`1e${exponent}`));

/** Exact decimal text for an integer count of 10^-decimals, trailing zeros trimmed. */
export function scaledToText(scaled: number, decimals: number): string {
  const negative = scaled < 0;
  const digits = Math.abs(scaled)
    .toString()
    .padStart(decimals + 1, '0');
  const whole = digits.slice(0, digits.length - decimals);
  const fraction = digits.slice(digits.length - decimals).replace(/0+$/, '');
  return (negative ? '-' : '') + whole + (fraction ? '.' + fraction : '');
}

/** Number of decimals needed to write a scaled step, e.g. 0.00001 → 5 (used for display precision). */
export function decimalsOf(scaled: number, decimals: number): number {
  const text = scaledToText(Math.abs(scaled), decimals);
  const dot = text.indexOf('.');
  return dot < 0 ? 0 : text.length - dot - 1;
}

function numberToPlainText(value: number): string {
  const text = String(value);
  if (!/e/i.test(text)) return text;
  // Exponent form (1e-7, 1.5e21): expand exactly from the shortest round-trip digits.
  const [mantissa = '0', exponentText = '0'] = text.toLowerCase().split('e');
  const exponent = Number(exponentText);
  const negative = mantissa.startsWith('-');
  const [intPart = '0', fracPart = ''] = mantissa.replace('-', '').split('.');
  const digits = intPart + fracPart;
  const point = intPart.length + exponent;
  let plain: string;
  if (point <= 0) plain = '0.' + '0'.repeat(-point) + digits;
  else if (point >= digits.length) plain = digits + '0'.repeat(point - digits.length);
  else plain = digits.slice(0, point) + '.' + digits.slice(point);
  return (negative ? '-' : '') + plain;
}
