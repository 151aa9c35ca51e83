/**
 * Who runs the feed and the periodic tick (expirations, stop-out checks). With a database of its
 * own a server is always the leader. With a shared database (SharedStorage.contendForFeed) one
 * process leads; the others stand by, still applying quotes announced by the leader and admin
 * quotes sent to them, and one of them takes over when the leader's database session ends.
 */
import type { Feed, FeedStatus, FeedStep, Logger } from '../application/ports.ts';
import type { FeedContender } from '../application/storage.ts';
import type { PeriodicWork } from '../application/periodic-work.ts';
import type { TradingService } from '../application/trading-service.ts';

export class Leadership implements FeedContender {
  readonly #feed: Feed | undefined;
  readonly #trading: TradingService;
  readonly #periodic: PeriodicWork;
  readonly #logger: Logger;
  #leading = false;
  #stopped = false;
  #started: Promise<void> = Promise.resolve();

  constructor(feed: Feed | undefined, trading: TradingService, periodic: PeriodicWork, logger: Logger) {
    this.#feed = feed;
    this.#trading = trading;
    this.#periodic = periodic;
    this.#logger = logger;
  }

  acquired(): void {
    if (this.#stopped || this.#leading) return;
    this.#leading = true;
    this.#logger.info(
      { event: 'leader', feed: this.#feed?.name ?? 'none' },
      'this process leads: it runs the feed',
    );
    this.#started = Promise.resolve(
      this.#feed?.start((quotes, bars) => this.#trading.ingestQuotes(quotes, bars)),
    ).catch((error: unknown) => this.#logger.error({ err: error }, 'feed start failed'));
    this.#periodic.start();
  }

  /** Resolves once the feed this process started has delivered its first quotes (see Feed.start). */
  started(): Promise<void> {
    return this.#started;
  }

  lost(): void {
    if (!this.#leading) return;
    this.#logger.warn({ event: 'leadership_lost' }, 'lost the feed lock: standing by');
    this.#leading = false;
    this.#periodic.stop();
    this.#feed?.stop().catch((error: unknown) => this.#logger.error({ err: error }, 'feed stop failed'));
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#periodic.stop();
    if (this.#leading) await this.#feed?.stop();
    this.#leading = false;
  }

  /** The feed as the admin API sees it: "standby" on a process that does not lead. */
  feed(): Feed | undefined {
    const inner = this.#feed;
    if (!inner) return undefined;
    const innerStep = inner.step?.bind(inner);
    const standby = (): Error =>
      Object.assign(new Error('this process is on standby: the feed runs on the leading process'), {
        statusCode: 400,
      });
    return {
      name: inner.name,
      start: () => undefined,
      stop: () => Promise.resolve(),
      status: (): FeedStatus =>
        this.#leading ? inner.status() : { name: inner.name, state: 'standby', detail: {} },
      pause: () => {
        if (!this.#leading) throw standby();
        inner.pause?.();
      },
      resume: () => {
        if (!this.#leading) throw standby();
        inner.resume?.();
      },
      ...(innerStep && {
        step: (request: FeedStep) => {
          if (!this.#leading) throw standby();
          return innerStep(request);
        },
      }),
    };
  }
}
