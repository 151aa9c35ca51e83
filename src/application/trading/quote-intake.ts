/**
 * Which incoming quotes are applied: those of known instruments with sane prices (positive
 * integers, bid not above ask). Accepted quotes enter the bounded tick history and go to the
 * quote streams' subscribers (conflated there), before their triggers fire; those this process
 * ingests (not those another process announced: it records them) also go to the candles.
 */
import type { Engine } from '../../engine/engine.ts';
import type { Quote } from '../../engine/model.ts';
import type { Logger, TradingObserver } from '../ports.ts';
import { TickHistory } from '../tick-history.ts';
import type { CandleRecorder } from '../market-data/candle-recorder.ts';

/** `ingested`: fed to this process (a feed, an admin); `announced`: applied by another process. */
export type QuoteOrigin = 'ingested' | 'announced';

export class QuoteIntake {
  readonly #engine: Engine;
  readonly #logger: Logger;
  readonly #observer: TradingObserver | undefined;
  readonly #ticks = new TickHistory();
  readonly #subscribers: ((quotes: readonly Quote[]) => void) | undefined;
  readonly #candles: CandleRecorder | undefined;

  constructor(
    engine: Engine,
    logger: Logger,
    observer: TradingObserver | undefined,
    candles: CandleRecorder | undefined,
    subscribers?: (quotes: readonly Quote[]) => void,
  ) {
    this.#engine = engine;
    this.#logger = logger;
    this.#observer = observer;
    this.#subscribers = subscribers;
    this.#candles = candles;
  }

  /** The quotes of known instruments with sane prices, recorded in the tick history (and candles). */
  accept(quotes: readonly Quote[], origin: QuoteOrigin): Quote[] {
    const candles = origin === 'ingested' ? this.#candles : undefined;
    const accepted: Quote[] = [];
    for (const quote of quotes) {
      if (!this.#engine.instrument(quote.ticker)) continue;
      if (!(
        Number.isSafeInteger(quote.bid) &&
        Number.isSafeInteger(quote.ask) &&
        quote.bid > 0 &&
        quote.bid <= quote.ask
      )) {
        this.#logger.warn(
          { event: 'quote_refused', ticker: quote.ticker, bid: quote.bid, ask: quote.ask },
          'invalid quote ignored',
        );
        continue;
      }
      this.#ticks.record(quote);
      candles?.recordQuote(quote);
      accepted.push(quote);
    }
    this.#observer?.quotes(accepted.length === 0 ? 0 : quotes.length);
    // The stream hub returns at once when nobody subscribes to quotes.
    if (accepted.length > 0) this.#subscribers?.(accepted);
    return accepted;
  }

  /** The newest accepted quotes of an instrument, oldest first (bounded per instrument). */
  recent(ticker: string, limit: number): Quote[] {
    return this.#ticks.recent(ticker, limit);
  }
}

/** The newest quote per instrument: only it needs to survive a restart. */
export function latestQuotes(quotes: readonly Quote[]): Quote[] {
  const latest = new Map<string, Quote>();
  for (const quote of quotes) latest.set(quote.ticker, quote);
  return [...latest.values()];
}
