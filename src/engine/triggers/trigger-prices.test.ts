/**
 * Which price a quote's triggers compare: the last on a last-triggered instrument while it is no
 * older than the bid/ask by more than the quote age limit, else bid/ask (undefined).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { findDefaultInstrument } from '../../adapters/catalogue/default-instruments.ts';
import { createEngineState, type EngineState } from '../engine-state.ts';
import { SequentialIds } from '../ids.ts';
import type { Quote } from '../model.ts';
import { lastTriggerPrice } from './trigger-prices.ts';

const NOW = 1_760_000_000;

function state(maxQuoteAgeSeconds: number | null): EngineState {
  const engineState = createEngineState({
    ids: new SequentialIds(0, 0),
    marketHours: 'ignore',
    stopOutLevel: 50,
    marginCallLevel: 100,
    maxQuoteAgeSeconds,
  });
  for (const ticker of ['AAPL.nq', 'EURUSD']) {
    const instrument = findDefaultInstrument(ticker);
    if (!instrument) throw new Error(`no ${ticker}`);
    engineState.instruments.set(ticker, instrument);
  }
  return engineState;
}

function quote(ticker: string, last?: number, lastTime?: number): Quote {
  const value: Quote = { ticker, bid: 1_000, ask: 1_002, time: NOW };
  if (last !== undefined) value.last = last;
  if (lastTime !== undefined) value.lastTime = lastTime;
  return value;
}

describe('lastTriggerPrice', () => {
  it('is the last of a last-triggered instrument, and nothing without one', () => {
    const withLimit = state(60);
    assert.equal(lastTriggerPrice(withLimit, quote('AAPL.nq', 1_001, NOW)), 1_001);
    assert.equal(lastTriggerPrice(withLimit, quote('AAPL.nq')), undefined);
    // A last without its own time is as fresh as the bid/ask it came with.
    assert.equal(lastTriggerPrice(withLimit, quote('AAPL.nq', 1_001)), 1_001);
  });

  it('is nothing on a bid_ask instrument, last or not', () => {
    assert.equal(lastTriggerPrice(state(60), quote('EURUSD', 1_001, NOW)), undefined);
    const switched = state(60);
    const aapl = switched.instruments.get('AAPL.nq');
    if (!aapl) throw new Error('no AAPL.nq');
    switched.instruments.set('AAPL.nq', { ...aapl, triggerSource: 'bid_ask' });
    assert.equal(lastTriggerPrice(switched, quote('AAPL.nq', 1_001, NOW)), undefined);
  });

  it('holds a last up to the quote age limit behind the bid/ask, never past it', () => {
    const withLimit = state(60);
    assert.equal(lastTriggerPrice(withLimit, quote('AAPL.nq', 1_001, NOW - 60)), 1_001);
    assert.equal(lastTriggerPrice(withLimit, quote('AAPL.nq', 1_001, NOW - 61)), undefined);
    // With the age check off, a last never goes stale.
    assert.equal(lastTriggerPrice(state(null), quote('AAPL.nq', 1_001, NOW - 86_400)), 1_001);
  });
});
