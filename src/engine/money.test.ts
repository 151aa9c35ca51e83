/**
 * Money conversions against the exact definition: the rational value in bigint, rounded half away
 * from zero. The double fast path must never change a cent, least of all at exact halves.
 */
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  MAX_BALANCE,
  limitBalanceChange,
  marginToMoney,
  notionalToMoney,
  withinBalanceLimit,
  type Rate,
} from './money.ts';

const NOTIONAL_DENOMINATOR = 10n ** 20n;
const MARGIN_DENOMINATOR = 10n ** 26n;

function exactRounded(num: bigint, den: bigint): number {
  const magnitude = num < 0n ? -num : num;
  const rounded = (2n * magnitude + den) / (2n * den);
  return Number(num < 0n ? -rounded : rounded);
}

const exactNotional = (price: number, volume: number, contractSize: number, rate: Rate): number =>
  exactRounded(
    BigInt(price) * BigInt(volume) * BigInt(contractSize) * rate.num * 100n,
    NOTIONAL_DENOMINATOR * rate.den,
  );

const exactMargin = (
  price: number,
  volume: number,
  contractSize: number,
  leverage: number,
  rate: Rate,
): number =>
  exactRounded(
    BigInt(price) * BigInt(volume) * BigInt(contractSize) * BigInt(leverage) * rate.num * 100n,
    MARGIN_DENOMINATOR * rate.den,
  );

const price = fc.oneof(fc.integer({ min: -1e13, max: 1e13 }), fc.maxSafeInteger());
const quantity = fc.oneof(
  fc.integer({ min: 0, max: 1e12 }),
  fc.integer({ min: 1, max: 1000 }).map((lots) => lots * 1e6),
);
const leverage = fc.integer({ min: 1, max: 1e6 });
const rate = fc.oneof(
  fc.constant({ num: 1n, den: 1n }),
  fc
    .tuple(fc.bigInt({ min: 1n, max: 10n ** 18n }), fc.bigInt({ min: 1n, max: 10n ** 18n }))
    .map(([num, den]) => ({ num, den })),
);

test('notional and profit match the exact rounding for any inputs', () => {
  fc.assert(
    fc.property(price, quantity, quantity, rate, (p, volume, contractSize, r) => {
      assert.equal(notionalToMoney(p, volume, contractSize, r), exactNotional(p, volume, contractSize, r));
    }),
    { numRuns: 20_000 },
  );
});

test('margin matches the exact rounding for any inputs', () => {
  fc.assert(
    fc.property(price, quantity, quantity, leverage, rate, (p, volume, contractSize, l, r) => {
      assert.equal(marginToMoney(p, volume, contractSize, l, r), exactMargin(p, volume, contractSize, l, r));
    }),
    { numRuns: 20_000 },
  );
});

test('exact halves of a cent round away from zero, either sign', () => {
  // One lot of a one-unit contract: notional cents = price / 1e6, so these prices sit on halves.
  const unit: Rate = { num: 1n, den: 1n };
  fc.assert(
    fc.property(fc.integer({ min: -1e9, max: 1e9 }), (k) => {
      const p = (2 * k + 1) * 500_000;
      const expected = exactNotional(p, 1e6, 1e6, unit);
      assert.equal(Math.abs(expected), Math.abs(k + (k >= 0 ? 1 : 0)));
      assert.equal(notionalToMoney(p, 1e6, 1e6, unit), expected);
      assert.equal(marginToMoney(p, 1e6, 1e6, 1e6, unit), expected);
    }),
    { numRuns: 5_000 },
  );
  assert.equal(notionalToMoney(2_500_000, 1e6, 1e6, unit), 3);
  assert.equal(notionalToMoney(-2_500_000, 1e6, 1e6, unit), -3);
  // A third of a cent either side of zero is zero, never negative zero.
  assert.ok(Object.is(notionalToMoney(-333_333, 1e6, 1e6, unit), 0));
});

test('the balance limit: strictly inside ±MAX_BALANCE, and a limited change is a part of the change', () => {
  const edge = MAX_BALANCE - 1;
  assert.equal(withinBalanceLimit(0, edge), true);
  assert.equal(withinBalanceLimit(0, MAX_BALANCE), false);
  assert.equal(withinBalanceLimit(0, -edge), true);
  assert.equal(withinBalanceLimit(1, -MAX_BALANCE), true);
  assert.equal(withinBalanceLimit(-edge, -1), false);
  // Doubles past 2^53 no longer carry every cent: such a change is refused whatever the balance.
  assert.equal(withinBalanceLimit(-edge, 2 ** 53 + 2), false);
  assert.equal(withinBalanceLimit(0, Number.NaN), false);
  assert.equal(withinBalanceLimit(0, Number.POSITIVE_INFINITY), false);
  assert.equal(limitBalanceChange(100, 5), 5);
  assert.equal(limitBalanceChange(100, 1e30), edge - 100);
  assert.equal(limitBalanceChange(100, -1e30), -edge - 100);
  assert.equal(limitBalanceChange(edge, 1), 0);
  assert.equal(limitBalanceChange(-edge, -1), 0);
  fc.assert(
    fc.property(
      fc.integer({ min: -edge, max: edge }),
      fc.oneof(fc.integer({ min: -3 * MAX_BALANCE, max: 3 * MAX_BALANCE }), fc.double({ noNaN: true })),
      (balance, change) => {
        const limited = limitBalanceChange(balance, change);
        assert.ok(Math.abs(limited) <= Math.abs(change));
        assert.ok(limited === 0 || Math.sign(limited) === Math.sign(change));
        assert.ok(withinBalanceLimit(balance, limited), `${balance} + ${limited}`);
        if (withinBalanceLimit(balance, change)) assert.equal(limited, change);
        else assert.ok(Math.abs(balance + limited) === edge);
      },
    ),
    { numRuns: 5_000 },
  );
  // A balance already outside (booked before the limit existed) is not moved further out.
  assert.equal(limitBalanceChange(2 * MAX_BALANCE, 7), 0);
  assert.equal(limitBalanceChange(2 * MAX_BALANCE, -7), -7);
});
