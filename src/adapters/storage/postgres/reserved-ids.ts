/**
 * Order and deal ids for processes sharing one PostgreSQL database. The engine draws ids
 * synchronously, so each process reserves them ahead from the database's sequences (`reserve`,
 * awaited before every engine step) and hands them out in order. Ids are unique across the
 * cluster and increase within a process; across processes they interleave, and ids a process
 * reserved but never used (it stopped) are simply skipped.
 */
import type { Pool } from 'pg';
import type { IdSource } from '../../../engine/ports.ts';
import { DEAL_ID_WIDTH, ORDER_ID_WIDTH, formatId } from '../../../engine/ids.ts';

class Reserve {
  #ids: number[] = [];
  #next = 0;

  get available(): number {
    return this.#ids.length - this.#next;
  }

  add(ids: readonly number[]): void {
    this.#ids = [...this.#ids.slice(this.#next), ...ids];
    this.#next = 0;
  }

  take(kind: string): number {
    const id = this.#ids[this.#next];
    if (id === undefined) throw new Error(`no ${kind} ids reserved: reserve before the engine step`);
    this.#next += 1;
    return id;
  }
}

export class ReservedIds implements IdSource {
  readonly #pool: Pool;
  readonly #orders = new Reserve();
  readonly #deals = new Reserve();
  /** Reservations run one at a time, so two callers never both fetch for the same shortfall. */
  #reserving: Promise<void> = Promise.resolve();

  constructor(pool: Pool) {
    this.#pool = pool;
  }

  nextOrderId(): string {
    return formatId(this.#orders.take('order'), ORDER_ID_WIDTH);
  }

  nextDealId(): string {
    return formatId(this.#deals.take('deal'), DEAL_ID_WIDTH);
  }

  /** Ensures at least `orders` order ids and `deals` deal ids are on hand, fetching in blocks. */
  reserve(orders: number, deals: number): Promise<void> {
    const run = this.#reserving.then(async () => {
      await this.#topUp(this.#orders, 'order_ids', orders);
      await this.#topUp(this.#deals, 'deal_ids', deals);
    });
    this.#reserving = run.catch(() => undefined);
    return run;
  }

  async #topUp(reserve: Reserve, sequence: string, wanted: number): Promise<void> {
    if (reserve.available >= wanted) return;
    // Fetch more than asked, so most steps find enough on hand and skip the round trip.
    const count = Math.max(wanted - reserve.available, 64) * 2;
    const { rows } = await this.#pool.query<{ id: number }>(
      `SELECT nextval('${sequence}') AS id FROM generate_series(1, $1) ORDER BY 1`,
      [count],
    );
    reserve.add(rows.map((row) => Number(row.id)));
  }
}
