/**
 * A feed that polls the quote endpoint of a real StocksTrader server
 * (`GET /api/v1/accounts/{account_id}/instruments/{ticker}/quote`) for a watchlist, so users can
 * paper-trade on live broker prices.
 *
 * Invariants:
 * - At most one request is in flight, and request starts are spaced at least `1000 / requestsPerSecond`
 *   ms apart. Every request counts against that budget: successes, failures and retries alike.
 * - Tickers are polled round-robin; a ticker that is backed off is skipped, not waited for, so one bad
 *   ticker never starves the others.
 * - A failure never escapes the polling loop: it is logged (never with the token), counted and retried
 *   later. Failures that concern the whole upstream (429, 5xx, network errors, timeouts) back off every
 *   request; failures that concern one ticker (4xx, error bodies, junk, invalid prices) back off that
 *   ticker only. `Retry-After` is honoured when present, otherwise the delay doubles from
 *   `initialBackoffMs` with a little jitter; both are capped at `maxBackoffMs`. A success resets the
 *   back-off it belongs to.
 * - Only quotes with safe-integer prices, 0 < bid ≤ ask, reach the sink. A quote identical to the last
 *   one delivered for its ticker is skipped. A quote is remembered as delivered only once the sink has
 *   resolved, so a failed delivery is retried by the next poll.
 * - The state is `failing` once `FAILING_AFTER_POLLS` polls in a row have failed, whatever the
 *   failure, and `running` again after the next quote received: a feed whose every ticker is
 *   refused or whose upstream is down is failing, one bad ticker among good ones is not.
 * - `stop()` cancels the timers and aborts the request in flight; it waits only for a sink call already
 *   under way (which resolves once its fills are durable).
 *
 * Times: scheduling and back-off run on the real monotonic clock, since they are about the upstream's
 * rate limits and a wall-clock step must not freeze polling. The request itself, and what its answer
 * means (failure scopes, valid prices, quote times), is `upstream-quote-client.ts`.
 */
import type { Clock, Feed, FeedStatus, Logger, QuoteSink } from '../../application/ports.ts';
import { UpstreamQuoteClient, type PollResult } from './upstream-quote-client.ts';

export const DEFAULT_UPSTREAM_REQUESTS_PER_SECOND = 2;
export const DEFAULT_UPSTREAM_TIMEOUT_MS = 5000;
export const DEFAULT_UPSTREAM_INITIAL_BACKOFF_MS = 1000;
export const DEFAULT_UPSTREAM_MAX_BACKOFF_MS = 60_000;
/** Polls failed in a row after which the feed reports itself `failing`. */
export const FAILING_AFTER_POLLS = 3;
/** Back-off delays are stretched by up to this fraction at random, so restarted feeds do not align. */
const BACKOFF_JITTER = 0.25;

export interface UpstreamFeedOptions {
  /** The upstream server's origin, e.g. `https://api.stockstrader.com`; `/api/v1/…` is appended. */
  baseUrl: string;
  token: string;
  accountId: string;
  watch: readonly string[];
  /** Request budget; defaults to 2 per second. */
  requestsPerSecond?: number;
  /** Stamps quotes whose upstream time is missing or absurd. */
  clock: Clock;
  logger: Logger;
  /** Defaults to the global fetch; injectable for tests. */
  fetch?: typeof fetch;
  /** Per request, body included; defaults to 5000. */
  requestTimeoutMs?: number;
  /** First back-off delay when the upstream gives no `Retry-After`; defaults to 1000. */
  initialBackoffMs?: number;
  /** Cap on every back-off, `Retry-After` included; defaults to 60000. */
  maxBackoffMs?: number;
  /** Uniform [0, 1) source for back-off jitter; defaults to Math.random. */
  random?: () => number;
}

interface TickerState {
  readonly ticker: string;
  consecutiveFailures: number;
  /** Monotonic ms before which this ticker is not polled; 0 when not backed off. */
  backoffUntilMs: number;
  /** Identity of the last quote the sink accepted, to skip repeats. */
  lastDeliveredKey: string | undefined;
}

export class UpstreamFeed implements Feed {
  readonly name = 'upstream';
  readonly #client: UpstreamQuoteClient;
  readonly #tickers: readonly TickerState[];
  readonly #intervalMs: number;
  readonly #requestsPerSecond: number;
  readonly #logger: Logger;
  readonly #initialBackoffMs: number;
  readonly #maxBackoffMs: number;
  readonly #random: () => number;

  #running = false;
  #abort: AbortController | undefined;
  #loop: Promise<void> = Promise.resolve();
  #cursor = 0;
  /** Monotonic (performance.now) ms, immune to wall-clock steps. */
  #nextRequestAtMs = 0;
  /** Monotonic ms before which no request is made at all. */
  #backoffUntilMs = 0;
  #consecutiveFailures = 0;
  /** Polls failed in a row, either scope: what `failing` is judged by. */
  #failedPollsInARow = 0;

  #requests = 0;
  #successes = 0;
  #failures = 0;
  #quotesReceived = 0;
  #quotesDelivered = 0;
  #quotesUnchanged = 0;
  #sinkFailures = 0;
  #lastError: string | null = null;
  #lastQuoteTime: number | null = null;

  constructor(options: UpstreamFeedOptions) {
    let base: URL;
    try {
      base = new URL(options.baseUrl);
    } catch {
      throw new RangeError('the upstream URL is not a valid URL');
    }
    if (base.protocol !== 'http:' && base.protocol !== 'https:') {
      throw new RangeError('the upstream URL must use http or https');
    }
    if (options.token.trim() === '') throw new RangeError('the upstream token must not be empty');
    if (options.accountId.trim() === '') throw new RangeError('the upstream account must not be empty');
    const watch = [
      ...new Set(options.watch.map((ticker) => ticker.trim()).filter((ticker) => ticker !== '')),
    ];
    if (watch.length === 0) throw new RangeError('the upstream watchlist must name at least one ticker');
    const requestsPerSecond = options.requestsPerSecond ?? DEFAULT_UPSTREAM_REQUESTS_PER_SECOND;
    if (!Number.isFinite(requestsPerSecond) || requestsPerSecond <= 0) {
      throw new RangeError('the upstream request rate must be greater than 0');
    }
    const requestTimeoutMs = positive(
      options.requestTimeoutMs,
      DEFAULT_UPSTREAM_TIMEOUT_MS,
      'request timeout',
    );
    this.#initialBackoffMs = positive(
      options.initialBackoffMs,
      DEFAULT_UPSTREAM_INITIAL_BACKOFF_MS,
      'initial back-off',
    );
    this.#maxBackoffMs = positive(options.maxBackoffMs, DEFAULT_UPSTREAM_MAX_BACKOFF_MS, 'maximum back-off');
    this.#client = new UpstreamQuoteClient({
      // A trailing slash on the origin (or a path prefix) must not double up with the API path.
      baseUrl: base.href.replace(/\/+$/, ''),
      token: options.token,
      accountId: options.accountId,
      clock: options.clock,
      fetch: options.fetch ?? fetch,
      requestTimeoutMs,
    });
    this.#tickers = watch.map((ticker) => ({
      ticker,
      consecutiveFailures: 0,
      backoffUntilMs: 0,
      lastDeliveredKey: undefined,
    }));
    this.#requestsPerSecond = requestsPerSecond;
    this.#intervalMs = 1000 / requestsPerSecond;
    this.#logger = options.logger;
    this.#random = options.random ?? Math.random;
  }

  status(): FeedStatus {
    const now = performance.now();
    return {
      name: this.name,
      state: !this.#running
        ? 'stopped'
        : this.#failedPollsInARow >= FAILING_AFTER_POLLS
          ? 'failing'
          : 'running',
      detail: {
        watch: this.#tickers.map((state) => state.ticker).join(','),
        requests_per_second: this.#requestsPerSecond,
        requests: this.#requests,
        successes: this.#successes,
        failures: this.#failures,
        consecutive_failures: this.#consecutiveFailures,
        failed_polls_in_a_row: this.#failedPollsInARow,
        quotes_received: this.#quotesReceived,
        quotes_delivered: this.#quotesDelivered,
        quotes_unchanged: this.#quotesUnchanged,
        sink_failures: this.#sinkFailures,
        last_error: this.#lastError,
        last_quote_time: this.#lastQuoteTime,
        backoff_until:
          this.#backoffUntilMs > now ? Math.round(Date.now() + this.#backoffUntilMs - now) : null,
        tickers_backed_off: this.#tickers.filter((state) => state.backoffUntilMs > now).length,
      },
    };
  }

  start(sink: QuoteSink): void {
    if (this.#running) throw new Error('the upstream feed is already running');
    this.#running = true;
    const abort = new AbortController();
    this.#abort = abort;
    this.#loop = this.#pollLoop(sink, abort.signal);
  }

  async stop(): Promise<void> {
    this.#running = false;
    this.#abort?.abort();
    this.#abort = undefined;
    await this.#loop;
  }

  async #pollLoop(sink: QuoteSink, signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      const now = performance.now();
      const wakeAt = Math.max(this.#nextRequestAtMs, this.#backoffUntilMs);
      if (wakeAt > now) {
        await sleep(wakeAt - now, signal);
        continue;
      }
      const state = this.#nextTicker(now);
      if (state === undefined) {
        // Every ticker is backed off: sleep until the first one is due again.
        const due = Math.min(...this.#tickers.map((candidate) => candidate.backoffUntilMs));
        await sleep(Math.max(1, due - now), signal);
        continue;
      }
      this.#nextRequestAtMs = now + this.#intervalMs;
      try {
        await this.#pollOnce(state, sink, signal);
      } catch (error) {
        // Nothing below should throw; if it does, the feed must still not die or spin.
        this.#logger.error({ event: 'upstream_feed_fault', err: error }, 'upstream feed step failed');
        this.#failedPollsInARow++;
        this.#backoffUntilMs = performance.now() + this.#backoffDelay(++this.#consecutiveFailures);
      }
    }
  }

  #nextTicker(now: number): TickerState | undefined {
    for (let offset = 0; offset < this.#tickers.length; offset++) {
      const index = (this.#cursor + offset) % this.#tickers.length;
      const state = this.#tickers[index];
      if (state !== undefined && state.backoffUntilMs <= now) {
        this.#cursor = index + 1;
        return state;
      }
    }
    return undefined;
  }

  async #pollOnce(state: TickerState, sink: QuoteSink, signal: AbortSignal): Promise<void> {
    this.#requests++;
    const result = await this.#client.request(state.ticker, signal);
    if (result.kind === 'aborted') return;
    if (result.kind === 'failure') {
      this.#recordFailure(state, result);
      return;
    }
    this.#successes++;
    this.#quotesReceived++;
    this.#consecutiveFailures = 0;
    this.#failedPollsInARow = 0;
    state.consecutiveFailures = 0;
    if (result.key === state.lastDeliveredKey) {
      this.#quotesUnchanged++;
      this.#logger.debug(
        { event: 'upstream_quote_unchanged', ticker: state.ticker },
        'upstream quote unchanged',
      );
      return;
    }
    try {
      await sink([result.quote]);
    } catch (error) {
      this.#sinkFailures++;
      this.#logger.error(
        { event: 'upstream_quote_rejected', ticker: state.ticker, err: error },
        'upstream quote could not be applied',
      );
      return;
    }
    state.lastDeliveredKey = result.key;
    this.#quotesDelivered++;
    this.#lastQuoteTime = result.quote.time;
  }

  #recordFailure(state: TickerState, failure: Extract<PollResult, { kind: 'failure' }>): void {
    this.#failures++;
    this.#failedPollsInARow++;
    this.#lastError = `${state.ticker}: ${failure.reason}`;
    let backoffMs: number;
    if (failure.scope === 'upstream') {
      this.#consecutiveFailures++;
      backoffMs =
        failure.retryAfterMs === undefined
          ? this.#backoffDelay(this.#consecutiveFailures)
          : Math.min(this.#maxBackoffMs, failure.retryAfterMs);
      this.#backoffUntilMs = performance.now() + backoffMs;
    } else {
      state.consecutiveFailures++;
      backoffMs = this.#backoffDelay(state.consecutiveFailures);
      state.backoffUntilMs = performance.now() + backoffMs;
    }
    this.#logger.warn(
      {
        event: 'upstream_request_failed',
        ticker: state.ticker,
        status: failure.status,
        reason: failure.reason,
        scope: failure.scope,
        backoff_ms: Math.round(backoffMs),
      },
      failure.scope === 'upstream'
        ? 'upstream quote request failed; pausing all requests'
        : 'upstream quote request failed; pausing this ticker',
    );
  }

  /** Exponential from `initialBackoffMs`, jittered upwards, capped at `maxBackoffMs`. */
  #backoffDelay(attempt: number): number {
    const exponent = Math.min(Math.max(0, attempt - 1), 30);
    const base = this.#initialBackoffMs * 2 ** exponent;
    return Math.min(this.#maxBackoffMs, base * (1 + BACKOFF_JITTER * this.#random()));
  }
}

function positive(value: number | undefined, fallback: number, what: string): number {
  const chosen = value ?? fallback;
  if (!Number.isFinite(chosen) || chosen <= 0)
    throw new RangeError(`the upstream ${what} must be greater than 0`);
  return chosen;
}

/** Resolves after `ms`, or at once when `signal` aborts; the timer never keeps the process alive. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) {
      resolve();
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    timer.unref();
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
