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

/**
 * How far, in units in the last place, a number may sit from a decimal and still be read as it:
 * the error a few steps of float arithmetic leave (0.1 + 0.2 is 1 unit off 0.3, a Python client's
 * `bid * 0.99` 1 or 2), yet less than a fifth of one count of 10^-8 for any price below 1,000,000.
 */
export const FLOAT_NOISE_ULPS = 16;

/**
 * A number's count of 10^-decimals, reading float noise as the decimal it blurs: a number that
 * toScaled refuses for its precision, but that lies within FLOAT_NOISE_ULPS of the double nearest
 * to a count (0.30000000000000004 at 6 decimals), reads as that count. A number further from every
 * count (0.123456789 at 8 decimals) really has more decimals than the scale, and stays undefined,
 * as do non-finite numbers, counts that would not stay safe integers, and anything but 0 itself
 * for the count 0.
 */
export function toScaledIgnoringNoise(value: number, decimals: number): number | undefined {
  const exact = toScaled(value, decimals);
  const power = POWERS_OF_TEN[decimals];
  if (exact !== undefined || !Number.isFinite(value) || power === undefined) return exact;
  // Below 2^52 the product is off by at most a quarter, so this is the nearest count unless the
  // number sits near halfway between two counts, where it is noise around neither. (Above, it is
  // one of the two nearest, and doubles that large cannot tell those apart.)
  const scaled = Math.round(value * power);
  // Units in the last place measure noise relative to the value, which 0 has none of: the doubles
  // next to it are subnormals no arithmetic on prices leaves behind (and 0 clears a stop loss).
  if (scaled === 0 || !Number.isSafeInteger(scaled)) return undefined;
  if (ulpsApart(value, fromScaled(scaled, decimals)) > FLOAT_NOISE_ULPS) return undefined;
  return scaled;
}

/** How many doubles lie between two finite numbers (adjacent doubles are 1 apart; 0 and -0 are 0). */
export function ulpsApart(a: number, b: number): number {
  const distance = orderedBits(a) - orderedBits(b);
  return Number(distance < 0n ? -distance : distance);
}

/** A double's bits as an integer that orders like the double itself (sign-magnitude folded). */
function orderedBits(value: number): bigint {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, value);
  const bits = view.getBigInt64(0);
  return bits < 0n ? -(bits & 0x7fff_ffff_ffff_ffffn) : bits;
}

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
