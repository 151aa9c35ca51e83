/**
 * Retention of the account event log: an event is kept while it is newer than `days` days or
 * among the database's newest `count` events, whichever keeps more. Pruning runs from the periodic
 * work at most once a minute, deleting a bounded batch per statement, so it never holds the
 * database for long; an id that goes is answered with a `reset` when a client resumes from it.
 */
import type { EventStore } from '../storage.ts';
import type { Logger } from '../ports.ts';
import type { TimedWork } from '../periodic-work.ts';

export interface RetentionOptions {
  days: number;
  count: number;
}

const PRUNE_EVERY_TICKS = 60;
const BATCH = 10_000;
/** Batches per run: a backlog is worked off over several minutes rather than in one go. */
const MAX_BATCHES = 10;

export class EventRetention implements TimedWork {
  readonly #store: EventStore;
  readonly #options: RetentionOptions;
  readonly #now: () => number;
  readonly #logger: Logger;
  #ticks = 0;

  constructor(store: EventStore, options: RetentionOptions, now: () => number, logger: Logger) {
    this.#store = store;
    this.#options = options;
    this.#now = now;
    this.#logger = logger;
  }

  async tick(): Promise<void> {
    this.#ticks += 1;
    if (this.#ticks % PRUNE_EVERY_TICKS !== 1) return;
    await this.prune();
  }

  /** Deletes what retention no longer keeps; resolves with how many events went. */
  async prune(): Promise<number> {
    const before = this.#now() - this.#options.days * 86_400;
    let pruned = 0;
    for (let batch = 0; batch < MAX_BATCHES; batch += 1) {
      const deleted = await this.#store.pruneEvents(before, this.#options.count, BATCH);
      pruned += deleted;
      if (deleted < BATCH) break;
    }
    if (pruned > 0) this.#logger.info({ event: 'events_pruned', count: pruned }, 'old account events pruned');
    return pruned;
  }
}
