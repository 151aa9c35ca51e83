import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TickHistory } from './tick-history.ts';

const quote = (ticker: string, time: number) => ({ ticker, bid: time * 100, ask: time * 100 + 1, time });

describe('TickHistory', () => {
  it('keeps the newest quotes per ticker, oldest first, bounded', () => {
    const history = new TickHistory(3);
    for (let time = 1; time <= 5; time++) history.record(quote('A', time));
    history.record(quote('B', 9));
    assert.deepEqual(
      history.recent('A', 10).map((q) => q.time),
      [3, 4, 5],
    );
    assert.deepEqual(
      history.recent('A', 2).map((q) => q.time),
      [4, 5],
    );
    assert.deepEqual(
      history.recent('B', 10).map((q) => q.time),
      [9],
    );
    assert.deepEqual(history.recent('C', 10), []);
  });

  it('refuses a useless capacity', () => {
    assert.throws(() => new TickHistory(0), RangeError);
  });
});
