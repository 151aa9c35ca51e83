/**
 * One client's subscription to the quotes of some tickers, conflated: only the latest quote of
 * each ticker waits to be sent, so a client slower than the feed skips quotes rather than making
 * the server hold them. Memory per subscription is bounded by its number of tickers.
 *
 * Pending quotes are sent on the next turn of the event loop (one write for a feed's batch), or,
 * when the client has not read what it was sent, once it has.
 */
import type { Quote } from '../../engine/model.ts';
import type { StreamSink } from './stream-sink.ts';

export class QuoteSubscription {
  readonly tickers: ReadonlySet<string>;
  readonly #sink: StreamSink;
  readonly #pending = new Map<string, Quote>();
  #scheduled = false;
  #stopped = false;

  constructor(tickers: Iterable<string>, sink: StreamSink) {
    this.tickers = new Set(tickers);
    this.#sink = sink;
  }

  /** Keeps the quote as its ticker's latest; sends the pending ones soon. */
  offer(quote: Quote): void {
    if (this.#stopped) return;
    this.#pending.set(quote.ticker, quote);
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(this.#flush);
  }

  stop(): void {
    this.#stopped = true;
    this.#pending.clear();
  }

  readonly #flush = (): void => {
    if (this.#stopped || this.#sink.closed) return;
    if (!this.#sink.isReady()) {
      void this.#sink.ready().then(this.#flush);
      return;
    }
    this.#scheduled = false;
    const quotes = [...this.#pending.values()];
    this.#pending.clear();
    for (const quote of quotes) if (!this.#sink.send({ kind: 'quote', quote })) return this.stop();
  };
}
