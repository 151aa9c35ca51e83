/**
 * Who runs the feed and the periodic tick (expirations, stop-out checks). With a database of its
 * own a server is always the leader. With a shared database (SharedStorage.contendForFeed) one
 * process leads; the others stand by, still applying quotes announced by the leader and admin
 * quotes sent to them, and one of them takes over when the leader's database session ends.
 *
 * Readiness (`firstQuotes`) applies the single-process rule wherever the feed runs: the leader
 * waits for its own feed's first quotes; a process standing by waits until it shows a quote for
 * every instrument the leader's feed opens with (`Feed.openingTickers`), announced by the leader
 * or stored before it listened. Ask only once the first attempt at the feed lock is decided.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { invalid } from '../application/errors.ts';
import type { Feed, FeedStatus, FeedStep, Logger } from '../application/ports.ts';
import type { FeedContender } from '../application/storage.ts';
import type { PeriodicWork } from '../application/periodic-work.ts';
import type { TradingService } from '../application/trading-service.ts';

/** How often a process standing by looks for the leader's first quotes while it starts. */
const FIRST_QUOTES_POLL_MS = 20;

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

  /**
   * Resolves once this process shows the feed's first quotes: delivered by its own feed when it
   * leads (see Feed.start), else by the leader's. Also resolves when leadership stops.
   */
  async firstQuotes(): Promise<void> {
    const tickers = this.#feed?.openingTickers?.() ?? [];
    while (!this.#leading && !this.#stopped && tickers.some((ticker) => !this.#trading.isQuoted(ticker)))
      await sleep(FIRST_QUOTES_POLL_MS);
    if (this.#leading) await this.#started;
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
    const standby = (): Error => invalid('this process is on standby: the feed runs on the leading process');
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
