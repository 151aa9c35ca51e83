import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  MONEY_DECIMALS,
  PRICE_DECIMALS,
  QUANTITY_DECIMALS,
  fromScaled,
  scaledToText,
  toScaled,
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
