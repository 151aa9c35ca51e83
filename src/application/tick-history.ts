/**
 * The most recent quotes of every instrument, bounded: a fixed-size ring per ticker, so memory
 * stays flat however long the server runs. Operators read it to see what a fill was based on.
 */
import type { Quote } from '../engine/model.ts';

export const DEFAULT_TICKS_PER_INSTRUMENT = 1000;

class Ring {
  readonly #items: (Quote | undefined)[];
  #next = 0;
  #size = 0;

  constructor(capacity: number) {
    this.#items = new Array<Quote | undefined>(capacity);
  }

  push(quote: Quote): void {
    this.#items[this.#next] = quote;
    this.#next = (this.#next + 1) % this.#items.length;
    this.#size = Math.min(this.#size + 1, this.#items.length);
  }

  /** The newest `limit` quotes, oldest first. */
  latest(limit: number): Quote[] {
    const count = Math.min(limit, this.#size);
    const result: Quote[] = [];
    for (let index = count; index > 0; index--) {
      const quote = this.#items[(this.#next - index + this.#items.length) % this.#items.length];
      if (quote) result.push(quote);
    }
    return result;
  }
}

export class TickHistory {
  readonly #capacity: number;
  readonly #rings = new Map<string, Ring>();

  constructor(capacity = DEFAULT_TICKS_PER_INSTRUMENT) {
    if (!Number.isSafeInteger(capacity) || capacity < 1)
      throw new RangeError('tick history capacity must be ≥ 1');
    this.#capacity = capacity;
  }

  record(quote: Quote): void {
    let ring = this.#rings.get(quote.ticker);
    if (!ring) this.#rings.set(quote.ticker, (ring = new Ring(this.#capacity)));
    ring.push(quote);
  }

  recent(ticker: string, limit: number): Quote[] {
    return this.#rings.get(ticker)?.latest(limit) ?? [];
  }
}
