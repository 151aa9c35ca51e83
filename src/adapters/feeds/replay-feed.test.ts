import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createWriteStream, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import type { Logger, QuoteSink } from '../../application/ports.ts';
import { PRICE_DECIMALS, toScaled, type Price } from '../../engine/decimal.ts';
import type { Quote } from '../../engine/model.ts';
import { findDefaultInstrument } from '../catalogue/default-instruments.ts';
import { ControllableClock } from '../clock/controllable-clock.ts';
import { barPathQuotes, isMalformed, parseHeader, parseTime, ReplayRowParser } from './replay-csv.ts';
import { ReplayFeed, type ReplayFeedOptions } from './replay-feed.ts';
import { MAX_BUFFERED_QUOTES, ReplayTimeline } from './replay-timeline.ts';
import { waitFor } from '../../../test/support/wait-for.ts';

const T0 = 1_773_153_000; // 2026-03-10T14:30:00Z
const SAMPLES = fileURLToPath(new URL('../../../samples/replay/', import.meta.url));

function price(text: string): Price {
  const scaled = toScaled(text, PRICE_DECIMALS);
  assert.ok(scaled !== undefined, text);
  return scaled;
}

interface LogLine {
  level: 'debug' | 'info' | 'warn' | 'error';
  object: object;
  message: string;
}

function recordingLogger(): Logger & { lines: LogLine[] } {
  const lines: LogLine[] = [];
  const record =
    (level: LogLine['level']) =>
    (object: object, message = ''): void => {
      lines.push({ level, object, message });
    };
  return {
    lines,
    debug: record('debug'),
    info: record('info'),
    warn: record('warn'),
    error: record('error'),
  };
}

interface Delivery {
  quotes: readonly Quote[];
  clockMs: number;
  wallMs: number;
}

function recordingSink(clock: ControllableClock): { sink: QuoteSink; deliveries: Delivery[] } {
  const deliveries: Delivery[] = [];
  const sink: QuoteSink = async (quotes) => {
    deliveries.push({ quotes, clockMs: clock.nowMs(), wallMs: performance.now() });
  };
  return { sink, deliveries };
}

let directory: string;
let fileCount = 0;

function csv(...lines: string[]): string {
  const path = join(directory, `replay-${++fileCount}.csv`);
  writeFileSync(path, lines.join('\n') + '\n');
  return path;
}

interface Harness {
  feed: ReplayFeed;
  clock: ControllableClock;
  logger: ReturnType<typeof recordingLogger>;
  deliveries: Delivery[];
  quotes: () => Quote[];
}

function harness(files: string[], options: Partial<ReplayFeedOptions> = {}, sink?: QuoteSink): Harness {
  const clock = options.clock ?? new ControllableClock(() => 0);
  const logger = recordingLogger();
  const recorder = recordingSink(clock);
  const feed = new ReplayFeed({
    files,
    instruments: findDefaultInstrument,
    clock,
    speed: 0,
    onMalformed: 'fail',
    logger,
    ...options,
  });
  feed.start(sink ?? recorder.sink);
  return {
    feed,
    clock,
    logger,
    deliveries: recorder.deliveries,
    quotes: () => recorder.deliveries.flatMap((delivery) => delivery.quotes),
  };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls until `condition` holds, so tests wait for behaviour rather than for a guessed duration. */

/** Time and ticker of each data row of a sample file. */
function sampleRows(file: string): { timeMs: number; ticker: string }[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line !== '' && !line.startsWith('#') && !line.startsWith('time,'))
    .map((line) => {
      const [time = '', ticker = ''] = line.split(',');
      const timeMs = parseTime(time);
      assert.ok(typeof timeMs === 'number', line);
      return { timeMs, ticker };
    });
}

function warnings(logger: ReturnType<typeof recordingLogger>): string[] {
  return logger.lines.filter((line) => line.level === 'warn').map((line) => line.message);
}

before(() => {
  directory = mkdtempSync(join(tmpdir(), 'replay-feed-'));
});

after(() => {
  rmSync(directory, { recursive: true, force: true });
});

describe('replay CSV parsing', () => {
  it('reads Unix seconds, decimal seconds and ISO-8601 with a zone', () => {
    assert.equal(parseTime('1773153000'), T0 * 1000);
    assert.equal(parseTime('1773153000.25'), T0 * 1000 + 250);
    assert.equal(parseTime('1773153000.123456'), T0 * 1000 + 123);
    assert.equal(parseTime('2026-03-10T14:30:00Z'), T0 * 1000);
    assert.equal(parseTime('2026-03-10 14:30:00.5Z'), T0 * 1000 + 500);
    assert.equal(parseTime('2026-03-10T10:30:00-04:00'), T0 * 1000);
    assert.equal(parseTime('2026-03-10T16:30+0200'), T0 * 1000);
    assert.equal(parseTime('2026-03-10'), Date.UTC(2026, 2, 10));
  });

  it('refuses times it would have to guess', () => {
    for (const [text, fragment] of [
      ['1773153000000', 'milliseconds'],
      ['2026-03-10T14:30:00', 'no time zone'],
      ['2026-02-30T00:00:00Z', 'not a valid date'],
      ['2026-03-10T24:00:00Z', 'not a valid date'],
      ['-5', 'neither'],
      ['yesterday', 'neither'],
      ['', 'neither'],
    ] as const) {
      const parsed = parseTime(text);
      assert.ok(
        typeof parsed !== 'number' && parsed.reason.includes(fragment),
        `${text}: ${JSON.stringify(parsed)}`,
      );
    }
  });

  it('recognises both shapes by their header, in any column order', () => {
    assert.deepEqual(parseHeader('time,ticker,bid,ask'), {
      shape: 'ticks',
      width: 4,
      time: 0,
      ticker: 1,
      bid: 2,
      ask: 3,
      last: undefined,
    });
    const bars = parseHeader('Ticker, Time, Open, High, Low, Close, Volume');
    assert.ok(!isMalformed(bars) && bars.shape === 'bars' && bars.time === 1 && bars.volume === 6);
    for (const bad of [
      'time,ticker,bid',
      'time,ticker,bid,ask,open',
      'time,symbol,bid,ask',
      'time,ticker,bid,bid,ask',
    ]) {
      assert.ok(isMalformed(parseHeader(bad)), bad);
    }
  });

  it('parses tick prices exactly and checks them against the instrument', () => {
    const header = parseHeader('time,ticker,bid,ask,last');
    assert.ok(!isMalformed(header));
    const parser = new ReplayRowParser(header, {
      instruments: findDefaultInstrument,
      barSpreadTicks: undefined,
    });
    assert.deepEqual(parser.parse('1773153000,EURUSD,1.15833,1.15839,'), {
      kind: 'tick',
      timeMs: T0 * 1000,
      quote: { ticker: 'EURUSD', bid: 115_833_000, ask: 115_839_000, time: T0 },
    });
    for (const [line, fragment] of [
      ['1773153000,EURUSD,1.158333,1.15839,', 'min_tick grid'],
      ['1773153000,EURUSD,1.15840,1.15839,', 'above ask'],
      ['1773153000,EURUSD,0,1.15839,', 'greater than 0'],
      ['1773153000,EURUSD,1.1e0,1.15839,', 'not a valid price'],
      ['1773153000,NOPE,1,2,', 'unknown ticker'],
      ['1773153000,EURUSD,1.15833,1.15839', 'expected 5 columns, found 4'],
    ] as const) {
      const row = parser.parse(line);
      assert.ok(isMalformed(row) && row.reason.includes(fragment), `${line}: ${JSON.stringify(row)}`);
    }
  });
});

describe('bar paths', () => {
  const tick = price('0.01');
  const bar = (open: string, high: string, low: string, close: string) => ({
    open: price(open),
    high: price(high),
    low: price(low),
    close: price(close),
  });
  const bids = (path: ReturnType<typeof barPathQuotes>): Price[] => {
    assert.ok(!isMalformed(path));
    return path.map((quote) => quote.bid);
  };

  it('visits the extreme nearer the open first, the high on a tie', () => {
    // Spread 0 so that the bids are the bar prices themselves.
    assert.deepEqual(bids(barPathQuotes(bar('100.02', '100.10', '100.00', '100.05'), tick, 0)), [
      price('100.02'),
      price('100.00'),
      price('100.10'),
      price('100.05'),
    ]);
    assert.deepEqual(bids(barPathQuotes(bar('100.08', '100.10', '100.00', '100.05'), tick, 0)), [
      price('100.08'),
      price('100.10'),
      price('100.00'),
      price('100.05'),
    ]);
    assert.deepEqual(bids(barPathQuotes(bar('100.05', '100.10', '100.00', '100.05'), tick, 0)), [
      price('100.05'),
      price('100.10'),
      price('100.00'),
      price('100.05'),
    ]);
  });

  it('lowers the bid so the ask never passes the high, and keeps the bid above the low', () => {
    const path = barPathQuotes(bar('100.02', '100.10', '100.00', '100.09'), tick, 3);
    assert.ok(!isMalformed(path));
    assert.deepEqual(path, [
      { bid: price('100.02'), ask: price('100.05') },
      { bid: price('100.00'), ask: price('100.03') },
      { bid: price('100.07'), ask: price('100.10') },
      { bid: price('100.07'), ask: price('100.10') },
    ]);
    // Narrower than the spread: the whole bar.
    const narrow = barPathQuotes(bar('100.01', '100.02', '100.00', '100.01'), tick, 5);
    assert.ok(!isMalformed(narrow));
    for (const quote of narrow) assert.deepEqual(quote, { bid: price('100.00'), ask: price('100.02') });
  });

  it('quotes one tick above a bar with a single price (the documented exception)', () => {
    const flat = barPathQuotes(bar('100.00', '100.00', '100.00', '100.00'), tick, 2);
    assert.ok(!isMalformed(flat));
    for (const quote of flat) assert.deepEqual(quote, { bid: price('100.00'), ask: price('100.01') });
  });

  it('snaps off-grid bars inside the bar, and refuses a bar with no grid price', () => {
    const path = barPathQuotes(bar('100.005', '100.097', '100.003', '100.05'), tick, 1);
    assert.ok(!isMalformed(path));
    for (const quote of path) {
      assert.ok(quote.bid >= price('100.01') && quote.ask <= price('100.09'), JSON.stringify(quote));
    }
    assert.ok(isMalformed(barPathQuotes(bar('100.004', '100.007', '100.003', '100.005'), tick, 1)));
  });

  it('never quotes outside the bar, always on the grid (property)', () => {
    fc.assert(
      fc.property(
        fc.record({
          tick: fc.constantFrom(1, 1000, 100_000, 1_000_000, 2_500_000),
          spreadTicks: fc.integer({ min: 0, max: 20 }),
          low: fc.integer({ min: 1, max: 10_000_000_000 }),
          width: fc.integer({ min: 0, max: 50_000_000 }),
          open: fc.double({ min: 0, max: 1, noNaN: true }),
          close: fc.double({ min: 0, max: 1, noNaN: true }),
        }),
        ({ tick, spreadTicks, low, width, open, close }) => {
          const high = low + width;
          const prices = {
            low,
            high,
            open: low + Math.round(open * width),
            close: low + Math.round(close * width),
          };
          const path = barPathQuotes(prices, tick, spreadTicks);
          const lowTicks = Math.ceil(low / tick);
          const highTicks = Math.floor(high / tick);
          if (lowTicks > highTicks) {
            assert.ok(isMalformed(path));
            return;
          }
          assert.ok(!isMalformed(path));
          assert.equal(path.length, 4);
          const singlePrice = lowTicks === highTicks && spreadTicks > 0;
          for (const { bid, ask } of path) {
            assert.equal(bid % tick, 0, 'bid on the grid');
            assert.equal(ask % tick, 0, 'ask on the grid');
            assert.ok(bid > 0 && bid <= ask);
            assert.ok(bid >= low, `bid ${bid} >= low ${low}`);
            assert.ok(bid <= high, `bid ${bid} <= high ${high}`);
            if (singlePrice) assert.equal(ask, bid + tick, 'single-price bar: one tick above');
            else assert.ok(ask <= high, `ask ${ask} <= high ${high}`);
            assert.ok(ask - bid <= spreadTicks * tick || singlePrice, 'spread never wider than asked');
          }
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe('ReplayFeed', () => {
  it('delivers ticks exactly, batching rows with the same time, with the clock on the data', async () => {
    const file = csv(
      'time,ticker,bid,ask,last',
      `${T0},AAPL.nq,271.40,271.41,271.41`,
      `${T0},EURUSD,1.15833,1.15839,`,
      '',
      '# a comment',
      `2026-03-10T14:30:01Z,AAPL.nq,271.42,271.43,`,
      `${T0 + 1}.5,EURUSD,1.15830,1.15838,`,
      `2026-03-10T10:30:02.250-04:00,AAPL.nq,271.43,271.45,271.44`,
    );
    const run = harness([file]);
    assert.equal(await run.feed.done(), 'finished');
    assert.deepEqual(
      run.deliveries.map((delivery) => delivery.quotes.length),
      [2, 1, 1, 1],
    );
    assert.deepEqual(
      run.deliveries.map((delivery) => delivery.clockMs),
      [T0 * 1000, (T0 + 1) * 1000, (T0 + 1) * 1000 + 500, (T0 + 2) * 1000 + 250],
    );
    assert.equal(run.clock.mode, 'replay');
    assert.deepEqual(run.quotes(), [
      {
        ticker: 'AAPL.nq',
        bid: price('271.40'),
        ask: price('271.41'),
        time: T0,
        last: price('271.41'),
        lastTime: T0,
      },
      { ticker: 'EURUSD', bid: price('1.15833'), ask: price('1.15839'), time: T0 },
      { ticker: 'AAPL.nq', bid: price('271.42'), ask: price('271.43'), time: T0 + 1 },
      { ticker: 'EURUSD', bid: price('1.1583'), ask: price('1.15838'), time: T0 + 1 },
      {
        ticker: 'AAPL.nq',
        bid: price('271.43'),
        ask: price('271.45'),
        time: T0 + 2,
        last: price('271.44'),
        lastTime: T0 + 2,
      },
    ]);
    const status = run.feed.status();
    assert.equal(status.state, 'finished');
    assert.equal(status.detail.quotes_sent, 5);
    assert.equal(status.detail.percent, 100);
    assert.equal(status.detail.data_time, '2026-03-10T14:30:02.250Z');
    assert.ok(run.logger.lines.some((line) => line.message === 'replay finished: 5 quotes from 1 files'));
  });

  it('never moves the clock backwards, even when it starts ahead of the data', async () => {
    const clock = new ControllableClock(() => 0);
    clock.setReplay((T0 + 5) * 1000);
    const file = csv(
      'time,ticker,bid,ask',
      ...[0, 3, 6, 9].map((offset) => `${T0 + offset},EURUSD,1.1,1.10001`),
    );
    const run = harness([file], { clock });
    assert.equal(await run.feed.done(), 'finished');
    assert.deepEqual(
      run.deliveries.map((delivery) => delivery.clockMs),
      [(T0 + 5) * 1000, (T0 + 5) * 1000, (T0 + 6) * 1000, (T0 + 9) * 1000],
    );
  });

  it('waits (data gap / speed) between batches, and not at speed 0', async () => {
    const file = csv(
      'time,ticker,bid,ask',
      ...[0, 1, 2, 3].map((offset) => `${T0 + offset},EURUSD,1.1,1.10001`),
    );
    const paced = harness([file], { speed: 100 });
    assert.equal(await paced.feed.done(), 'finished');
    const walls = paced.deliveries.map((delivery) => delivery.wallMs);
    const gaps = walls.slice(1).map((wall, index) => wall - (walls[index] ?? wall));
    assert.equal(gaps.length, 3);
    // 1 s of data at speed 100 is 10 ms of wall time; timers may fire a little early or late.
    for (const gap of gaps) assert.ok(gap >= 8, `gap ${gap} ms`);

    const fast = harness([file], { speed: 0 });
    assert.equal(await fast.feed.done(), 'finished');
    assert.deepEqual(
      fast.deliveries.map((delivery) => delivery.clockMs),
      paced.deliveries.map((delivery) => delivery.clockMs),
    );
  });

  it('stops promptly in the middle of a long wait', async () => {
    const file = csv('time,ticker,bid,ask', `${T0},EURUSD,1.1,1.10001`, `${T0 + 3600},EURUSD,1.1,1.10001`);
    const run = harness([file], { speed: 1 });
    await waitFor('the first delivery', () => run.deliveries.length === 1, { timeoutMs: 2_000 });
    await sleep(20);
    assert.equal(run.deliveries.length, 1);
    assert.equal(run.feed.status().state, 'running');
    const started = performance.now();
    await run.feed.stop();
    assert.ok(performance.now() - started < 500);
    assert.equal(run.feed.status().state, 'stopped');
    assert.equal(run.deliveries.length, 1);
  });

  it('pauses after the batch in flight, resumes, and stops after the sink call in flight', async () => {
    const file = csv(
      'time,ticker,bid,ask',
      ...[0, 1, 2, 3, 4, 5].map((offset) => `${T0 + offset},EURUSD,1.1,1.10001`),
    );
    const clock = new ControllableClock(() => 0);
    const delivered: number[] = [];
    let releaseSink: (() => void) | undefined;
    const sink: QuoteSink = async (quotes) => {
      delivered.push(quotes[0]?.time ?? 0);
      if (delivered.length === 2) run.feed.pause();
      if (delivered.length === 4) {
        // A slow sink: stop() must wait for it.
        await new Promise<void>((resolve) => {
          releaseSink = resolve;
        });
      }
    };
    const run = harness([file], { clock }, sink);
    await waitFor('two deliveries', () => delivered.length === 2, { timeoutMs: 2_000 });
    await sleep(20);
    assert.equal(run.feed.status().state, 'paused');
    assert.deepEqual(delivered, [T0, T0 + 1]);
    assert.equal(clock.nowMs(), (T0 + 1) * 1000);

    run.feed.resume();
    await waitFor('four deliveries', () => delivered.length === 4, { timeoutMs: 2_000 });
    assert.deepEqual(delivered, [T0, T0 + 1, T0 + 2, T0 + 3]);
    let stopped = false;
    const stopping = run.feed.stop().then(() => {
      stopped = true;
    });
    await sleep(20);
    assert.equal(stopped, false, 'stop waits for the sink call in flight');
    releaseSink?.();
    await stopping;
    assert.equal(run.feed.status().state, 'stopped');
    assert.deepEqual(delivered, [T0, T0 + 1, T0 + 2, T0 + 3]);
  });

  it('replays files in order and refuses a file that goes back in time', async () => {
    const first = csv('time,ticker,bid,ask', `${T0},EURUSD,1.1,1.10001`, `${T0 + 1},EURUSD,1.1,1.10002`);
    const second = csv('time,ticker,bid,ask', `${T0 + 1},EURUSD,1.1,1.10003`, `${T0 + 2},EURUSD,1.1,1.10004`);
    const run = harness([first, second]);
    assert.equal(await run.feed.done(), 'finished');
    assert.deepEqual(
      run.quotes().map((quote) => quote.ask),
      ['1.10001', '1.10002', '1.10003', '1.10004'].map(price),
    );
    // The same-time rows across the two files are one batch.
    assert.equal(run.deliveries.length, 3);
    assert.ok(run.logger.lines.some((line) => line.message === 'replay finished: 4 quotes from 2 files'));

    const earlier = csv('time,ticker,bid,ask', `${T0},EURUSD,1.1,1.10005`);
    const backwards = harness([second, earlier]);
    assert.equal(await backwards.feed.done(), 'failed');
    assert.match(
      String(backwards.feed.status().detail.last_error),
      new RegExp(`^${earlier}:2: time .* before`),
    );
  });

  it('reports malformed lines with file:line and skips them in skip mode', async () => {
    const file = csv(
      'time,ticker,bid,ask',
      `${T0},EURUSD,1.1,1.10001`,
      `${T0},EURUSD,1.1`,
      `${T0},EURUSD,abc,1.1`,
      `${T0},NOPE,1.1,1.2`,
      `${T0 + 2},EURUSD,1.1,1.10001`,
      `${T0 + 1},EURUSD,1.1,1.10001`,
      `${T0 + 2},EURUSD,1.2,1.1`,
      `2026-03-10T14:30:03,EURUSD,1.1,1.10001`,
      `${T0 + 3},EURUSD,1.1,1.10002`,
    );
    const run = harness([file], { onMalformed: 'skip' });
    assert.equal(await run.feed.done(), 'finished');
    assert.deepEqual(warnings(run.logger), [
      `${file}:3: expected 4 columns, found 3`,
      `${file}:4: bid "abc" is not a valid price`,
      `${file}:5: unknown ticker "NOPE"`,
      `${file}:7: time 2026-03-10T14:30:01.000Z is before the previous row's 2026-03-10T14:30:02.000Z: rows (and files) must be in time order`,
      `${file}:8: bid 1.2 is above ask 1.1`,
      `${file}:9: time "2026-03-10T14:30:03" has no time zone: add Z for UTC (or an offset such as -05:00)`,
    ]);
    assert.equal(run.feed.status().detail.skipped_lines, 6);
    assert.equal(run.quotes().length, 3);
  });

  it('fails on the first malformed line in fail mode and delivers nothing after it', async () => {
    const file = csv(
      'time,ticker,bid,ask',
      `${T0},EURUSD,1.1,1.10001`,
      `${T0 + 1},EURUSD,1.1,1.10001`,
      `${T0 + 2},EURUSD,1.2,1.1`,
      `${T0 + 3},EURUSD,1.1,1.10001`,
    );
    const run = harness([file], { onMalformed: 'fail' });
    assert.equal(await run.feed.done(), 'failed');
    const status = run.feed.status();
    assert.equal(status.state, 'failed');
    assert.equal(status.detail.last_error, `${file}:4: bid 1.2 is above ask 1.1`);
    assert.deepEqual(warnings(run.logger), [`${file}:4: bid 1.2 is above ask 1.1`]);
    assert.ok(run.logger.lines.some((line) => line.level === 'error'));
    assert.deepEqual(
      run.quotes().map((quote) => quote.time),
      [T0],
      'the rows before the bad line at the last time are not delivered either',
    );
    assert.equal(run.clock.nowMs(), T0 * 1000);
  });

  it('treats a bad header as malformed: fail stops, skip skips the file', async () => {
    const bad = csv('time,symbol,bid,ask', `${T0},EURUSD,1.1,1.10001`);
    const good = csv('time,ticker,bid,ask', `${T0},EURUSD,1.1,1.10001`);
    const failing = harness([bad, good], { onMalformed: 'fail' });
    assert.equal(await failing.feed.done(), 'failed');
    assert.match(
      String(failing.feed.status().detail.last_error),
      new RegExp(`^${bad}:1: unknown column "symbol"`),
    );

    const skipping = harness([bad, good], { onMalformed: 'skip' });
    assert.equal(await skipping.feed.done(), 'finished');
    assert.equal(skipping.quotes().length, 1);
    assert.equal(skipping.feed.status().detail.skipped_files, 1);
    assert.match(
      warnings(skipping.logger)[0] ?? '',
      new RegExp(`^${bad}:1: .*skipping the rest of the file`),
    );
  });

  it('fails when the sink fails', async () => {
    const file = csv('time,ticker,bid,ask', `${T0},EURUSD,1.1,1.10001`, `${T0 + 1},EURUSD,1.1,1.10001`);
    const run = harness([file], {}, async () => {
      throw new Error('disk full');
    });
    assert.equal(await run.feed.done(), 'failed');
    assert.match(String(run.feed.status().detail.last_error), /disk full/);
  });

  it('refuses a missing file and bad options at construction', () => {
    const base = {
      instruments: findDefaultInstrument,
      clock: new ControllableClock(),
      speed: 0,
      onMalformed: 'fail' as const,
      logger: recordingLogger(),
    };
    assert.throws(() => new ReplayFeed({ ...base, files: [join(directory, 'missing.csv')] }), /missing\.csv/);
    assert.throws(() => new ReplayFeed({ ...base, files: [] }), /at least one file/);
    const file = csv('time,ticker,bid,ask');
    assert.throws(() => new ReplayFeed({ ...base, files: [file], speed: -1 }), /speed/);
    assert.throws(() => new ReplayFeed({ ...base, files: [file], barSpreadTicks: 1.5 }), /spread/);
  });

  describe('bars', () => {
    it('replays each bar as four quotes over its interval, in time order across tickers', async () => {
      const file = csv(
        'time,ticker,open,high,low,close,volume',
        // AAPL: open nearer the low, so low first. MSFT: open nearer the high, so high first.
        `${T0},AAPL.nq,100.02,100.10,100.00,100.05,1000`,
        `${T0},MSFT.nq,200.08,200.10,200.00,200.05,`,
        `${T0 + 60},AAPL.nq,100.05,100.06,100.04,100.05,1000`,
        `${T0 + 60},MSFT.nq,200.05,200.05,200.05,200.05,1000`,
      );
      const run = harness([file], { barSpreadTicks: 1 });
      assert.equal(await run.feed.done(), 'finished');
      const aapl = run.quotes().filter((quote) => quote.ticker === 'AAPL.nq');
      const msft = run.quotes().filter((quote) => quote.ticker === 'MSFT.nq');
      assert.deepEqual(
        aapl.slice(0, 4).map((quote) => [quote.time, quote.bid, quote.ask]),
        [
          [T0, price('100.02'), price('100.03')],
          [T0 + 15, price('100.00'), price('100.01')],
          [T0 + 30, price('100.09'), price('100.10')],
          [T0 + 45, price('100.05'), price('100.06')],
        ],
      );
      assert.deepEqual(
        msft.slice(0, 4).map((quote) => quote.bid),
        ['200.08', '200.09', '200.00', '200.05'].map(price),
      );
      // The last bars have no next bar: they use the interval seen (60 s).
      assert.deepEqual(
        aapl.slice(4).map((quote) => quote.time),
        [T0 + 60, T0 + 75, T0 + 90, T0 + 105],
      );
      // A single-price bar: the documented one-tick exception.
      assert.deepEqual(msft[4], {
        ticker: 'MSFT.nq',
        bid: price('200.05'),
        ask: price('200.06'),
        time: T0 + 60,
      });
      const times = run.deliveries.map((delivery) => delivery.clockMs);
      assert.deepEqual(
        times,
        [...times].sort((a, b) => a - b),
      );
      assert.equal(new Set(times).size, times.length, 'one batch per time');
      assert.equal(run.deliveries[0]?.quotes.length, 2, 'both opens in one batch');
      for (const quote of run.quotes())
        assert.ok(quote.ask <= price(quote.ticker === 'AAPL.nq' ? '100.10' : '200.10'));
    });

    it('does not stretch a bar over a gap, and gives a lone bar 60 s', async () => {
      const file = csv(
        'time,ticker,open,high,low,close',
        `${T0},AAPL.nq,100,100.1,100,100.1`,
        `${T0 + 60},AAPL.nq,100,100.1,100,100.1`,
        `${T0 + 86_400},AAPL.nq,100,100.1,100,100.1`,
        `${T0 + 86_400},MSFT.nq,200,200.1,200,200.1`,
      );
      const run = harness([file], { barSpreadTicks: 1 });
      assert.equal(await run.feed.done(), 'finished');
      const aaplTimes = run
        .quotes()
        .filter((quote) => quote.ticker === 'AAPL.nq')
        .map((quote) => quote.time - T0);
      assert.deepEqual(aaplTimes, [0, 15, 30, 45, 60, 75, 90, 105, 86_400, 86_415, 86_430, 86_445]);
      const msftTimes = run
        .quotes()
        .filter((quote) => quote.ticker === 'MSFT.nq')
        .map((quote) => quote.time - T0);
      // MSFT has a single bar: the shortest interval of any ticker (60 s).
      assert.deepEqual(msftTimes, [86_400, 86_415, 86_430, 86_445]);
    });

    it('refuses a bar that is inconsistent or repeats a time', async () => {
      const file = csv(
        'time,ticker,open,high,low,close',
        `${T0},AAPL.nq,100.2,100.1,100,100.1`,
        `${T0},AAPL.nq,100,100.1,100.2,100.1`,
        `${T0},AAPL.nq,100,100.1,100,100.1`,
        `${T0},AAPL.nq,100,100.1,100,100.1`,
      );
      const run = harness([file], { onMalformed: 'skip' });
      assert.equal(await run.feed.done(), 'finished');
      assert.deepEqual(warnings(run.logger), [
        `${file}:2: open 100.2 is outside [low 100, high 100.1]`,
        `${file}:3: low 100.2 is above high 100.1`,
        `${file}:5: a second bar for AAPL.nq at the same time 2026-03-10T14:30:00.000Z`,
      ]);
      assert.equal(run.quotes().length, 4);
    });
  });

  it('settles a lone bar early once too many quotes wait behind it', () => {
    const timeline = new ReplayTimeline();
    const path = [1, 2, 3, 4].map((bid) => ({ bid: bid * 1000, ask: bid * 1000 + 1000 }));
    const prices = { open: 1000, high: 4000, low: 1000, close: 4000 };
    const bar = { kind: 'bar' as const, timeMs: T0 * 1000, ticker: 'MSFT.nq', path, prices, volume: 0 };
    assert.equal(timeline.add(bar), undefined);
    const quote = (time: number): Quote => ({ ticker: 'EURUSD', bid: 1000, ask: 2000, time });
    let delivered = 0;
    for (let row = 1; row <= MAX_BUFFERED_QUOTES + 10; row++) {
      timeline.add({ kind: 'tick', timeMs: T0 * 1000 + row, quote: quote(T0) });
      for (let batch = timeline.nextBatch(); batch; batch = timeline.nextBatch())
        delivered += batch.quotes.length;
    }
    // Without the valve nothing could be delivered before the end: the bar's interval is unknown.
    assert.ok(delivered > 0);
    assert.ok(timeline.buffered <= MAX_BUFFERED_QUOTES + 10);
  });

  it('plays the shipped samples with no malformed line', async () => {
    const files = [join(SAMPLES, 'ticks.csv'), join(SAMPLES, 'bars.csv')];
    for (const file of files) {
      const run = harness([file], { onMalformed: 'skip' });
      assert.equal(await run.feed.done(), 'finished', file);
      assert.deepEqual(warnings(run.logger), [], file);
      assert.equal(run.feed.status().detail.skipped_lines, 0);
      assert.ok(run.quotes().length >= 200, `${file}: ${run.quotes().length} quotes`);
      for (const quote of run.quotes()) assert.ok(quote.bid > 0 && quote.bid <= quote.ask);
    }
    // The samples chain into one timeline, as in the README's example.
    const chained = harness(files, { onMalformed: 'fail' });
    assert.equal(await chained.feed.done(), 'finished');
    assert.deepEqual(warnings(chained.logger), []);
    // The bars file starts after the ticks file ends, and quotes the same instruments, so a position
    // opened on the ticks can be closed on the bars.
    const tickRows = sampleRows(files[0] ?? '');
    const barRows = sampleRows(files[1] ?? '');
    const lastTick = Math.max(...tickRows.map((row) => row.timeMs));
    const firstBar = Math.min(...barRows.map((row) => row.timeMs));
    assert.ok(firstBar > lastTick, `bars start ${firstBar} after the last tick ${lastTick}`);
    const tickers = (rows: { ticker: string }[]): string[] =>
      [...new Set(rows.map((row) => row.ticker))].sort();
    assert.deepEqual(tickers(tickRows), tickers(barRows));
    assert.ok(tickers(tickRows).length >= 2);
  });

  it('streams a large file instead of loading it whole', async () => {
    const path = join(directory, 'large.csv');
    const lines = 200_000;
    const stream = createWriteStream(path);
    stream.write('time,ticker,bid,ask\n');
    // Four quotes per second, so one batch per second.
    for (let row = 0; row < lines; row++) {
      const bid = 11_000 + (row % 97);
      if (!stream.write(`${T0 + Math.floor(row / 4)},EURUSD,1.${bid},1.${bid + 5}\n`))
        await once(stream, 'drain');
    }
    stream.end();
    await once(stream, 'finish');

    let bytesReadEarly: number | undefined;
    let bytesTotal = 0;
    let calls = 0;
    const sink: QuoteSink = async () => {
      calls++;
      if (calls === 1000) {
        const detail = run.feed.status().detail;
        bytesReadEarly = Number(detail.bytes_read);
        bytesTotal = Number(detail.bytes_total);
      }
    };
    const rssBefore = process.memoryUsage().rss;
    const run = harness([path], { speed: 0 }, sink);
    assert.equal(await run.feed.done(), 'finished');
    assert.equal(run.feed.status().detail.quotes_sent, lines);
    assert.equal(calls, lines / 4);
    // Back-pressure: after 1000 of 50000 batches the reader is far from the end of the file.
    assert.ok(
      bytesReadEarly !== undefined && bytesReadEarly < bytesTotal / 4,
      `${bytesReadEarly} of ${bytesTotal}`,
    );
    assert.ok(process.memoryUsage().rss - rssBefore < 200 * 1024 * 1024);
  });

  it('logs progress with percent, data time, quotes sent and lines skipped', async () => {
    const file = csv('time,ticker,bid,ask', `${T0},EURUSD,1.1,1.10001`, `${T0 + 1},EURUSD,1.1,1.10001`);
    const run = harness([file], { speed: 20, progressIntervalMs: 5 });
    assert.equal(await run.feed.done(), 'finished');
    const progress = run.logger.lines.find(
      (line) => line.level === 'info' && line.message.startsWith('replay '),
    );
    assert.ok(progress, 'a progress line');
    assert.match(
      progress.message,
      /^replay [\d.]+% applied: data time .*, \d+ quotes sent, 0 lines skipped$/,
    );
  });
});

describe('ReplayFeed progress', () => {
  it('reports what has been delivered, not what the reader has buffered', async () => {
    const file = csv(
      'time,ticker,bid,ask',
      `${T0},EURUSD,1.1,1.10001`,
      `${T0 + 1},EURUSD,1.1,1.10002`,
      `${T0 + 3600},EURUSD,1.1,1.10003`,
    );
    // At speed 1 the last quote is an hour of wall time away: the replay sits waiting for it.
    const run = harness([file], { speed: 1 });
    await waitFor('the second delivery', () => run.deliveries.length === 2, { timeoutMs: 2_000 });
    await sleep(20);
    const detail = run.feed.status().detail;
    assert.equal(run.feed.status().state, 'running');
    assert.ok(Number(detail.percent) > 0 && Number(detail.percent) < 100, `percent ${detail.percent}`);
    assert.ok(Number(detail.bytes_applied) < Number(detail.bytes_total), JSON.stringify(detail));
    assert.equal(detail.data_start, '2026-03-10T14:30:00.000Z');
    assert.equal(detail.data_time, '2026-03-10T14:30:01.000Z');
    assert.equal(detail.data_end, '2026-03-10T15:30:00.000Z');
    assert.equal(detail.data_remaining_seconds, 3599);
    await run.feed.stop();
    assert.ok(Number(run.feed.status().detail.percent) < 100);

    const complete = harness([file], { speed: 0 });
    assert.equal(await complete.feed.done(), 'finished');
    const end = complete.feed.status().detail;
    assert.equal(end.percent, 100);
    assert.equal(end.bytes_applied, end.bytes_total);
    assert.equal(end.data_remaining_seconds, 0);
  });

  it('counts a bar as applied only once its four quotes are delivered', async () => {
    const file = csv(
      'time,ticker,open,high,low,close',
      `${T0},AAPL.nq,100,100.1,100,100.1`,
      `${T0 + 60},AAPL.nq,100,100.1,100,100.1`,
    );
    const header = Buffer.byteLength('time,ticker,open,high,low,close\n');
    const firstBar = Buffer.byteLength(`${T0},AAPL.nq,100,100.1,100,100.1\n`);
    const applied: number[] = [];
    const clock = new ControllableClock(() => 0);
    const run = harness([file], { clock }, async () => {
      applied.push(Number(run.feed.status().detail.bytes_applied));
    });
    assert.equal(await run.feed.done(), 'finished');
    // Quotes 1–4 belong to the first bar: until the fourth is through, only the header is applied.
    assert.deepEqual(applied, [
      header,
      header,
      header,
      header,
      header + firstBar,
      header + firstBar,
      header + firstBar,
      header + firstBar,
    ]);
  });

  it('never goes backwards, stays below 100% while quotes are left, and ends at exactly 100% (property)', async () => {
    const row = fc.oneof(
      fc.record({
        kind: fc.constant('tick' as const),
        gap: fc.integer({ min: 0, max: 3 }),
        bid: fc.integer({ min: 10_000, max: 10_050 }),
      }),
      fc.record({ kind: fc.constant('bad' as const), gap: fc.constant(0), bid: fc.constant(0) }),
      fc.record({ kind: fc.constant('comment' as const), gap: fc.constant(0), bid: fc.constant(0) }),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(row, { minLength: 0, maxLength: 12 }), { minLength: 1, maxLength: 3 }),
        fc.boolean(),
        fc.boolean(),
        async (fileRows, bars, crlf) => {
          let time = T0;
          const files = fileRows.map((rows) => {
            const lines = [bars ? 'time,ticker,open,high,low,close' : 'time,ticker,bid,ask'];
            for (const { kind, gap, bid } of rows) {
              time += gap * (bars ? 60 : 1);
              if (kind === 'comment') lines.push('# note');
              else if (kind === 'bad') lines.push(`${time},NOPE,1,2`);
              else if (bars) lines.push(`${time},EURUSD,1.${bid},1.${bid + 9},1.${bid},1.${bid + 5}`);
              else lines.push(`${time},EURUSD,1.${bid},1.${bid + 1}`);
            }
            const path = join(directory, `property-${++fileCount}.csv`);
            writeFileSync(path, lines.join(crlf ? '\r\n' : '\n') + (crlf ? '\r\n' : '\n'));
            return path;
          });
          const seen: { percent: number; applied: number }[] = [];
          const sample = (): void => {
            const detail = run.feed.status().detail;
            seen.push({ percent: Number(detail.percent), applied: Number(detail.bytes_applied) });
          };
          const run = harness(files, { onMalformed: 'skip' }, async () => {
            sample();
            // Whatever is being delivered is not applied yet.
            assert.ok((seen.at(-1)?.percent ?? 0) < 100, JSON.stringify(seen.at(-1)));
          });
          const timer = setInterval(sample, 0);
          const state = await run.feed.done();
          clearInterval(timer);
          sample();
          assert.equal(state, 'finished');
          for (let index = 1; index < seen.length; index++) {
            const [before, after] = [seen[index - 1], seen[index]];
            assert.ok(before && after && after.percent >= before.percent && after.applied >= before.applied);
          }
          const detail = run.feed.status().detail;
          assert.equal(detail.percent, 100);
          assert.equal(detail.bytes_applied, detail.bytes_total);
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe('ReplayFeed data span', () => {
  it('reads the first and last data times from the ends of the files', async () => {
    const first = csv(
      '\uFEFF# ticks',
      'time,ticker,bid,ask',
      `${T0},NOPE,1,2`,
      `${T0 + 5},EURUSD,1.1,1.10001`,
    );
    const second = csv(
      'time,ticker,open,high,low,close',
      `${T0 + 60},AAPL.nq,100,100.1,100,100.1`,
      `${T0 + 120},AAPL.nq,100,100.1,100,100.1`,
      '# trailing comment',
      '',
    );
    const clock = new ControllableClock(() => 0);
    const paused = harness([first, second], { clock, onMalformed: 'skip', start: 'paused' });
    // The unknown ticker is skipped, so the first quote the replay will deliver is at T0 + 5.
    assert.equal(clock.nowMs(), (T0 + 5) * 1000);
    const detail = paused.feed.status().detail;
    assert.equal(detail.data_start, '2026-03-10T14:30:05.000Z');
    assert.equal(detail.data_end, '2026-03-10T14:32:00.000Z');
    assert.equal(detail.data_remaining_seconds, 115);
    paused.feed.resume();
    assert.equal(await paused.feed.done(), 'finished');
    // The last bar plays its path over its minute: the end moves to the last quote delivered.
    assert.equal(paused.feed.status().detail.data_end, '2026-03-10T14:32:45.000Z');
    assert.equal(paused.feed.status().detail.data_time, '2026-03-10T14:32:45.000Z');

    // In fail mode a malformed first row means there is no first quote: the clock is left alone.
    const real = new ControllableClock(() => 1234);
    const failing = harness([first], { clock: real, onMalformed: 'fail', start: 'paused' });
    assert.equal(real.mode, 'real');
    assert.equal(failing.feed.status().detail.data_start, null);
    assert.equal(await failing.feed.done(), 'failed');
  });
});

describe('ReplayFeed paused start and steps', () => {
  const ticks = (...offsets: number[]): string =>
    csv(
      'time,ticker,bid,ask',
      ...offsets.map((offset, index) => `${T0 + offset},EURUSD,1.1,1.1${String(index + 1).padStart(4, '0')}`),
    );

  it('starts paused with the clock at the first data time, and delivers nothing until asked', async () => {
    const file = csv('# leading comment', 'time,ticker,bid,ask', `${T0 + 30},EURUSD,1.1,1.10001`);
    const clock = new ControllableClock(() => 5_000);
    const run = harness([file], { clock, start: 'paused' });
    assert.equal(clock.mode, 'replay');
    assert.equal(clock.nowMs(), (T0 + 30) * 1000);
    // Once the first batch is read the feed could deliver it; paused, it must not.
    await waitFor('the first batch read', () => run.feed.status().detail.next_data_time !== null, {
      timeoutMs: 5_000,
    });
    await sleep(30);
    const status = run.feed.status();
    assert.equal(status.state, 'paused');
    assert.equal(run.deliveries.length, 0);
    assert.equal(status.detail.data_time, null);
    assert.equal(status.detail.next_data_time, '2026-03-10T14:30:30.000Z');
    assert.equal(status.detail.data_start, '2026-03-10T14:30:30.000Z');
    run.feed.resume();
    assert.equal(await run.feed.done(), 'finished');
    assert.equal(run.deliveries.length, 1);
  });

  it('steps by quotes, splitting a batch when asked to, and stays paused', async () => {
    const file = ticks(0, 0, 0, 1, 2, 3);
    const run = harness([file], { start: 'paused', speed: 1 });
    assert.deepEqual(await run.feed.step({ quotes: 2 }), { delivered: 2 });
    assert.deepEqual(
      run.deliveries.map((delivery) => delivery.quotes.length),
      [2],
    );
    assert.equal(run.feed.status().state, 'paused');
    assert.deepEqual(await run.feed.step({ quotes: 2 }), { delivered: 2 });
    // The rest of the first second's batch, then the next second's quote: two sink calls.
    assert.deepEqual(
      run.deliveries.map((delivery) => delivery.quotes.length),
      [2, 1, 1],
    );
    assert.equal(run.clock.nowMs(), (T0 + 1) * 1000);
    assert.equal(run.feed.status().detail.data_time, '2026-03-10T14:30:01.000Z');
    assert.equal(run.feed.status().detail.quotes_sent, 4);
    await sleep(20);
    assert.equal(run.quotes().length, 4, 'nothing more is delivered while paused');
    // Asking for more than is left delivers the rest, and the replay finishes.
    assert.deepEqual(await run.feed.step({ quotes: 50 }), { delivered: 2 });
    assert.equal(await run.feed.done(), 'finished');
    assert.deepEqual(await run.feed.step({ quotes: 1 }), {
      refused: 'the replay has finished: no data is left to step through',
    });
  });

  it('steps by seconds of data time and moves the clock to the end of the window', async () => {
    const file = ticks(0, 1, 2, 10, 11);
    const run = harness([file], { start: 'paused', speed: 1 });
    // The first window starts at the first quote: [T0, T0 + 1 s].
    assert.deepEqual(await run.feed.step({ seconds: 1 }), { delivered: 2 });
    assert.equal(run.clock.nowMs(), (T0 + 1) * 1000);
    assert.deepEqual(await run.feed.step({ seconds: 0.5 }), { delivered: 0 });
    assert.equal(run.clock.nowMs(), (T0 + 1) * 1000 + 500);
    assert.equal(run.feed.status().detail.data_time, '2026-03-10T14:30:01.500Z');
    // (T0 + 1.5 s, T0 + 10 s]: the quotes at 2 and 10.
    assert.deepEqual(await run.feed.step({ seconds: 8.5 }), { delivered: 2 });
    assert.equal(run.clock.nowMs(), (T0 + 10) * 1000);
    assert.equal(run.feed.status().state, 'paused');
    // Resumed, the replay paces from where the step left it: one data second to the last quote.
    const resumedAt = performance.now();
    run.feed.resume();
    assert.equal(await run.feed.done(), 'finished');
    const last = run.deliveries.at(-1);
    assert.ok(last && last.wallMs - resumedAt >= 900, `waited ${last && last.wallMs - resumedAt} ms`);
  });

  it('refuses a step while running, during another step, after a failure and once stopped', async () => {
    const running = harness([ticks(0, 3600)], { speed: 1 });
    await waitFor('the first delivery', () => running.deliveries.length === 1, {
      timeoutMs: 2000,
    });
    assert.deepEqual(await running.feed.step({ quotes: 1 }), {
      refused: 'the replay is running: pause it (POST /admin/v1/feed/pause) before stepping',
    });
    running.feed.pause();
    await running.feed.stop();
    assert.deepEqual(await running.feed.step({ quotes: 1 }), { refused: 'the replay has stopped' });

    let release: (() => void) | undefined;
    const slow = harness([ticks(0, 1)], { start: 'paused' }, async () => {
      await new Promise<void>((resolve) => {
        release = resolve;
      });
    });
    const first = slow.feed.step({ quotes: 1 });
    await waitFor('the sink to be held', () => release !== undefined, { timeoutMs: 2_000 });
    assert.deepEqual(await slow.feed.step({ quotes: 1 }), {
      refused: 'a step is already under way: wait for its answer',
    });
    release?.();
    assert.deepEqual(await first, { delivered: 1 });
    await slow.feed.stop();

    const bad = csv(
      'time,ticker,bid,ask',
      `${T0},EURUSD,1.1,1.10001`,
      `${T0 + 1},EURUSD,1.1,1.10002`,
      `${T0 + 2},EURUSD,1.2,1.1`,
    );
    const failing = harness([bad], { start: 'paused' });
    // The step delivers the first quote; reading on for the next batch fails the replay.
    assert.deepEqual(await failing.feed.step({ seconds: 5 }), { delivered: 1 });
    assert.equal(failing.feed.status().state, 'failed');
    assert.deepEqual(await failing.feed.step({ quotes: 1 }), {
      refused: `the replay has failed: ${bad}:4: bid 1.2 is above ask 1.1`,
    });

    const idle = harness([ticks(0)], { start: 'paused' });
    assert.throws(() => void idle.feed.step({ quotes: 0 }), RangeError);
    assert.throws(() => void idle.feed.step({ quotes: 1.5 }), RangeError);
    assert.throws(() => void idle.feed.step({ seconds: 0.0001 }), RangeError);
    await idle.feed.stop();
  });
});

describe('ReplayFeed failures', () => {
  async function failed(
    files: string[],
    options: Partial<ReplayFeedOptions> = {},
    sink?: QuoteSink,
  ): Promise<{ detail: Record<string, unknown>; run: Harness }> {
    const run = harness(files, options, sink);
    assert.equal(await run.feed.done(), 'failed');
    const status = run.feed.status();
    assert.equal(status.state, 'failed');
    // The one error message, in the status, in the log line, and in the position the status reports.
    const message = String(status.detail.last_error);
    assert.match(message, /^.+:\d+: .+/);
    assert.equal(
      message.startsWith(`${String(status.detail.file)}:${String(status.detail.line)}: `),
      true,
      message,
    );
    assert.ok(
      run.logger.lines.some((line) => line.level === 'error' && line.message === `replay failed: ${message}`),
    );
    assert.ok(Number(status.detail.percent) < 100);
    return { detail: status.detail, run };
  }

  it('fails on an unknown ticker, naming the line, with the progress of what was applied', async () => {
    const file = csv(
      'time,ticker,bid,ask',
      `${T0},EURUSD,1.1,1.10001`,
      `${T0 + 1},EURUSD,1.1,1.10002`,
      `${T0 + 2},NOPE,1.1,1.10003`,
      `${T0 + 3},EURUSD,1.1,1.10004`,
    );
    const { detail, run } = await failed([file]);
    assert.equal(detail.last_error, `${file}:4: unknown ticker "NOPE"`);
    assert.equal(run.quotes().length, 1);
    // The header and the first row are applied; the row at T0 + 1 was read but never delivered.
    const applied = Buffer.byteLength(`time,ticker,bid,ask\n${T0},EURUSD,1.1,1.10001\n`);
    assert.equal(detail.bytes_applied, applied);
    assert.ok(Number(detail.percent) > 0);
  });

  it('fails on a malformed line, a bad header and a row back in time, each naming its line', async () => {
    const malformed = csv('time,ticker,bid,ask', `${T0},EURUSD,1.1,1.10001`, `${T0},EURUSD,1.1`);
    assert.equal(
      (await failed([malformed])).detail.last_error,
      `${malformed}:3: expected 4 columns, found 3`,
    );
    const header = csv('# data', 'time,ticker,bid,offer', `${T0},EURUSD,1.1,1.10001`);
    assert.match(
      String((await failed([header])).detail.last_error),
      new RegExp(`^${header}:2: unknown column "offer"`),
    );
    const later = csv('time,ticker,bid,ask', `${T0 + 5},EURUSD,1.1,1.10001`);
    const earlier = csv('time,ticker,bid,ask', '', `${T0},EURUSD,1.1,1.10001`);
    const back = await failed([later, earlier]);
    assert.match(
      String(back.detail.last_error),
      new RegExp(`^${earlier}:3: time .* is before the previous row's`),
    );
    assert.equal(back.detail.files_done, 1);
  });

  it('fails when the sink refuses quotes, naming the line they came from', async () => {
    const file = csv(
      'time,ticker,bid,ask',
      `${T0},EURUSD,1.1,1.10001`,
      `${T0 + 1},EURUSD,1.1,1.10002`,
      `${T0 + 2},EURUSD,1.1,1.10003`,
    );
    let calls = 0;
    const { detail } = await failed([file], {}, async () => {
      if (++calls === 2) throw new Error('disk full');
    });
    assert.equal(
      detail.last_error,
      `${file}:3: the quotes at 2026-03-10T14:30:01.000Z could not be applied: disk full`,
    );
  });

  it('fails when a file has gone by the time the replay reaches it', async () => {
    const first = csv('time,ticker,bid,ask', `${T0},EURUSD,1.1,1.10001`);
    const second = csv('time,ticker,bid,ask', `${T0 + 1},EURUSD,1.1,1.10001`);
    const clock = new ControllableClock(() => 0);
    const logger = recordingLogger();
    const feed = new ReplayFeed({
      files: [first, second],
      instruments: findDefaultInstrument,
      clock,
      speed: 0,
      onMalformed: 'fail',
      logger,
    });
    rmSync(second);
    feed.start(async () => undefined);
    assert.equal(await feed.done(), 'failed');
    const detail = feed.status().detail;
    assert.match(String(detail.last_error), new RegExp(`^${second}:1: the file cannot be read: ENOENT`));
    assert.equal(detail.file, second);
    assert.equal(detail.line, 1);
  });
});
