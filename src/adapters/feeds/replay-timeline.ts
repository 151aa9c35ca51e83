/**
 * The order in which parsed replay rows become quotes: time-ordered batches of quotes with the same
 * data time, with each bar spread into the quotes that replay it. Pure apart from its own state.
 *
 * Invariants:
 * - Rows are added in non-decreasing time order (the reader, `replay-reader.ts`, checks that before
 *   adding). A batch is handed out only once no later row can join or precede it, so batches come out in
 *   time order, and quotes with the same millisecond come out in one batch, in the order they were added.
 * - Memory holds only the quotes not yet handed out: those of the current timestamp and the unfinished
 *   bars, never a whole file.
 *
 * Bars: a bar becomes four quotes spread evenly over its interval (`barPathQuotes` gives their prices).
 * The interval runs to the next bar of the same ticker, but no longer than the shortest interval seen so
 * far between two bars of that ticker, so the last bar before a night or weekend is not stretched over
 * the gap. A bar with no next bar uses that shortest interval, or, for a ticker seen only once, the
 * shortest interval seen for any ticker, or 60 s when there is none. The open quote is known at once;
 * the other three wait until the interval is settled, and the timeline delivers nothing at or after the
 * start of an unsettled bar, which keeps the output in time order. A bar is settled as soon as the
 * reading has passed its start by the ticker's shortest interval, since no later bar can change it.
 *
 * Limitation: a ticker with a single bar so far has no interval to settle by; if more than
 * `MAX_BUFFERED_QUOTES` quotes pile up behind it (a file where a ticker appears once, early), it is
 * settled with the fallback interval to bound memory, even if a later bar of it would have said otherwise.
 */
import { KeyedHeap } from '../../engine/keyed-heap.ts';
import type { Quote } from '../../engine/model.ts';
import type { FeedBar } from '../../application/market-data/candles.ts';
import type { PathQuote, ReplayRow } from './replay-csv.ts';

/** Interval of a bar when nothing better is known: the common one-minute bar. */
const DEFAULT_BAR_INTERVAL_MS = 60_000;
/** Buffered quotes beyond which a once-seen ticker's bar is settled early (see the module comment). */
export const MAX_BUFFERED_QUOTES = 100_000;

/**
 * The line a quote comes from. `pending` counts that line's quotes not yet delivered (one for a tick,
 * four for a bar); the bytes before the first line with pending quotes are the ones fully applied.
 */
export interface ReplaySource {
  file: number;
  line: number;
  /** Offsets across all files, as if they were one: where the line starts and where the next begins. */
  startByte: number;
  endByte: number;
  pending: number;
}

/**
 * A group of quotes with the same data time, delivered in one sink call; `sources` runs parallel,
 * and so does `bars`: the bar a quote opens (its first quote), handed to the sink for charts.
 */
export interface ReplayBatch {
  timeMs: number;
  quotes: Quote[];
  sources: (ReplaySource | undefined)[];
  bars: (FeedBar | undefined)[];
}

interface TimedQuote {
  timeMs: number;
  quote: Quote;
  source: ReplaySource | undefined;
  bar?: FeedBar | undefined;
}

interface PendingBar {
  ticker: string;
  startMs: number;
  path: readonly PathQuote[];
  source: ReplaySource | undefined;
  /** The bar for charts; its length is known once it is settled (before its open is delivered). */
  candle: FeedBar;
}

interface BarHistory {
  lastStartMs: number;
  shortestGapMs: number | undefined;
}

/** Orders parsed rows into time-ordered batches; see the module comment. */
export class ReplayTimeline {
  readonly #quotes = new KeyedHeap<TimedQuote>('min');
  /** Unsettled bars by ticker, earliest start first. */
  readonly #pending = new KeyedHeap<PendingBar>('min');
  readonly #bars = new Map<string, BarHistory>();
  #shortestGapMs: number | undefined;
  #sequence = 0;
  /** Time of the latest row added; Infinity once the input has ended. */
  #readMs = -Infinity;

  /** Adds a row; returns a reason when the row conflicts with the ones before it. */
  add(row: ReplayRow, source?: ReplaySource): string | undefined {
    if (row.kind === 'tick') {
      this.#readMs = row.timeMs;
      this.#push(row.timeMs, row.quote, source);
    } else {
      const history = this.#bars.get(row.ticker);
      if (history?.lastStartMs === row.timeMs) {
        return `a second bar for ${row.ticker} at the same time ${new Date(row.timeMs).toISOString()}`;
      }
      this.#readMs = row.timeMs;
      if (history !== undefined) {
        const gap = row.timeMs - history.lastStartMs;
        history.shortestGapMs = Math.min(gap, history.shortestGapMs ?? gap);
        this.#shortestGapMs = Math.min(gap, this.#shortestGapMs ?? gap);
        history.lastStartMs = row.timeMs;
        const previous = this.#pending.get(row.ticker);
        if (previous !== undefined) {
          this.#pending.remove(row.ticker);
          this.#settle(previous, history.shortestGapMs);
        }
      } else {
        this.#bars.set(row.ticker, { lastStartMs: row.timeMs, shortestGapMs: undefined });
      }
      const candle: FeedBar = {
        ticker: row.ticker,
        time: seconds(row.timeMs),
        seconds: 0,
        ...row.prices,
        volume: row.volume,
      };
      const [open] = row.path;
      if (open)
        this.#push(
          row.timeMs,
          { ticker: row.ticker, bid: open.bid, ask: open.ask, time: seconds(row.timeMs) },
          source,
          candle,
        );
      this.#pending.upsert(row.ticker, row.timeMs, {
        ticker: row.ticker,
        startMs: row.timeMs,
        path: row.path,
        source,
        candle,
      });
    }
    this.#settleDue();
    return undefined;
  }

  /** Marks the end of the input: every bar is settled and every quote becomes deliverable. */
  finish(): void {
    this.#readMs = Infinity;
    for (let bar = this.#pending.pop(); bar !== undefined; bar = this.#pending.pop()) {
      this.#settle(bar, this.#fallbackIntervalMs(bar.ticker));
    }
  }

  /** The next batch that no later row can join or precede, if any. */
  nextBatch(): ReplayBatch | undefined {
    const timeMs = this.#quotes.peekPriority();
    if (timeMs === undefined) return undefined;
    const barrier = Math.min(this.#readMs, this.#pending.peekPriority() ?? Infinity);
    // A later row may still carry this same time, so only times strictly before the barrier are final.
    if (timeMs >= barrier) return undefined;
    const quotes: Quote[] = [];
    const sources: (ReplaySource | undefined)[] = [];
    const bars: (FeedBar | undefined)[] = [];
    while (this.#quotes.peekPriority() === timeMs) {
      const entry = this.#quotes.pop();
      if (entry) {
        quotes.push(entry.quote);
        sources.push(entry.source);
        bars.push(entry.bar);
      }
    }
    return { timeMs, quotes, sources, bars };
  }

  /** Quotes waiting for delivery. */
  get buffered(): number {
    return this.#quotes.size;
  }

  #push(timeMs: number, quote: Quote, source: ReplaySource | undefined, bar?: FeedBar): void {
    // Zero-padded so that equal times pop in insertion order (the heap breaks ties by key).
    this.#quotes.upsert(String(this.#sequence++).padStart(16, '0'), timeMs, { timeMs, quote, source, bar });
  }

  /** Schedules the three quotes after the open, spread evenly over the bar's interval. */
  #settle(bar: PendingBar, intervalMs: number): void {
    bar.candle.seconds = intervalMs / 1000;
    for (let index = 1; index < bar.path.length; index++) {
      const point = bar.path[index];
      if (point === undefined) continue;
      const timeMs = bar.startMs + Math.floor((index * intervalMs) / bar.path.length);
      this.#push(
        timeMs,
        { ticker: bar.ticker, bid: point.bid, ask: point.ask, time: seconds(timeMs) },
        bar.source,
      );
    }
  }

  #settleDue(): void {
    for (let bar = this.#pending.peek(); bar !== undefined; bar = this.#pending.peek()) {
      const shortest = this.#bars.get(bar.ticker)?.shortestGapMs;
      if (shortest !== undefined && this.#readMs >= bar.startMs + shortest) {
        this.#settle(bar, shortest);
      } else if (shortest === undefined && this.#quotes.size > MAX_BUFFERED_QUOTES) {
        this.#settle(bar, this.#fallbackIntervalMs(bar.ticker));
      } else {
        return;
      }
      this.#pending.remove(bar.ticker);
    }
  }

  #fallbackIntervalMs(ticker: string): number {
    return this.#bars.get(ticker)?.shortestGapMs ?? this.#shortestGapMs ?? DEFAULT_BAR_INTERVAL_MS;
  }
}

function seconds(timeMs: number): number {
  return Math.floor(timeMs / 1000);
}
