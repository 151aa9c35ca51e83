/**
 * Prometheus metrics at /metrics: requests by route and status, latency histograms, orders placed,
 * filled and rejected, open deals, quote ticks and the trigger index size. One registry per server
 * (no global default registry), so several servers in one process never mix their figures.
 *
 * Rendering costs milliseconds of CPU, so a rendering is served for a second (scrapers poll every
 * few seconds; a flood of scrapes then costs the server almost nothing). With a metrics token,
 * /metrics answers only `Authorization: Bearer <token>`, and failures count against the client
 * address's failed-authentication budget like any other token's.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ChangeSet } from '../../engine/engine.ts';
import type { TradingObserver } from '../../application/ports.ts';
import type { TradingService } from '../../application/trading-service.ts';
import type { AuthFailureThrottle } from './auth-failures.ts';
import { sendError } from './error-handling.ts';
import { bearerToken } from './bearer-token.ts';

/** How long one rendering of the metrics is served. */
export const METRICS_CACHE_MS = 1_000;

export interface MetricsOptions {
  /** When set, /metrics requires `Authorization: Bearer <token>`. */
  token?: string | undefined;
  /** Monotonic milliseconds; injectable for tests. */
  nowMs?: () => number;
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

/** One method and route: how many requests, their latencies' sum, and counts per bucket. */
interface LatencySeries {
  method: string;
  route: string;
  count: number;
  seconds: number;
  /** Requests per bucket, not cumulative; the last slot counts those above every bound. */
  buckets: number[];
}

/** One status of a method and route: how many requests, and the latency series they add to. */
interface RequestSeries {
  status: string;
  count: number;
  latency: LatencySeries;
}

type HistogramData = Awaited<ReturnType<Histogram['get']>>;

const LATENCY_NAME = 'stockstrader_http_request_duration_seconds';
const LATENCY_HELP = 'HTTP request latency by method and route';

/**
 * The request latency histogram, read from the latency series when scraped. prom-client's own
 * `observe` (like a counter's `inc`) hashes the label set on every call, about 0.8 µs a request,
 * while `ServerMetrics.record` only adds to plain numbers. The registry reads a histogram through
 * `getForPromString` (text) or `get` (JSON), so both answer from the series.
 */
class RequestLatency extends Histogram<'method' | 'route'> {
  readonly #series: Map<string, LatencySeries>;

  constructor(registry: Registry, series: Map<string, LatencySeries>) {
    super({
      name: LATENCY_NAME,
      help: LATENCY_HELP,
      labelNames: ['method', 'route'],
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    });
    this.#series = series;
  }

  override async get(): Promise<HistogramData> {
    const values: HistogramData['values'] = [];
    const bucketName = `${LATENCY_NAME}_bucket`;
    for (const { method, route, count, seconds, buckets } of this.#series.values()) {
      let cumulative = 0;
      LATENCY_BUCKETS.forEach((le, index) => {
        cumulative += buckets[index] as number;
        values.push({ metricName: bucketName, labels: { le, method, route }, value: cumulative });
      });
      values.push({ metricName: bucketName, labels: { le: '+Inf', method, route }, value: count });
      values.push({ metricName: `${LATENCY_NAME}_sum`, labels: { method, route }, value: seconds });
      values.push({ metricName: `${LATENCY_NAME}_count`, labels: { method, route }, value: count });
    }
    // The typings declare `type` as an enum the package does not export; at run time it is text.
    const type = 'histogram' as unknown as HistogramData['type'];
    return {
      name: LATENCY_NAME,
      help: LATENCY_HELP,
      type,
      values,
      aggregator: 'sum',
      collect: () => undefined,
    };
  }

  getForPromString(): Promise<HistogramData> {
    return this.get();
  }
}

export class ServerMetrics implements TradingObserver {
  readonly registry = new Registry();
  readonly #ordersPlaced: Counter;
  readonly #ordersRejected: Counter;
  readonly #stopOuts: Counter;
  readonly #quoteTicks: Counter;
  /**
   * Requests by `method route status`, latencies by `method route`, fills by order type: counted
   * here, read by prom-client when scraped.
   */
  readonly #requests = new Map<string, RequestSeries>();
  readonly #latencies = new Map<string, LatencySeries>();
  readonly #fills = new Map<string, number>();
  readonly #tokenHash: Buffer | undefined;
  readonly #nowMs: () => number;
  /** The last rendering and until when it is served (monotonic ms). */
  #rendered: { text: Promise<string>; untilMs: number } | undefined;

  constructor(trading: () => TradingService | undefined, options: MetricsOptions = {}) {
    this.#tokenHash = options.token === undefined ? undefined : sha256(options.token);
    this.#nowMs = options.nowMs ?? (() => performance.now());
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: 'stockstrader_' });
    const requests = this.#requests;
    new Counter({
      name: 'stockstrader_http_requests_total',
      help: 'HTTP requests by method, route and status',
      labelNames: ['method', 'route', 'status'],
      registers,
      collect() {
        this.reset();
        for (const { latency, status, count } of requests.values())
          this.inc({ method: latency.method, route: latency.route, status }, count);
      },
    });
    new RequestLatency(this.registry, this.#latencies);
    const fills = this.#fills;
    new Counter({
      name: 'stockstrader_orders_filled_total',
      help: 'Orders filled, by order type (system orders included)',
      labelNames: ['type'],
      registers,
      collect() {
        this.reset();
        for (const [type, count] of fills) this.inc({ type }, count);
      },
    });
    this.#ordersPlaced = new Counter({
      name: 'stockstrader_orders_placed_total',
      help: 'Orders accepted',
      registers,
    });
    this.#ordersRejected = new Counter({
      name: 'stockstrader_orders_rejected_total',
      help: 'Orders rejected',
      registers,
    });
    this.#stopOuts = new Counter({
      name: 'stockstrader_stop_outs_total',
      help: 'Deals closed by stop-out',
      registers,
    });
    this.#quoteTicks = new Counter({
      name: 'stockstrader_quote_ticks_total',
      help: 'Quotes applied',
      registers,
    });
    new Gauge({
      name: 'stockstrader_open_deals',
      help: 'Open deals across all accounts',
      registers,
      collect() {
        this.set(trading()?.openDealCount() ?? 0);
      },
    });
    new Gauge({
      name: 'stockstrader_trigger_index_size',
      help: 'Resting orders, stop losses and take profits in the trigger index',
      registers,
      collect() {
        this.set(trading()?.triggerCount() ?? 0);
      },
    });
  }

  orderPlaced(): void {
    this.#ordersPlaced.inc();
  }

  step(changes: ChangeSet): void {
    for (const fill of changes.fills)
      this.#fills.set(fill.orderType, (this.#fills.get(fill.orderType) ?? 0) + 1);
    for (const event of changes.events) {
      if (event.type === 'order_rejected') this.#ordersRejected.inc();
      else if (event.type === 'stopped_out') this.#stopOuts.inc();
    }
  }

  quotes(count: number): void {
    this.#quoteTicks.inc(count);
  }

  /**
   * Counts a request and its latency (up to its reply being sent). Called from the one onSend
   * hook (build-app.ts): a hook phase of its own would cost every request more than this.
   * Series are kept per route, method and status: unmatched paths share one label, so junk URLs
   * cannot blow up the series count.
   */
  record(request: FastifyRequest, reply: FastifyReply): void {
    const route = request.routeOptions.url ?? 'unmatched';
    const key = `${request.method} ${route} ${reply.statusCode}`;
    const series = this.#requests.get(key) ?? this.#addSeries(key, request.method, route, reply.statusCode);
    const seconds = reply.elapsedTime / 1000;
    series.count += 1;
    const latency = series.latency;
    latency.count += 1;
    latency.seconds += seconds;
    let bucket = 0;
    while (bucket < LATENCY_BUCKETS.length && seconds > (LATENCY_BUCKETS[bucket] as number)) bucket += 1;
    (latency.buckets[bucket] as number) += 1;
  }

  #addSeries(key: string, method: string, route: string, status: number): RequestSeries {
    const routeKey = `${method} ${route}`;
    let latency = this.#latencies.get(routeKey);
    if (!latency) {
      latency = { method, route, count: 0, seconds: 0, buckets: [...LATENCY_BUCKETS, Infinity].map(() => 0) };
      this.#latencies.set(routeKey, latency);
    }
    const series = { status: String(status), count: 0, latency };
    this.#requests.set(key, series);
    return series;
  }

  /** The metrics text, rendered at most once per METRICS_CACHE_MS (concurrent scrapes share it). */
  render(): Promise<string> {
    const now = this.#nowMs();
    if (this.#rendered && now < this.#rendered.untilMs) return this.#rendered.text;
    const rendered = { text: this.registry.metrics(), untilMs: now + METRICS_CACHE_MS };
    this.#rendered = rendered;
    rendered.text.catch(() => {
      if (this.#rendered === rendered) this.#rendered = undefined;
    });
    return rendered.text;
  }

  install(app: FastifyInstance, authFailures?: AuthFailureThrottle): void {
    app.get('/metrics', { schema: { hide: true } }, async (request, reply) => {
      if (this.#tokenHash && !this.#authorised(request, reply, authFailures)) return reply;
      reply.type(this.registry.contentType);
      return this.render();
    });
  }

  /** Checks the metrics token; false when a 401 or 429 has been sent. */
  #authorised(request: FastifyRequest, reply: FastifyReply, authFailures: AuthFailureThrottle | undefined) {
    const token = bearerToken(request);
    if (token !== undefined && authFailures && !authFailures.admit(request, reply)) return false;
    if (token === undefined || !timingSafeEqual(sha256(token), this.#tokenHash as Buffer)) {
      sendError(reply, 'unauthorized', 'metrics token required: send Authorization: Bearer <metrics token>');
      return false;
    }
    authFailures?.succeeded(request);
    return true;
  }
}
