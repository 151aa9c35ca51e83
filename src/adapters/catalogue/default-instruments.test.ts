import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PRICE_DECIMALS, QUANTITY_DECIMALS, toScaled } from '../../engine/decimal.ts';
import { CALENDARS, TRADE_MODES } from '../../engine/model.ts';
import { DEFAULT_INSTRUMENTS, findDefaultInstrument } from './default-instruments.ts';

function price(value: string): number {
  const scaled = toScaled(value, PRICE_DECIMALS);
  if (scaled === undefined) throw new Error(`bad price ${value}`);
  return scaled;
}

function quantity(value: string): number {
  const scaled = toScaled(value, QUANTITY_DECIMALS);
  if (scaled === undefined) throw new Error(`bad quantity ${value}`);
  return scaled;
}

const stocks = DEFAULT_INSTRUMENTS.filter((instrument) => instrument.calendar === 'us_equities');
const metals = DEFAULT_INSTRUMENTS.filter((instrument) => /^X(AU|AG)/.test(instrument.ticker));
const fxPairs = DEFAULT_INSTRUMENTS.filter(
  (instrument) => instrument.calendar === 'fx' && !metals.includes(instrument),
);

// A pip is 0.0001 (0.01 for the yen) and pairs quote to a tenth of it, so a pip is always 10 ticks.
const TICKS_PER_PIP = 10;

describe('default instrument catalogue', () => {
  it('has at least 40 instruments with unique tickers', () => {
    assert.ok(DEFAULT_INSTRUMENTS.length >= 40, `only ${DEFAULT_INSTRUMENTS.length} instruments`);
    const tickers = new Set(DEFAULT_INSTRUMENTS.map((instrument) => instrument.ticker));
    assert.equal(tickers.size, DEFAULT_INSTRUMENTS.length);
  });

  it('covers stocks on both exchanges, FX and both metals', () => {
    assert.ok(stocks.length >= 25, `${stocks.length} stocks`);
    assert.ok(stocks.some((instrument) => instrument.ticker.endsWith('.nq')));
    assert.ok(stocks.some((instrument) => instrument.ticker.endsWith('.ny')));
    assert.ok(fxPairs.length >= 12, `${fxPairs.length} FX pairs`);
    assert.deepEqual(metals.map((instrument) => instrument.ticker).sort(), ['XAGUSD', 'XAUUSD']);
    assert.equal(stocks.length + fxPairs.length + metals.length, DEFAULT_INSTRUMENTS.length);
  });

  for (const instrument of DEFAULT_INSTRUMENTS) {
    it(`${instrument.ticker} is internally consistent`, () => {
      assert.ok(instrument.description.length > 0);
      assert.ok(instrument.units.length > 0);
      assert.match(instrument.quoteCurrency, /^[A-Z]{3}$/);
      assert.ok(CALENDARS.includes(instrument.calendar));
      assert.ok(TRADE_MODES.includes(instrument.tradeMode));
      for (const field of [
        'contractSize',
        'minVolume',
        'maxVolume',
        'volumeStep',
        'minTick',
        'leverage',
      ] as const) {
        assert.ok(
          Number.isSafeInteger(instrument[field]) && instrument[field] > 0,
          `${field} is a positive integer`,
        );
      }
      assert.ok(instrument.minVolume <= instrument.maxVolume);
      assert.equal(instrument.minVolume % instrument.volumeStep, 0, 'minVolume is a multiple of volumeStep');
      assert.equal(instrument.maxVolume % instrument.volumeStep, 0, 'maxVolume is a multiple of volumeStep');
      assert.ok(instrument.leverage <= quantity('1'), 'leverage is a margin ratio of at most 1');
      assert.ok(Number.isSafeInteger(instrument.referencePrice) && instrument.referencePrice > 0);
      assert.equal(instrument.referencePrice % instrument.minTick, 0, 'referencePrice is on the tick grid');
      assert.ok(instrument.referencePrice >= 1000 * instrument.minTick, 'price is far above one tick');
      assert.ok(Number.isInteger(instrument.spreadTicks) && instrument.spreadTicks >= 1);
      assert.ok(instrument.volatility > 0 && instrument.volatility < 1);
      assert.equal(findDefaultInstrument(instrument.ticker), instrument);
    });
  }

  it('gives every stock the standard share conditions', () => {
    for (const instrument of stocks) {
      const { ticker } = instrument;
      assert.match(ticker, /^[A-Z]+\.(nq|ny)$/, ticker);
      assert.equal(instrument.contractSize, quantity('1'), ticker);
      assert.equal(instrument.units, 'Share(s)', ticker);
      assert.equal(instrument.minVolume, quantity('1'), ticker);
      assert.equal(instrument.maxVolume, quantity('100000'), ticker);
      assert.equal(instrument.volumeStep, quantity('1'), ticker);
      assert.equal(instrument.minTick, price('0.01'), ticker);
      assert.equal(instrument.leverage, quantity('0.05'), ticker);
      assert.equal(instrument.tradeMode, 'full', ticker);
      assert.equal(instrument.quoteCurrency, 'USD', ticker);
      assert.ok(instrument.spreadTicks >= 1 && instrument.spreadTicks <= 3, ticker);
      assert.ok(instrument.volatility >= 0.15 && instrument.volatility <= 0.6, ticker);
    }
  });

  it('lists the well-known names on their exchanges', () => {
    for (const ticker of [
      'AAPL.nq',
      'MSFT.nq',
      'NVDA.nq',
      'TSLA.nq',
      'QQQ.nq',
      'KO.ny',
      'JPM.ny',
      'SPY.ny',
    ]) {
      assert.ok(findDefaultInstrument(ticker), ticker);
    }
    assert.equal(findDefaultInstrument('AAPL.nq')?.description, 'Apple Inc.');
    assert.equal(findDefaultInstrument('AAPL'), undefined);
  });

  it('gives every FX pair lot conditions and the quote currency of its last three letters', () => {
    for (const instrument of fxPairs) {
      const { ticker } = instrument;
      assert.match(ticker, /^[A-Z]{6}$/, ticker);
      assert.equal(instrument.description, `${ticker.slice(0, 3)}/${ticker.slice(3)}`);
      assert.equal(instrument.quoteCurrency, ticker.slice(3), ticker);
      assert.equal(instrument.contractSize, quantity('100000'), ticker);
      assert.equal(instrument.units, 'Lot(s)', ticker);
      assert.equal(instrument.minVolume, quantity('0.01'), ticker);
      assert.equal(instrument.maxVolume, quantity('100'), ticker);
      assert.equal(instrument.volumeStep, quantity('0.01'), ticker);
      assert.equal(instrument.leverage, quantity('0.01'), ticker);
      assert.equal(instrument.calendar, 'fx', ticker);
      assert.equal(instrument.minTick, price(ticker.endsWith('JPY') ? '0.001' : '0.00001'), ticker);
      const pips = instrument.spreadTicks / TICKS_PER_PIP;
      assert.ok(pips >= 0.5 && pips <= 1.5, `${ticker} spread ${pips} pips`);
      assert.ok(instrument.volatility >= 0.05 && instrument.volatility <= 0.12, ticker);
    }
  });

  it('quotes JPY pairs to 0.001', () => {
    const jpy = fxPairs.filter((instrument) => instrument.ticker.endsWith('JPY'));
    assert.ok(jpy.length >= 3);
    for (const instrument of jpy) assert.equal(instrument.minTick, price('0.001'), instrument.ticker);
  });

  it('gives gold and silver their contract conditions', () => {
    const gold = findDefaultInstrument('XAUUSD');
    const silver = findDefaultInstrument('XAGUSD');
    assert.ok(gold && silver);
    assert.equal(gold.description, 'Gold vs US Dollar');
    assert.equal(gold.contractSize, quantity('100'));
    assert.equal(gold.minTick, price('0.01'));
    assert.equal(silver.contractSize, quantity('5000'));
    assert.equal(silver.minTick, price('0.001'));
    for (const metal of [gold, silver]) {
      assert.equal(metal.units, 'Troy ounce(s)');
      assert.equal(metal.minVolume, quantity('0.01'));
      assert.equal(metal.maxVolume, quantity('50'));
      assert.equal(metal.volumeStep, quantity('0.01'));
      assert.equal(metal.leverage, quantity('0.05'));
      assert.equal(metal.quoteCurrency, 'USD');
      assert.equal(metal.calendar, 'fx');
    }
    assert.ok(gold.spreadTicks >= 20 && gold.spreadTicks <= 30);
  });

  it('cannot be changed by accident', () => {
    const first = DEFAULT_INSTRUMENTS[0];
    assert.ok(first);
    assert.ok(Object.isFrozen(DEFAULT_INSTRUMENTS));
    assert.ok(Object.isFrozen(first));
  });
});
