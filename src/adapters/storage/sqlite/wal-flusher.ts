/**
 * Makes committed SQLite transactions durable off the event loop.
 *
 * The change-set connection commits with synchronous=NORMAL: its transaction's pages are written
 * to the write-ahead log, but the log is not flushed. This flusher then fsyncs the log file on
 * libuv's thread pool, and a change set counts as durable (its caller hears "done") only when a
 * flush that began after its commit has finished. That is exactly the flush synchronous=FULL would
 * have done inside COMMIT, moved off the event loop: the server goes on serving requests, and
 * gathering the next batch, while the disk works. Until the flush, no reply depends on the batch
 * (every reply waits for the commits before it), so no client can see state a crash could undo.
 *
 * Commits that land while a flush is running wait for the next one, which covers them all.
 */
import { closeSync, fsync, fsyncSync, openSync } from 'node:fs';
import { dirname } from 'node:path';

interface Waiter {
  resolve: () => void;
  reject: (error: Error) => void;
}

export class WalFlusher {
  readonly #fd: number;
  #waiting: Waiter[] = [];
  #flushing = false;

  /** Opens the database's log file, which exists for as long as a connection has it open. */
  constructor(databasePath: string) {
    this.#fd = openSync(`${databasePath}-wal`, 'r');
    // The log file's own name must be durable too (it may have just been created).
    const directory = openSync(dirname(databasePath), 'r');
    try {
      fsyncSync(directory);
    } finally {
      closeSync(directory);
    }
  }

  /** Resolves once everything committed before the call is on disk. */
  flush(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#waiting.push({ resolve, reject });
      if (!this.#flushing) this.#start();
    });
  }

  close(): void {
    closeSync(this.#fd);
  }

  #start(): void {
    const covered = this.#waiting;
    this.#waiting = [];
    this.#flushing = true;
    fsync(this.#fd, (error) => {
      this.#flushing = false;
      for (const waiter of covered) {
        if (error) waiter.reject(error);
        else waiter.resolve();
      }
      if (this.#waiting.length > 0) this.#start();
    });
  }
}
