/**
 * One quote request to a real StocksTrader server
 * (`GET /api/v1/accounts/{account_id}/instruments/{ticker}/quote`), and what its answer means for the
 * polling feed (`upstream-feed.ts`).
 *
 * Invariants:
 * - A request never throws: every outcome is a `PollResult`. Failures that concern the whole upstream
 *   (429, 5xx, network errors, timeouts) have scope 'upstream', with the `Retry-After` delay when the
 *   upstream sent one; failures that concern one ticker (other 4xx, error bodies, junk, invalid prices)
 *   have scope 'ticker'. A request cut short by the stop signal is 'aborted', not a failure.
 * - Each request ends within `requestTimeoutMs`, body included, and on the stop signal at once.
 * - Reasons quote the upstream's own message, truncated, and never the token.
 * - Only quotes with safe-integer prices, 0 < bid ≤ ask, come out. Quotes are stamped with the
 *   upstream's `ask_bid_price_time`, falling back to the injected clock when that is missing or absurd,
 *   and clamped so that no quote is stamped after the clock's "now".
 *
 * Limitation: a response body is read whole (bounded only by the request timeout).
 */
import { nowSeconds, type Clock } from '../../application/ports.ts';
import { PRICE_DECIMALS, toScaled, type Price } from '../../engine/decimal.ts';
import type { Quote } from '../../engine/model.ts';

/** Upstream quote times before this (2000-01-01) cannot be real and are replaced by the clock's time. */
const EARLIEST_PLAUSIBLE_TIME = 946_684_800;
/** Upstream error messages are quoted in logs, but a hostile upstream must not flood them. */
const MAX_LOGGED_MESSAGE = 200;

export interface UpstreamQuoteClientOptions {
  /** The upstream server's origin without a trailing slash; `/api/v1/…` is appended. */
  baseUrl: string;
  token: string;
  accountId: string;
  /** Stamps quotes whose upstream time is missing or absurd. */
  clock: Clock;
  fetch: typeof fetch;
  /** Per request, body included. */
  requestTimeoutMs: number;
}

/** The outcome of one poll, before it is counted, logged and turned into back-off. */
export type PollResult =
  | { kind: 'quote'; quote: Quote; key: string }
  | { kind: 'aborted' }
  | {
      kind: 'failure';
      /** Whether the whole upstream should be left alone (429, 5xx, transport) or only this ticker. */
      scope: 'upstream' | 'ticker';
      status: number | null;
      reason: string;
      /** Milliseconds the upstream asked us to wait, from `Retry-After`. */
      retryAfterMs?: number;
    };

/** Fetches one ticker's quote from the upstream; see the module comment. */
export class UpstreamQuoteClient {
  readonly #options: UpstreamQuoteClientOptions;

  constructor(options: UpstreamQuoteClientOptions) {
    this.#options = options;
  }

  async request(ticker: string, stopSignal: AbortSignal): Promise<PollResult> {
    const url =
      `${this.#options.baseUrl}/api/v1/accounts/${encodeURIComponent(this.#options.accountId)}` +
      `/instruments/${encodeURIComponent(ticker)}/quote`;
    // One controller per request, fed by the timeout and by stop(). AbortSignal.any would be shorter,
    // but on Node 20 every combined signal stays attached to the long-lived stop signal: a leak at
    // several requests a second over days.
    const request = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      request.abort();
    }, this.#options.requestTimeoutMs);
    timer.unref();
    const onStop = (): void => request.abort();
    stopSignal.addEventListener('abort', onStop, { once: true });
    let status: number | null = null;
    try {
      const response = await this.#options.fetch(url, {
        headers: { authorization: `Bearer ${this.#options.token}`, accept: 'application/json' },
        signal: request.signal,
      });
      status = response.status;
      if (status === 429 || status >= 500) {
        // The body is irrelevant; cancelling it frees the connection.
        await response.body?.cancel().catch(() => undefined);
        const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'), Date.now());
        const reason = status === 429 ? 'rate limited by the upstream' : `upstream server error ${status}`;
        return retryAfterMs === undefined
          ? { kind: 'failure', scope: 'upstream', status, reason }
          : { kind: 'failure', scope: 'upstream', status, reason, retryAfterMs };
      }
      const text = await response.text();
      return this.#interpret(ticker, status, text);
    } catch (error) {
      if (stopSignal.aborted) return { kind: 'aborted' };
      const reason = timedOut
        ? `timed out after ${this.#options.requestTimeoutMs} ms`
        : `network error: ${describeError(error)}`;
      return { kind: 'failure', scope: 'upstream', status, reason };
    } finally {
      clearTimeout(timer);
      stopSignal.removeEventListener('abort', onStop);
    }
  }

  #interpret(ticker: string, status: number, text: string): PollResult {
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    const message =
      isRecord(body) && typeof body.msg === 'string' ? body.msg.slice(0, MAX_LOGGED_MESSAGE) : null;
    const upstreamSays = message === null ? '' : ` (upstream says: ${message})`;
    if (status === 401) {
      return tickerFailure(status, `unauthorized: the upstream rejected the token${upstreamSays}`);
    }
    if (status === 403) {
      return tickerFailure(
        status,
        `forbidden: the token may not read account ${this.#options.accountId}${upstreamSays}`,
      );
    }
    if (status === 404) {
      return tickerFailure(
        status,
        `not found: unknown account ${this.#options.accountId} or ticker ${ticker}${upstreamSays}`,
      );
    }
    if (status < 200 || status >= 300) {
      return tickerFailure(
        status,
        `upstream answered HTTP ${status}${upstreamSays || ' without an error message'}`,
      );
    }
    if (body === undefined) return tickerFailure(status, 'upstream response is not JSON');
    if (!isRecord(body) || body.code !== 'ok') {
      return tickerFailure(status, `upstream answered an error${upstreamSays || ' without a message'}`);
    }
    const parsed = parseQuote(ticker, body.data, nowSeconds(this.#options.clock));
    return typeof parsed === 'string' ? tickerFailure(status, parsed) : { kind: 'quote', ...parsed };
  }
}

function tickerFailure(status: number, reason: string): PollResult {
  return { kind: 'failure', scope: 'ticker', status, reason };
}

/**
 * Turns the upstream's quote `data` into a Quote, or a reason it is unusable. `key` identifies the
 * upstream's figures (not the fallback time), so a repeat is recognised even when the time is ours.
 */
export function parseQuote(
  ticker: string,
  data: unknown,
  nowSec: number,
): { quote: Quote; key: string } | string {
  if (!isRecord(data)) return 'upstream quote has no data object';
  const bid = parsePrice(data.bid_price);
  const ask = parsePrice(data.ask_price);
  if (bid === undefined) return `upstream bid_price is not a positive price: ${show(data.bid_price)}`;
  if (ask === undefined) return `upstream ask_price is not a positive price: ${show(data.ask_price)}`;
  if (bid > ask) return `upstream bid ${show(data.bid_price)} is above ask ${show(data.ask_price)}`;
  const time = parseTime(data.ask_bid_price_time, nowSec, nowSec);
  const quote: Quote = { ticker, bid, ask, time };
  // A missing, null or zero last means "no trade price" (FX); anything else unusable is dropped too,
  // since bid and ask alone are a complete quote.
  const last = parsePrice(data.last_price);
  if (last !== undefined) {
    quote.last = last;
    quote.lastTime = parseTime(data.last_price_time, time, nowSec);
  }
  const key = JSON.stringify([
    bid,
    ask,
    data.ask_bid_price_time ?? null,
    last ?? null,
    data.last_price_time ?? null,
  ]);
  return { quote, key };
}

/**
 * A positive price from a JSON number (or decimal text), exact to 1e-8. Binary artefacts beyond 1e-8
 * (`100.30000000000001`) are rounded away rather than refused, since real servers send them.
 */
function parsePrice(value: unknown): Price | undefined {
  let scaled: number | undefined;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return undefined;
    scaled = toScaled(value, PRICE_DECIMALS) ?? toScaled(value.toFixed(PRICE_DECIMALS), PRICE_DECIMALS);
  } else if (typeof value === 'string') {
    scaled = toScaled(value, PRICE_DECIMALS);
  }
  return scaled !== undefined && scaled > 0 ? scaled : undefined;
}

/** Unix seconds from the upstream, or `fallback` when missing or implausible; never after now. */
function parseTime(value: unknown, fallback: number, nowSec: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) return fallback;
  const seconds = Math.floor(value);
  if (seconds < EARLIEST_PLAUSIBLE_TIME) return fallback;
  // A quote stamped after our "now" (clock skew, milliseconds, a replay clock) is stamped now instead.
  return Math.min(seconds, nowSec);
}

/** `Retry-After` as milliseconds from now: delta-seconds or an HTTP-date; undefined when absent or bad. */
export function parseRetryAfter(header: string | null, nowMs: number): number | undefined {
  if (header === null) return undefined;
  const text = header.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowMs);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function show(value: unknown): string {
  const text = value === undefined ? 'missing' : JSON.stringify(value);
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}

function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  // fetch wraps the socket error ("fetch failed"); its cause says what actually happened.
  const cause: unknown = error.cause;
  return cause instanceof Error ? `${error.message}: ${cause.message}` : error.message;
}
