import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  FLOAT_NOISE_ULPS,
  MONEY_DECIMALS,
  PRICE_DECIMALS,
  QUANTITY_DECIMALS,
  fromScaled,
  scaledToText,
  toScaled,
  toScaledIgnoringNoise,
  ulpsApart,
} from './decimal.ts';

const SCALES = [PRICE_DECIMALS, QUANTITY_DECIMALS, MONEY_DECIMALS];

describe('fromScaled', () => {
  it('gives exactly the number its decimal text reads as, for every safe integer', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.maxSafeInteger(),
          fc.integer({ min: -1_000_000_000_000, max: 1_000_000_000_000 }),
          fc.integer({ min: -100_000, max: 100_000 }),
        ),
        fc.constantFrom(...SCALES),
        (scaled, decimals) => {
          assert.equal(fromScaled(scaled, decimals), Number(scaledToText(scaled, decimals)));
        },
      ),
      { numRuns: 20_000 },
    );
  });

  it('round-trips through toScaled within 15 significant digits, and prints no float artefacts', () => {
    assert.equal(fromScaled(10_030_000_000, PRICE_DECIMALS), 100.3);
    assert.equal(String(fromScaled(10_030_000_001, PRICE_DECIMALS)), '100.30000001');
    assert.equal(String(fromScaled(-1, MONEY_DECIMALS)), '-0.01');
    fc.assert(
      // A double holds any 15 significant digits exactly (beyond, decimal text cannot survive it).
      fc.property(
        fc.integer({ min: -(10 ** 15) + 1, max: 10 ** 15 - 1 }),
        fc.constantFrom(...SCALES),
        (scaled, decimals) => {
          assert.equal(toScaled(fromScaled(scaled, decimals), decimals), scaled);
        },
      ),
      { numRuns: 20_000 },
    );
  });

  it('reads a number as its decimal text spells it, whatever its size or precision', () => {
    // The text route is the definition; numbers take a shortcut when it is certain to agree.
    const plain = (value: number) => !/e/i.test(String(value));
    fc.assert(
      fc.property(
        fc.oneof(
          fc.double({ noNaN: true, noDefaultInfinity: true }),
          fc.double({ min: -1e7, max: 1e7, noNaN: true }),
          fc
            .tuple(fc.integer({ min: -(2 ** 53) + 1, max: 2 ** 53 - 1 }), fc.constantFrom(...SCALES))
            .map(([scaled, decimals]) => scaled / 10 ** decimals),
          fc.integer({ min: -1e9, max: 1e9 }).map((units) => units / 1000 + 1e-9),
        ),
        fc.constantFrom(...SCALES),
        (value, decimals) => {
          fc.pre(plain(value));
          assert.equal(toScaled(value, decimals), toScaled(String(value), decimals));
        },
      ),
      { numRuns: 50_000 },
    );
    assert.equal(toScaled(0.1, PRICE_DECIMALS), 10_000_000);
    assert.equal(toScaled(-0, MONEY_DECIMALS), 0);
    assert.ok(Object.is(toScaled(-0, MONEY_DECIMALS), 0));
    assert.equal(toScaled(0.123456789, PRICE_DECIMALS), undefined);
    assert.equal(toScaled(2 ** 53, 0), undefined);
  });
});

/** The next double up: one more in the bits of a positive number, one less of a negative one. */
function nextUp(value: number): number {
  if (value === 0) return Number.MIN_VALUE;
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, value);
  const bits = view.getBigInt64(0);
  view.setBigInt64(0, value > 0 ? bits + 1n : bits - 1n);
  return view.getFloat64(0);
}

/** The double `steps` doubles away from `value` (positive steps go up). */
function nudge(value: number, steps: number): number {
  let result = value;
  for (let step = 0; step < Math.abs(steps); step++) result = steps > 0 ? nextUp(result) : -nextUp(-result);
  return result;
}

/** Per scale, magnitudes whose doubles are fine enough that noise cannot reach halfway to a neighbour count. */
const NOISE_FREE_BELOW: Record<number, number> = {
  [PRICE_DECIMALS]: 1e6,
  [QUANTITY_DECIMALS]: 1e8,
  [MONEY_DECIMALS]: 1e12,
};

describe('toScaledIgnoringNoise', () => {
  it('reads the noise float arithmetic leaves as the decimal it blurs', () => {
    assert.equal(toScaledIgnoringNoise(1.1468654999999999, PRICE_DECIMALS), 114_686_550); // 1.15845 * 0.99
    assert.equal(toScaledIgnoringNoise(0.1 + 0.2, QUANTITY_DECIMALS), 300_000);
    assert.equal(toScaledIgnoringNoise(99.00999999999999, PRICE_DECIMALS), 9_901_000_000);
    assert.equal(toScaledIgnoringNoise(1234.5600000000002, MONEY_DECIMALS), 123_456);
    assert.equal(toScaledIgnoringNoise(-(0.1 + 0.2), MONEY_DECIMALS), -30);
    assert.equal(toScaledIgnoringNoise(1.5, QUANTITY_DECIMALS), 1_500_000);
  });

  it('still refuses real extra decimals, tiny numbers, non-finite numbers and unsafe counts', () => {
    assert.equal(toScaledIgnoringNoise(0.123456789, PRICE_DECIMALS), undefined);
    assert.equal(toScaledIgnoringNoise(1.0000005, QUANTITY_DECIMALS), undefined);
    assert.equal(toScaledIgnoringNoise(1.234, MONEY_DECIMALS), undefined);
    assert.equal(toScaledIgnoringNoise(5e-9, PRICE_DECIMALS), undefined);
    assert.equal(toScaledIgnoringNoise(1e-20, PRICE_DECIMALS), undefined);
    // The doubles next to 0 are no noise of arithmetic, and 0 means "clear" for a stop loss.
    assert.equal(toScaledIgnoringNoise(5e-324, PRICE_DECIMALS), undefined);
    assert.equal(toScaledIgnoringNoise(-5e-324, MONEY_DECIMALS), undefined);
    assert.equal(toScaledIgnoringNoise(-0, QUANTITY_DECIMALS), 0);
    assert.equal(toScaledIgnoringNoise(Number.NaN, PRICE_DECIMALS), undefined);
    assert.equal(toScaledIgnoringNoise(Number.POSITIVE_INFINITY, PRICE_DECIMALS), undefined);
    assert.equal(toScaledIgnoringNoise(1e10, PRICE_DECIMALS), undefined);
  });

  it('reads any count but 0, moved a few doubles off, back as exactly that count', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...SCALES).chain((decimals) =>
          fc.tuple(
            fc.constant(decimals),
            fc.oneof(
              fc.integer({ min: -1_000_000, max: 1_000_000 }),
              fc.integer({
                min: -(NOISE_FREE_BELOW[decimals] ?? 1) * 10 ** decimals,
                max: (NOISE_FREE_BELOW[decimals] ?? 1) * 10 ** decimals,
              }),
            ),
            fc.integer({ min: -FLOAT_NOISE_ULPS, max: FLOAT_NOISE_ULPS }),
          ),
        ),
        ([decimals, count, steps]) => {
          const noisy = nudge(fromScaled(count, decimals), steps);
          const expected = count !== 0 || steps === 0 ? count : undefined;
          assert.equal(toScaledIgnoringNoise(noisy, decimals), expected);
        },
      ),
      { numRuns: 20_000 },
    );
  });

  it('agrees with toScaled wherever that reads a number, and otherwise reads only noise', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.double({ min: -1e7, max: 1e7, noNaN: true }),
          fc.double({ noNaN: true, noDefaultInfinity: true }),
          fc.integer({ min: -1e9, max: 1e9 }).map((units) => units / 1000 + 1e-9),
        ),
        fc.constantFrom(...SCALES),
        (value, decimals) => {
          const exact = toScaled(value, decimals);
          const read = toScaledIgnoringNoise(value, decimals);
          if (exact !== undefined) assert.equal(read, exact);
          else if (read !== undefined)
            assert.ok(ulpsApart(value, fromScaled(read, decimals)) <= FLOAT_NOISE_ULPS, `${value} → ${read}`);
        },
      ),
      { numRuns: 50_000 },
    );
  });
});

describe('ulpsApart', () => {
  it('counts the doubles between two numbers, across zero too', () => {
    assert.equal(ulpsApart(1, 1), 0);
    assert.equal(ulpsApart(0, -0), 0);
    assert.equal(ulpsApart(1, 1 + Number.EPSILON), 1);
    assert.equal(ulpsApart(0.1 + 0.2, 0.3), 1);
    assert.equal(ulpsApart(Number.MIN_VALUE, -Number.MIN_VALUE), 2);
    fc.assert(
      fc.property(
        fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e300, max: 1e300 }),
        fc.integer({ min: -40, max: 40 }),
        (value, steps) => {
          assert.equal(ulpsApart(value, nudge(value, steps)), Math.abs(steps));
        },
      ),
      { numRuns: 5_000 },
    );
  });
});
