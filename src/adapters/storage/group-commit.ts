/**
 * Group commit: many callers' change sets share one transaction and one flush to disk.
 *
 * A durable commit is bounded by the disk's flush (fsync), not by the work in it, so writing each
 * change set in its own transaction caps a server at one flush per request. Here a commit is queued
 * and the queue is drained two turns of the event loop later, so that the requests read in this
 * turn and the next one share a batch; the whole batch is written in one transaction, in submission
 * order, and every caller's promise resolves only after that transaction is durable. While a
 * (possibly asynchronous) write is in flight, new commits queue for the next batch.
 *
 * Why two turns: each transaction has a fixed cost (its log pages, the flush hand-off), and under
 * load one turn reads only part of the clients' requests. Waiting one more turn about doubles the
 * batch under load. When the server is quiet, the extra turn does not wait for anything: with an
 * immediate callback pending, the event loop polls for I/O without blocking.
 *
 * A store may split the two: `write` applies the batch (atomically, in order) and a separate
 * `flush` makes everything applied so far durable. The next batch is then written while the
 * previous one is still being flushed, and each caller hears "done" once its flush has finished.
 *
 * Durability is unchanged: nobody hears "done" before their change is on disk. Failure stays
 * isolated: if a batch fails, its items are retried one transaction each, so only the change set
 * that cannot be written is rejected, and the others land exactly as they would have alone.
 */
const afterTwoTurns = (): Promise<void> =>
  new Promise((done) => {
    setImmediate(() => setImmediate(done));
  });

interface Waiting<T> {
  item: T;
  resolve: () => void;
  reject: (error: unknown) => void;
}

export class GroupCommit<T> {
  readonly #write: (batch: readonly T[]) => Promise<void> | void;
  readonly #flush: (() => Promise<void>) | undefined;
  #waiting: Waiting<T>[] = [];
  #draining: Promise<void> | undefined;
  /** The latest flush begun, if any: flushes finish in the order they begin. */
  #flushing: Promise<void> | undefined;

  /**
   * `write` must apply the batch atomically, in order, and return (or resolve) once durable, or,
   * when `flush` is given, once applied; `flush` must resolve once everything applied before the
   * call is durable.
   */
  constructor(write: (batch: readonly T[]) => Promise<void> | void, flush?: () => Promise<void>) {
    this.#write = write;
    this.#flush = flush;
  }

  submit(item: T): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#waiting.push({ item, resolve, reject });
      this.#draining ??= afterTwoTurns().then(() => this.#drain());
    });
  }

  /** Resolves once everything submitted so far has been written and flushed (or has failed). */
  async idle(): Promise<void> {
    while (this.#draining || this.#flushing) {
      if (this.#draining) await this.#draining;
      else await this.#flushing?.catch(() => undefined);
    }
  }

  async #drain(): Promise<void> {
    try {
      while (this.#waiting.length > 0) {
        const batch = this.#waiting;
        this.#waiting = [];
        try {
          await this.#write(batch.map((waiting) => waiting.item));
          this.#settle(batch);
        } catch (error) {
          if (batch.length === 1) batch[0]?.reject(error);
          else await this.#isolate(batch);
        }
      }
    } finally {
      this.#draining = undefined;
    }
  }

  async #isolate(batch: readonly Waiting<T>[]): Promise<void> {
    for (const waiting of batch) {
      try {
        await this.#write([waiting.item]);
        this.#settle([waiting]);
      } catch (error) {
        waiting.reject(error);
      }
    }
  }

  /** Written: done now, or once flushed. */
  #settle(written: readonly Waiting<T>[]): void {
    if (!this.#flush) {
      for (const waiting of written) waiting.resolve();
      return;
    }
    const flushed = this.#flush();
    this.#flushing = flushed;
    flushed.then(
      () => {
        for (const waiting of written) waiting.resolve();
        if (this.#flushing === flushed) this.#flushing = undefined;
      },
      (error: unknown) => {
        for (const waiting of written) waiting.reject(error);
        if (this.#flushing === flushed) this.#flushing = undefined;
      },
    );
  }
}
