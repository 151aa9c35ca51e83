import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { PRICE_DECIMALS, toScaled, type Price } from './decimal.ts';
import type { Side } from './model.ts';
import {
  TriggerIndex,
  dealTriggerRule,
  isCrossed,
  orderTriggerRule,
  triggerForDeal,
  triggerForOrder,
  triggerKey,
  type DealTriggerKind,
  type RestingOrderType,
  type Trigger,
  type TriggerDirection,
  type TriggerStore,
  type TriggerWatch,
} from './trigger-index.ts';
import { ReferenceTriggerIndex } from './trigger-index-reference.ts';

function price(text: string): Price {
  const scaled = toScaled(text, PRICE_DECIMALS);
  if (scaled === undefined) throw new Error(`bad price ${text}`);
  return scaled;
}

function makeTrigger(overrides: Partial<Trigger> & Pick<Trigger, 'key'>): Trigger {
  return {
    accountId: 'acc1',
    ticker: 'AAPL',
    kind: 'order',
    targetId: overrides.key.split(':')[1] ?? overrides.key,
    level: price('100'),
    watch: 'ask',
    direction: 'at_or_below',
    ...overrides,
  };
}

/** Quote with a fixed spread around the watched price, so only the watched side decides. */
function quoteWatching(watch: TriggerWatch, at: string): { bid: Price; ask: Price } {
  const value = price(at);
  return watch === 'bid'
    ? { bid: value, ask: value + price('0.02') }
    : { bid: value - price('0.02'), ask: value };
}

interface MappingRow {
  name: string;
  trigger: Trigger;
  fireAt: string[];
  holdAt: string[];
}

function orderRow(side: Side, type: RestingOrderType, fireAt: string[], holdAt: string[]): MappingRow {
  const trigger = triggerForOrder({
    id: '000001',
    accountId: 'acc1',
    ticker: 'AAPL',
    side,
    type,
    price: price('100'),
  });
  assert.ok(trigger);
  return { name: `${side} ${type} at 100`, trigger, fireAt, holdAt };
}

function dealRow(side: Side, kind: DealTriggerKind, fireAt: string[], holdAt: string[]): MappingRow {
  const trigger = triggerForDeal(
    {
      id: '000002',
      accountId: 'acc1',
      ticker: 'AAPL',
      side,
      stopLoss: kind === 'stop_loss' ? price('100') : null,
      takeProfit: kind === 'take_profit' ? price('100') : null,
    },
    kind,
  );
  assert.ok(trigger);
  return { name: `${side === 'buy' ? 'long' : 'short'} deal ${kind} at 100`, trigger, fireAt, holdAt };
}

const BELOW = ['99.99', '100', '50'];
const ABOVE = ['100.01', '100', '150'];
const MAPPING: MappingRow[] = [
  orderRow('buy', 'limit', BELOW, ['100.01', '120']),
  orderRow('buy', 'stop', ABOVE, ['99.99', '80']),
  orderRow('sell', 'limit', ABOVE, ['99.99', '80']),
  orderRow('sell', 'stop', BELOW, ['100.01', '120']),
  dealRow('buy', 'stop_loss', BELOW, ['100.01', '120']),
  dealRow('buy', 'take_profit', ABOVE, ['99.99', '80']),
  dealRow('sell', 'stop_loss', ABOVE, ['99.99', '80']),
  dealRow('sell', 'take_profit', BELOW, ['100.01', '120']),
];

describe('trigger rules', () => {
  it('maps order side and type to watched price and direction', () => {
    const expected: [Side, RestingOrderType, TriggerWatch, TriggerDirection][] = [
      ['buy', 'limit', 'ask', 'at_or_below'],
      ['buy', 'stop', 'ask', 'at_or_above'],
      ['sell', 'limit', 'bid', 'at_or_above'],
      ['sell', 'stop', 'bid', 'at_or_below'],
    ];
    for (const [side, type, watch, direction] of expected) {
      assert.deepEqual({ ...orderTriggerRule(side, type) }, { watch, direction }, `${side} ${type}`);
    }
  });

  it('maps deal side and level kind to watched price and direction', () => {
    const expected: [Side, DealTriggerKind, TriggerWatch, TriggerDirection][] = [
      ['buy', 'stop_loss', 'bid', 'at_or_below'],
      ['buy', 'take_profit', 'bid', 'at_or_above'],
      ['sell', 'stop_loss', 'ask', 'at_or_above'],
      ['sell', 'take_profit', 'ask', 'at_or_below'],
    ];
    for (const [side, kind, watch, direction] of expected) {
      assert.deepEqual({ ...dealTriggerRule(side, kind) }, { watch, direction }, `${side} ${kind}`);
    }
  });

  it('builds triggers from orders and deals, and none for market orders or unset levels', () => {
    assert.deepEqual(
      triggerForOrder({
        id: '002212096',
        accountId: 'a',
        ticker: 'MSFT',
        side: 'sell',
        type: 'stop',
        price: 123,
      }),
      {
        key: 'order:002212096',
        accountId: 'a',
        ticker: 'MSFT',
        kind: 'order',
        targetId: '002212096',
        level: 123,
        watch: 'bid',
        direction: 'at_or_below',
      },
    );
    const base = { id: '1', accountId: 'a', ticker: 'T', side: 'buy' as const };
    assert.equal(triggerForOrder({ ...base, type: 'market', price: null }), undefined);
    assert.equal(triggerForOrder({ ...base, type: 'limit', price: null }), undefined);
    assert.equal(triggerForOrder({ ...base, type: 'stop_loss', price: 5 }), undefined);
    const deal = { ...base, id: '001389', stopLoss: 90, takeProfit: null };
    assert.equal(triggerForDeal(deal, 'stop_loss')?.key, 'stop_loss:001389');
    assert.equal(triggerForDeal(deal, 'take_profit'), undefined);
    assert.equal(triggerKey('take_profit', '7'), 'take_profit:7');
  });
});

/** The contract both stores must meet; run against the heap index and the reference scan alike. */
function describeTriggerStore(name: string, create: () => TriggerStore): void {
  describe(`${name}: mapping table`, () => {
    for (const row of MAPPING) {
      it(`${row.name} fires at ${row.trigger.watch} ${row.fireAt.join(', ')}, not at ${row.holdAt.join(', ')}`, () => {
        for (const at of row.holdAt) {
          const store = create();
          store.upsert(row.trigger);
          const { bid, ask } = quoteWatching(row.trigger.watch, at);
          assert.equal(isCrossed(row.trigger, bid, ask), false, `isCrossed at ${at}`);
          const out: Trigger[] = [];
          store.collect('AAPL', bid, ask, out);
          assert.equal(out.length, 0, `held at ${at}`);
          assert.equal(store.size, 1);
        }
        for (const at of row.fireAt) {
          const store = create();
          store.upsert(row.trigger);
          const { bid, ask } = quoteWatching(row.trigger.watch, at);
          assert.equal(isCrossed(row.trigger, bid, ask), true, `isCrossed at ${at}`);
          const out: Trigger[] = [];
          store.collect('AAPL', bid, ask, out);
          assert.deepEqual(out, [row.trigger], `fired at ${at}`);
          assert.equal(store.size, 0, 'a fired trigger is removed');
          store.collect('AAPL', bid, ask, out);
          assert.equal(out.length, 1, 'and does not fire twice');
        }
      });
    }

    it('ignores the unwatched side of the quote', () => {
      const store = create();
      // A buy limit watches the ask: a bid far below its level must not fire it.
      store.upsert(
        makeTrigger({ key: 'order:1', watch: 'ask', direction: 'at_or_below', level: price('100') }),
      );
      const out: Trigger[] = [];
      store.collect('AAPL', price('1'), price('100.01'), out);
      assert.equal(out.length, 0);
    });
  });

  describe(`${name}: maintenance`, () => {
    it('upsert with the same key replaces the level', () => {
      const store = create();
      store.upsert(makeTrigger({ key: 'order:1', level: price('100') }));
      store.upsert(makeTrigger({ key: 'order:1', level: price('90') }));
      assert.equal(store.size, 1);
      assert.equal(store.get('order:1')?.level, price('90'));
      const out: Trigger[] = [];
      store.collect('AAPL', price('94.98'), price('95'), out);
      assert.equal(out.length, 0, 'the old level no longer fires');
      store.collect('AAPL', price('89.98'), price('90'), out);
      assert.deepEqual(
        out.map((trigger) => trigger.level),
        [price('90')],
      );
    });

    it('upsert may move a trigger to another ticker, side and direction', () => {
      const store = create();
      store.upsert(makeTrigger({ key: 'stop_loss:9', kind: 'stop_loss', ticker: 'AAPL', watch: 'bid' }));
      store.upsert(
        makeTrigger({
          key: 'stop_loss:9',
          kind: 'stop_loss',
          ticker: 'MSFT',
          watch: 'ask',
          direction: 'at_or_above',
          level: price('200'),
        }),
      );
      assert.equal(store.sizeFor('AAPL'), 0);
      assert.equal(store.sizeFor('MSFT'), 1);
      const out: Trigger[] = [];
      store.collect('AAPL', price('1'), price('1'), out);
      assert.equal(out.length, 0);
      store.collect('MSFT', price('199'), price('200'), out);
      assert.deepEqual(
        out.map((trigger) => [trigger.key, trigger.ticker]),
        [['stop_loss:9', 'MSFT']],
      );
      assert.equal(store.size, 0);
    });

    it('remove, has, get and sizes', () => {
      const store = create();
      store.upsert(makeTrigger({ key: 'order:1' }));
      store.upsert(makeTrigger({ key: 'order:2', ticker: 'MSFT' }));
      store.upsert(makeTrigger({ key: 'take_profit:3', kind: 'take_profit', watch: 'bid' }));
      assert.equal(store.size, 3);
      assert.equal(store.sizeFor('AAPL'), 2);
      assert.equal(store.sizeFor('MSFT'), 1);
      assert.equal(store.sizeFor('NONE'), 0);
      assert.equal(store.has('order:2'), true);
      assert.equal(store.get('order:2')?.ticker, 'MSFT');
      assert.equal(store.remove('order:2'), true);
      assert.equal(store.remove('order:2'), false);
      assert.equal(store.remove('order:404'), false);
      assert.equal(store.has('order:2'), false);
      assert.equal(store.get('order:2'), undefined);
      assert.equal(store.size, 2);
      assert.equal(store.sizeFor('MSFT'), 0);
      const out: Trigger[] = [];
      store.collect('MSFT', price('1'), price('1'), out);
      assert.equal(out.length, 0, 'a removed trigger never fires');
      store.clear();
      assert.equal(store.size, 0);
      assert.equal(store.sizeFor('AAPL'), 0);
      store.collect('AAPL', price('1'), price('1'), out);
      assert.equal(out.length, 0);
    });

    it('collect appends every crossed trigger sorted by key and keeps what out already held', () => {
      const store = create();
      store.upsert(
        makeTrigger({ key: 'take_profit:5', kind: 'take_profit', watch: 'ask', level: price('101') }),
      );
      store.upsert(makeTrigger({ key: 'order:7', watch: 'ask', level: price('100.5') }));
      store.upsert(
        makeTrigger({ key: 'order:3', watch: 'bid', direction: 'at_or_above', level: price('99') }),
      );
      store.upsert(
        makeTrigger({ key: 'stop_loss:1', kind: 'stop_loss', watch: 'bid', level: price('99.9') }),
      );
      store.upsert(makeTrigger({ key: 'order:9', watch: 'ask', level: price('99') }));
      const sentinel = makeTrigger({ key: 'sentinel' });
      const out: Trigger[] = [sentinel];
      store.collect('AAPL', price('99.95'), price('100'), out);
      assert.deepEqual(
        out.map((trigger) => trigger.key),
        ['sentinel', 'order:3', 'order:7', 'take_profit:5'],
      );
      assert.equal(out[0], sentinel);
      assert.equal(store.size, 2);
    });

    it('sorts a large batch of fired triggers by key', () => {
      const store = create();
      const keys: string[] = [];
      for (let index = 0; index < 100; index++) {
        const key = triggerKey('order', String((index * 37) % 100).padStart(3, '0'));
        keys.push(key);
        store.upsert(makeTrigger({ key, level: price('100') + index }));
      }
      const out: Trigger[] = [];
      store.collect('AAPL', price('1'), price('1'), out);
      assert.deepEqual(
        out.map((trigger) => trigger.key),
        [...keys].sort(),
      );
    });

    it('stores a copy, so mutating the caller object does not move the trigger', () => {
      const store = create();
      const trigger = { ...makeTrigger({ key: 'order:1', level: price('100') }) } as {
        -readonly [K in keyof Trigger]: Trigger[K];
      };
      store.upsert(trigger);
      trigger.level = price('1');
      assert.equal(store.get('order:1')?.level, price('100'));
    });

    it('rejects non-integer levels', () => {
      const store = create();
      assert.throws(() => store.upsert(makeTrigger({ key: 'order:1', level: 100.5 })), RangeError);
      assert.throws(() => store.upsert(makeTrigger({ key: 'order:1', level: Number.NaN })), RangeError);
      assert.equal(store.size, 0);
    });
  });
}

describeTriggerStore('TriggerIndex', () => new TriggerIndex());
describeTriggerStore('ReferenceTriggerIndex', () => new ReferenceTriggerIndex());

describe('TriggerIndex extras', () => {
  it('lists its triggers', () => {
    const index = new TriggerIndex();
    index.upsert(makeTrigger({ key: 'order:1' }));
    index.upsert(makeTrigger({ key: 'order:2', ticker: 'MSFT', watch: 'bid', direction: 'at_or_above' }));
    assert.deepEqual([...index.values()].map((trigger) => trigger.key).sort(), ['order:1', 'order:2']);
  });
});

// Model-based property test: the reference scan is the model, TriggerIndex the system under test.

interface Pair {
  model: ReferenceTriggerIndex;
  real: TriggerIndex;
}

const TICKERS = ['AAA', 'BBB', 'CCC'];
const KINDS = ['order', 'stop_loss', 'take_profit'] as const;

function compareSizes(model: ReferenceTriggerIndex, real: TriggerIndex): void {
  assert.equal(real.size, model.size);
  for (const ticker of TICKERS) assert.equal(real.sizeFor(ticker), model.sizeFor(ticker), ticker);
}

class UpsertCommand implements fc.Command<ReferenceTriggerIndex, TriggerIndex> {
  constructor(readonly trigger: Trigger) {}
  check(): boolean {
    return true;
  }
  run(model: ReferenceTriggerIndex, real: TriggerIndex): void {
    model.upsert(this.trigger);
    real.upsert(this.trigger);
    assert.deepEqual(real.get(this.trigger.key), model.get(this.trigger.key));
    compareSizes(model, real);
  }
  toString(): string {
    const { key, ticker, level, watch, direction } = this.trigger;
    return `upsert(${key} ${ticker} ${watch} ${direction} ${level})`;
  }
}

class RemoveCommand implements fc.Command<ReferenceTriggerIndex, TriggerIndex> {
  constructor(readonly key: string) {}
  check(): boolean {
    return true;
  }
  run(model: ReferenceTriggerIndex, real: TriggerIndex): void {
    assert.equal(real.remove(this.key), model.remove(this.key));
    assert.equal(real.has(this.key), false);
    compareSizes(model, real);
  }
  toString(): string {
    return `remove(${this.key})`;
  }
}

class CollectCommand implements fc.Command<ReferenceTriggerIndex, TriggerIndex> {
  constructor(
    readonly ticker: string,
    readonly bid: Price,
    readonly ask: Price,
  ) {}
  check(): boolean {
    return true;
  }
  run(model: ReferenceTriggerIndex, real: TriggerIndex): void {
    const expected: Trigger[] = [];
    const actual: Trigger[] = [];
    model.collect(this.ticker, this.bid, this.ask, expected);
    real.collect(this.ticker, this.bid, this.ask, actual);
    assert.deepEqual(actual, expected);
    for (const trigger of actual) assert.equal(real.has(trigger.key), false);
    compareSizes(model, real);
  }
  toString(): string {
    return `collect(${this.ticker} ${this.bid}/${this.ask})`;
  }
}

// Small pools of keys, tickers and levels make replacements, removals of live keys, ties and crossings common.
const keyArb = fc
  .tuple(fc.constantFrom(...KINDS), fc.integer({ min: 0, max: 11 }))
  .map(([kind, id]) => triggerKey(kind, String(id).padStart(3, '0')));
const levelArb = fc.integer({ min: 90, max: 110 });
const triggerArb: fc.Arbitrary<Trigger> = fc
  .record({
    key: keyArb,
    ticker: fc.constantFrom(...TICKERS),
    level: levelArb,
    watch: fc.constantFrom<TriggerWatch>('bid', 'ask'),
    direction: fc.constantFrom<TriggerDirection>('at_or_below', 'at_or_above'),
  })
  .map(({ key, ...rest }) => {
    const [kind = 'order', targetId = ''] = key.split(':') as [Trigger['kind'], string];
    return { key, accountId: 'acc', kind, targetId, ...rest };
  });

const commandsArb = fc.commands<ReferenceTriggerIndex, TriggerIndex>(
  [
    triggerArb.map((trigger) => new UpsertCommand(trigger)),
    triggerArb.map((trigger) => new UpsertCommand(trigger)),
    keyArb.map((key) => new RemoveCommand(key)),
    fc
      .tuple(fc.constantFrom(...TICKERS), levelArb, fc.integer({ min: 0, max: 4 }))
      .map(([ticker, bid, spread]) => new CollectCommand(ticker, bid, bid + spread)),
  ],
  { maxCommands: 100, size: 'max' },
);

describe('TriggerIndex against the reference scan (model-based)', () => {
  it('returns the same triggers in the same order for random upsert/remove/collect sequences', () => {
    fc.assert(
      fc.property(commandsArb, (commands) => {
        const setup = (): { model: ReferenceTriggerIndex; real: TriggerIndex } => ({
          model: new ReferenceTriggerIndex(),
          real: new TriggerIndex(),
        });
        fc.modelRun(setup, commands);
      }),
      { numRuns: 500 },
    );
  });

  it('agrees after a final sweep that fires everything left', () => {
    fc.assert(
      fc.property(fc.array(triggerArb, { maxLength: 60 }), (triggers) => {
        const pair: Pair = { model: new ReferenceTriggerIndex(), real: new TriggerIndex() };
        for (const trigger of triggers) {
          pair.model.upsert(trigger);
          pair.real.upsert(trigger);
        }
        for (const ticker of TICKERS) {
          for (const [bid, ask] of [
            [0, 0],
            [1000, 1000],
          ] as const) {
            const expected: Trigger[] = [];
            const actual: Trigger[] = [];
            pair.model.collect(ticker, bid, ask, expected);
            pair.real.collect(ticker, bid, ask, actual);
            assert.deepEqual(actual, expected);
          }
        }
        assert.equal(pair.real.size, 0);
        assert.equal(pair.model.size, 0);
      }),
      { numRuns: 200 },
    );
  });
});
