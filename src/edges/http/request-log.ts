/**
 * The request log: at most one line per request ("request completed": method, route, URL, status,
 * duration, request id), written once the reply has gone out.
 *
 * - `--request-log all` logs every request, `errors` (the default) only those answered 4xx or 5xx,
 *   `off` none (a failing request's error is still logged where it happens).
 * - Anyone can cause error replies (a bad token, a junk URL, probes of a server that is not ready),
 *   so each status from 400 up is logged at most `ERROR_LINES_PER_SECOND` times a second; the lines
 *   left out are counted and summarised in one "suppressed" line at the end of the second.
 * - Lines are `info`, but `warn` for a 5xx and `error` for a 500 (a fault).
 * - Logged URLs never carry a secret: only the values of the API's own query parameters (paging and
 *   history filters) are kept, any other value is replaced by `***` (a client may send its token as
 *   `?token=…`), so is anything in the path shaped like one of our tokens, and URLs are cut at
 *   `MAX_LOGGED_URL_LENGTH` characters. Headers are never logged.
 * - A client's `X-Request-Id` is kept only when it is a short plain identifier that does not look
 *   like one of our tokens; otherwise the server numbers the request itself, so a request id can
 *   neither smuggle kilobytes into every line nor a token into the log.
 */
import type { IncomingMessage } from 'node:http';
import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

export const REQUEST_LOG_MODES = ['off', 'errors', 'all'] as const;
export type RequestLogMode = (typeof REQUEST_LOG_MODES)[number];

export const ERROR_LINES_PER_SECOND = 10;
export const MAX_LOGGED_URL_LENGTH = 200;

/** Query parameters of the API whose values are logged; every other value is hidden. */
const LOGGED_PARAMETERS = new Set([
  'status',
  'history_from',
  'history_to',
  'skip',
  'limit',
  'since',
  'tickers',
  'interval',
  'from',
  'to',
]);
/** Our tokens: `st_…` for users, `admin_…` for the admin, then 43 base64url characters. */
const TOKEN_SHAPE = /(st|admin)_[A-Za-z0-9_-]{16,}/;
const TOKENS = new RegExp(TOKEN_SHAPE.source, 'g');
const CLIENT_REQUEST_ID = /^[\x21-\x7e]{1,128}$/;
const WINDOW_MS = 1000;

/** The URL as it may be logged: secrets replaced by `***`, cut to a bounded length. */
export function redactUrl(url: string): string {
  const mark = url.indexOf('?');
  const path = mark < 0 ? url : url.slice(0, mark);
  let redacted = path;
  if (mark >= 0) {
    const pairs = url
      .slice(mark + 1)
      .split('&')
      .map((pair) => {
        const equals = pair.indexOf('=');
        if (equals < 0) return pair;
        const name = pair.slice(0, equals);
        return LOGGED_PARAMETERS.has(name) ? pair : `${name}=***`;
      });
    redacted += '?' + pairs.join('&');
  }
  redacted = redacted.replace(TOKENS, '$1_***');
  return redacted.length > MAX_LOGGED_URL_LENGTH ? redacted.slice(0, MAX_LOGGED_URL_LENGTH) + '…' : redacted;
}

/** Request ids: the client's `X-Request-Id` when it is a plain identifier, else `req-<n>`. */
export function requestIds(): (request: IncomingMessage) => string {
  let counter = 0;
  return (request) => {
    const given = request.headers['x-request-id'];
    // A token sent as a request id would be logged with every line: such an id is not kept.
    return typeof given === 'string' && CLIENT_REQUEST_ID.test(given) && !TOKEN_SHAPE.test(given)
      ? given
      : `req-${(++counter).toString(36)}`;
  };
}

/** The fields of a request a log line may show (Fastify's own serializer logs the raw URL). */
export function serializeRequest(request: FastifyRequest): Record<string, unknown> {
  return { method: request.method, url: redactUrl(request.url), remoteAddress: request.ip };
}

/** Counts each error status's lines per second; past the budget, counts what it leaves out. */
class ErrorLineBudget {
  readonly #logger: FastifyBaseLogger;
  readonly #perSecond: number;
  readonly #nowMs: () => number;
  #windowStartMs = Number.NEGATIVE_INFINITY;
  readonly #logged = new Map<number, number>();
  readonly #suppressed = new Map<number, number>();
  #timer: NodeJS.Timeout | undefined;

  constructor(logger: FastifyBaseLogger, perSecond: number, nowMs: () => number) {
    this.#logger = logger;
    this.#perSecond = perSecond;
    this.#nowMs = nowMs;
  }

  admit(status: number): boolean {
    const now = this.#nowMs();
    if (now - this.#windowStartMs >= WINDOW_MS) {
      this.flush();
      this.#windowStartMs = now;
      this.#logged.clear();
    }
    const logged = this.#logged.get(status) ?? 0;
    if (logged < this.#perSecond) {
      this.#logged.set(status, logged + 1);
      return true;
    }
    this.#suppressed.set(status, (this.#suppressed.get(status) ?? 0) + 1);
    if (this.#timer === undefined) {
      this.#timer = setTimeout(() => this.flush(), Math.max(1, this.#windowStartMs + WINDOW_MS - now));
      this.#timer.unref();
    }
    return false;
  }

  /** Writes the summary of the lines left out so far, if any. */
  flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#suppressed.size === 0) return;
    let total = 0;
    const statuses: Record<string, number> = {};
    for (const [status, count] of this.#suppressed) {
      statuses[String(status)] = count;
      total += count;
    }
    this.#suppressed.clear();
    this.#logger.warn(
      { event: 'request_log_suppressed', suppressed: total, statuses },
      `suppressed ${total} request log lines (more than ${this.#perSecond} a second for one status)`,
    );
  }
}

export interface RequestLogOptions {
  mode: RequestLogMode;
  /** Monotonic milliseconds; injectable for tests. */
  nowMs?: () => number;
}

export function installRequestLog(app: FastifyInstance, options: RequestLogOptions): void {
  const { mode } = options;
  if (mode === 'off') return;
  const budget = new ErrorLineBudget(
    app.log,
    ERROR_LINES_PER_SECOND,
    options.nowMs ?? (() => performance.now()),
  );
  app.addHook('onResponse', (request, reply, done) => {
    logRequest(request, reply, mode, budget);
    done();
  });
  app.addHook('onClose', (_app, done) => {
    budget.flush();
    done();
  });
}

function logRequest(
  request: FastifyRequest,
  reply: FastifyReply,
  mode: RequestLogMode,
  budget: ErrorLineBudget,
): void {
  const status = reply.statusCode;
  if (status < 400 ? mode !== 'all' : !budget.admit(status)) return;
  const line = {
    method: request.method,
    route: request.routeOptions.url ?? null,
    url: redactUrl(request.url),
    status,
    duration_ms: Math.round(reply.elapsedTime * 100) / 100,
  };
  if (status === 500) request.log.error(line, 'request completed');
  else if (status >= 500) request.log.warn(line, 'request completed');
  else request.log.info(line, 'request completed');
}
