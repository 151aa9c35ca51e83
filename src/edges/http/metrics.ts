/**
 * Prometheus metrics at /metrics: requests by route and status, latency histograms, orders placed,
 * filled and rejected, open deals, quote ticks and the trigger index size. One registry per server
 * (no global default registry), so several servers in one process never mix their figures.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ChangeSet } from '../../engine/engine.ts';
import type { TradingObserver } from '../../application/ports.ts';
import type { TradingService } from '../../application/trading-service.ts';

export class ServerMetrics implements TradingObserver {
  readonly registry = new Registry();
  readonly #requests: Counter<'method' | 'route' | 'status'>;
  readonly #latency: Histogram<'method' | 'route'>;
  readonly #ordersPlaced: Counter;
  readonly #ordersFilled: Counter<'type'>;
  readonly #ordersRejected: Counter;
  readonly #stopOuts: Counter;
  readonly #quoteTicks: Counter;
  readonly #children = new Map<
    string,
    { requests: { inc(): void }; latency: { observe(value: number): void } }
  >();

  constructor(trading: () => TradingService | undefined) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: 'stockstrader_' });
    this.#requests = new Counter({
      name: 'stockstrader_http_requests_total',
      help: 'HTTP requests by method, route and status',
      labelNames: ['method', 'route', 'status'],
      registers,
    });
    this.#latency = new Histogram({
      name: 'stockstrader_http_request_duration_seconds',
      help: 'HTTP request latency by method and route',
      labelNames: ['method', 'route'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    });
    this.#ordersPlaced = new Counter({
      name: 'stockstrader_orders_placed_total',
      help: 'Orders accepted',
      registers,
    });
    this.#ordersFilled = new Counter({
      name: 'stockstrader_orders_filled_total',
      help: 'Orders filled, by order type (system orders included)',
      labelNames: ['type'],
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
        this.set(trading()?.engine.triggers.size ?? 0);
      },
    });
  }

  orderPlaced(): void {
    this.#ordersPlaced.inc();
  }

  step(changes: ChangeSet): void {
    for (const fill of changes.fills) this.#ordersFilled.inc({ type: fill.orderType });
    for (const event of changes.events) {
      if (event.type === 'order_rejected') this.#ordersRejected.inc();
      else if (event.type === 'stop_out') this.#stopOuts.inc();
    }
  }

  quotes(count: number): void {
    this.#quoteTicks.inc(count);
  }

  /**
   * Counts a request and observes its latency (up to its reply being sent). Called from the one
   * onSend hook (build-app.ts): a hook phase of its own would cost every request more than this.
   * Label children are cached per route, method and status: unmatched paths share one label, so
   * junk URLs cannot blow up the series count (or this cache).
   */
  record(request: FastifyRequest, reply: FastifyReply): void {
    const route = request.routeOptions.url ?? 'unmatched';
    const key = `${request.method} ${route} ${reply.statusCode}`;
    let children = this.#children.get(key);
    if (!children) {
      children = {
        requests: this.#requests.labels(request.method, route, String(reply.statusCode)),
        latency: this.#latency.labels(request.method, route),
      };
      this.#children.set(key, children);
    }
    children.requests.inc();
    children.latency.observe(reply.elapsedTime / 1000);
  }

  install(app: FastifyInstance): void {
    app.get('/metrics', { schema: { hide: true } }, async (_request, reply) => {
      reply.type(this.registry.contentType);
      return this.registry.metrics();
    });
  }
}
