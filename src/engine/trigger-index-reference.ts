/**
 * The obviously-correct trigger store: a plain Map scanned in full on every tick. It is the executable
 * specification the property test holds `TriggerIndex` to, and the baseline of the benchmark.
 * Its crossing test is written out independently of the heap logic on purpose. O(n) per collect.
 */
import type { Price } from './decimal.ts';
import type { Trigger, TriggerStore } from './trigger-index.ts';

export class ReferenceTriggerIndex implements TriggerStore {
  readonly #triggers = new Map<string, Trigger>();

  upsert(trigger: Trigger): void {
    if (!Number.isSafeInteger(trigger.level)) {
      throw new RangeError(`trigger ${trigger.key} level ${trigger.level} is not an integer price`);
    }
    this.#triggers.set(trigger.key, { ...trigger });
  }

  remove(key: string): boolean {
    return this.#triggers.delete(key);
  }

  has(key: string): boolean {
    return this.#triggers.has(key);
  }

  get(key: string): Trigger | undefined {
    return this.#triggers.get(key);
  }

  collect(ticker: string, bid: Price, ask: Price, out: Trigger[]): void {
    const fired: Trigger[] = [];
    for (const trigger of this.#triggers.values()) {
      if (trigger.ticker !== ticker) continue;
      const price = trigger.watch === 'bid' ? bid : ask;
      const crossed = trigger.direction === 'at_or_below' ? price <= trigger.level : price >= trigger.level;
      if (crossed) fired.push(trigger);
    }
    fired.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    for (const trigger of fired) {
      this.#triggers.delete(trigger.key);
      out.push(trigger);
    }
  }

  get size(): number {
    return this.#triggers.size;
  }

  sizeFor(ticker: string): number {
    let count = 0;
    for (const trigger of this.#triggers.values()) if (trigger.ticker === ticker) count++;
    return count;
  }

  clear(): void {
    this.#triggers.clear();
  }
}
