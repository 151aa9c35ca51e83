/**
 * The ordered per-account queue: in this process, each account's tasks (commits, reloads,
 * commands) run one after another, in the order they were queued. A task's failure does not
 * stop the tasks queued after it.
 */
export class AccountQueue {
  /** Per account, the tail of its chain of tasks in this process. */
  readonly #tails = new Map<string, Promise<void>>();

  /** Runs `task` after every earlier task of the account in this process has settled. */
  serially<T>(accountId: string, task: () => Promise<T>): Promise<T> {
    const previous = this.#tails.get(accountId) ?? Promise.resolve();
    const run = previous.then(task);
    const tail = run.then(
      () => undefined,
      () => undefined,
    );
    this.#tails.set(accountId, tail);
    void tail.then(() => {
      if (this.#tails.get(accountId) === tail) this.#tails.delete(accountId);
    });
    return run;
  }

  /** Runs `work` once the accounts' earlier tasks have settled, holding their later ones until it is done. */
  async holding<T>(accountIds: readonly string[], work: () => Promise<T>): Promise<T> {
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const entered = accountIds.map(
      (accountId) =>
        new Promise<void>((resolve) => {
          void this.serially(accountId, () => {
            resolve();
            return released;
          });
        }),
    );
    try {
      await Promise.all(entered);
      return await work();
    } finally {
      release();
    }
  }

  /** Resolves once no task of the account is waiting (or after a bounded wait). */
  async settled(accountId: string): Promise<void> {
    for (let round = 0; round < 100; round += 1) {
      const tail = this.#tails.get(accountId);
      if (!tail) return;
      await tail;
    }
  }

  /** Resolves once every task queued so far, of every account, has settled. */
  async idle(): Promise<void> {
    await Promise.all(this.#tails.values());
  }
}
