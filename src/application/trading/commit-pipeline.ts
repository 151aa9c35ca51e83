/**
 * The commit pipeline: engine steps reported (logs, metrics) and submitted to storage in the
 * order the engine computed them.
 *
 * Invariants:
 * - Storage applies commits in call order (grouping those of two consecutive event-loop turns), so
 *   each is submitted at once; the chain here only tracks the newest, for `flush` and failure.
 * - A commit's events are published (`events`) once it is durable, before anyone waiting on
 *   `flush` resumes, and only when someone subscribes at submission: a later subscriber waits for
 *   the commit to be durable and reads it from storage (account-subscription.ts).
 * - If a commit fails, memory and disk disagree: the pipeline reports a fatal error and refuses
 *   all later work (`ensureHealthy`) rather than serve state that was never stored.
 */
import { isEmptyChangeSet, type ChangeSet, type EngineEvent } from '../../engine/engine.ts';
import type { Quote } from '../../engine/model.ts';
import { AppError } from '../errors.ts';
import type { Logger, TradingObserver } from '../ports.ts';
import type { TradingStore } from '../storage.ts';

export interface CommitPipelineOptions {
  storage: TradingStore;
  logger: Logger;
  /** Called when memory and storage may have diverged; the process should stop. */
  onFatal: (error: unknown) => void;
  observer: TradingObserver | undefined;
  /** Where durable events go (the stream hub). */
  events?: DurableEventSink;
}

/** Receives committed, durable events, in id order per account. */
export interface DurableEventSink {
  hasAccountSubscribers(): boolean;
  publish(events: readonly EngineEvent[]): void;
}

export class CommitPipeline {
  readonly #storage: TradingStore;
  readonly #logger: Logger;
  readonly #onFatal: (error: unknown) => void;
  readonly #observer: TradingObserver | undefined;
  readonly #events: DurableEventSink | undefined;
  #commits: Promise<void> = Promise.resolve();
  /** Commits submitted and not yet settled. */
  #inFlight = 0;
  #broken: unknown = undefined;

  constructor(options: CommitPipelineOptions) {
    this.#storage = options.storage;
    this.#logger = options.logger;
    this.#onFatal = options.onFatal;
    this.#observer = options.observer;
    this.#events = options.events;
  }

  /** Reports a step and submits it with the quotes to keep; resolves once it is durable. */
  persist(changes: ChangeSet, quotes: readonly Quote[]): Promise<void> {
    this.report(changes);
    if (isEmptyChangeSet(changes) && quotes.length === 0) return this.#commits;
    const written = this.#storage.commit(changes, quotes);
    // Registered before `track`'s own callbacks, so events go out before flush waiters resume.
    if (changes.events.length > 0 && this.#events?.hasAccountSubscribers()) {
      const events = this.#events;
      written.then(() => events.publish(changes.events), ignoreFailure);
    }
    return this.track(written);
  }

  /** Events another path wrote durably (ClusterSync's account steps). */
  published(events: readonly EngineEvent[]): void {
    if (events.length > 0 && this.#events?.hasAccountSubscribers()) this.#events.publish(events);
  }

  /** Counts a write submitted to storage as a commit: flushed with the others, fatal if it fails. */
  track<T>(written: Promise<T>): Promise<T> {
    this.#inFlight += 1;
    this.#commits = written.then(this.#committed, this.#commitFailed);
    return written;
  }

  /** Logs a step's events and tells the observer (metrics). */
  report(changes: ChangeSet): void {
    if (changes.events.length > 0) this.#observer?.step(changes);
    for (const event of changes.events) {
      const level = event.type === 'margin_called' || event.type === 'stopped_out' ? 'warn' : 'debug';
      this.#logger[level]({ event: event.type, accountId: event.accountId, time: event.time }, event.message);
    }
  }

  /** Records a write that failed outside the pipeline's own commits: the server must stop. */
  fail(error: unknown, message: string): void {
    this.#broken = error;
    this.#logger.error({ event: 'commit_failed', err: error }, message);
    this.#onFatal(error);
  }

  /** Waits until every step issued so far is durable. */
  async flush(): Promise<void> {
    await this.#commits;
  }

  /** What to wait on for every step issued so far to be durable, or undefined when all are. */
  pendingCommits(): Promise<void> | undefined {
    return this.#inFlight > 0 ? this.#commits : undefined;
  }

  /** False once a commit has failed: the server must stop. */
  isHealthy(): boolean {
    return this.#broken === undefined;
  }

  ensureHealthy(): void {
    if (this.#broken !== undefined)
      throw new AppError('not_ready', 'server is stopping after a storage failure');
  }

  // Made once, not per commit.
  readonly #committed = (): void => {
    this.#inFlight -= 1;
  };

  readonly #commitFailed = (error: unknown): void => {
    this.#inFlight -= 1;
    this.fail(error, 'commit failed: stopping, memory and storage may differ');
  };
}

/** A failed commit is handled by `track`; the publishing branch only stays silent. */
const ignoreFailure = (): void => undefined;
