/**
 * Current quotes and currency conversion between them.
 *
 * A currency pair ticker like `GBPUSD` converts GBP→USD at its mid price; the inverse pair divides.
 * Anything else crosses through USD. Missing quotes mean no rate: callers decide what that means.
 */
import type { Quote } from './model.ts';
import { PRICE_SCALE } from './decimal.ts';
import { UNIT_RATE, invertRate, multiplyRates, type Rate } from './money.ts';

const TWICE_PRICE_SCALE = BigInt(2 * PRICE_SCALE);

/**
 * Every ticker whose quote `Market.rate(from, to)` may read: the direct and inverse pair, and the
 * USD legs of the cross. A position valued through a rate moves when any of these is quoted.
 */
export function conversionTickers(from: string, to: string): string[] {
  if (from === to) return [];
  const tickers = [from + to, to + from];
  if (from !== 'USD' && to !== 'USD') tickers.push(from + 'USD', 'USD' + from, 'USD' + to, to + 'USD');
  return tickers;
}

export class Market {
  readonly #quotes = new Map<string, Quote>();

  get(ticker: string): Quote | undefined {
    return this.#quotes.get(ticker);
  }

  set(quote: Quote): void {
    this.#quotes.set(quote.ticker, quote);
  }

  all(): IterableIterator<Quote> {
    return this.#quotes.values();
  }

  /** Rate converting an amount in `from` into `to`, or undefined when no quotes allow it. */
  rate(from: string, to: string): Rate | undefined {
    if (from === to) return UNIT_RATE;
    const direct = this.#pairRate(from, to);
    if (direct) return direct;
    if (from !== 'USD' && to !== 'USD') {
      const viaFrom = this.#pairRate(from, 'USD');
      const viaTo = this.#pairRate('USD', to);
      if (viaFrom && viaTo) return multiplyRates(viaFrom, viaTo);
    }
    return undefined;
  }

  #pairRate(from: string, to: string): Rate | undefined {
    const direct = this.#quotes.get(from + to);
    if (direct) return { num: BigInt(direct.bid + direct.ask), den: TWICE_PRICE_SCALE };
    const inverse = this.#quotes.get(to + from);
    if (inverse) return invertRate({ num: BigInt(inverse.bid + inverse.ask), den: TWICE_PRICE_SCALE });
    return undefined;
  }
}
