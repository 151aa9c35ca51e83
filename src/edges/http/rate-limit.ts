/**
 * Per-token rate limiting: a token bucket per bearer token (or per client address when there is
 * none), refilled at `ratePerSecond` up to `burst`. A request over the limit gets 429 with
 * `Retry-After` and the JSON envelope.
 *
 * What is limited is decided by the route the router matched, never by the raw URL: the router
 * decodes the path, so `/%61pi/v1/…` reaches `/api/v1/…` and must be counted like it. Every
 * `/api`, `/admin`, `/ext` and `/stream` route is limited (a stream once, when it connects), and
 * so is every request that matches no route; the
 * operational routes (/healthz, /readyz, /metrics, /docs, /openapi.json) are not.
 *
 * A token bucket rather than @fastify/rate-limit's fixed windows: fixed windows let a client send
 * twice the limit across a window edge, a bucket never more than `burst` at once.
 * Buckets are keyed by a hash of the token so the map never holds secrets; idle full buckets are
 * dropped so memory stays bounded by the number of active clients.
 */
import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { sendError } from './error-handling.ts';
import { bearerToken } from './bearer-token.ts';

export interface RateLimitOptions {
  /** Sustained requests per second per token; 0 disables limiting. */
  ratePerSecond: number;
  /** Bucket size: how many requests may arrive at once. */
  burst: number;
  /** Monotonic milliseconds; injectable for tests. */
  nowMs?: () => number;
}

interface Bucket {
  tokens: number;
  updatedMs: number;
}

const SWEEP_EVERY_REQUESTS = 10_000;

export class TokenBuckets {
  readonly #buckets = new Map<string, Bucket>();
  readonly #rate: number;
  readonly #burst: number;
  readonly #nowMs: () => number;
  #requests = 0;

  constructor(options: RateLimitOptions) {
    this.#rate = options.ratePerSecond;
    this.#burst = Math.max(1, options.burst);
    this.#nowMs = options.nowMs ?? (() => performance.now());
  }

  /** Takes one token for `key`; returns 0 when allowed, else the seconds to wait. */
  take(key: string): number {
    const now = this.#nowMs();
    if (++this.#requests % SWEEP_EVERY_REQUESTS === 0) this.#sweep(now);
    let bucket = this.#buckets.get(key);
    if (!bucket) this.#buckets.set(key, (bucket = { tokens: this.#burst, updatedMs: now }));
    bucket.tokens = Math.min(this.#burst, bucket.tokens + ((now - bucket.updatedMs) / 1000) * this.#rate);
    bucket.updatedMs = now;
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - bucket.tokens) / this.#rate));
  }

  /** Gives back one token taken for `key` (never more than `burst`). */
  give(key: string): void {
    const bucket = this.#buckets.get(key);
    if (bucket) bucket.tokens = Math.min(this.#burst, bucket.tokens + 1);
  }

  get size(): number {
    return this.#buckets.size;
  }

  #sweep(now: number): void {
    for (const [key, bucket] of this.#buckets) {
      if (bucket.tokens + ((now - bucket.updatedMs) / 1000) * this.#rate >= this.#burst)
        this.#buckets.delete(key);
    }
  }
}

/** The token itself, not the raw header: spacing or case variants of one token share a bucket. */
function clientKey(request: FastifyRequest): string {
  const token = bearerToken(request);
  if (token !== undefined) return 'token:' + createHash('sha256').update(token).digest('base64url');
  return 'address:' + request.ip;
}

export function installRateLimit(app: FastifyInstance, options: RateLimitOptions): void {
  if (options.ratePerSecond <= 0) return;
  const buckets = new TokenBuckets(options);
  app.addHook('onRequest', async (request, reply) => {
    const route = request.routeOptions.url;
    if (
      route !== undefined &&
      !route.startsWith('/api/') &&
      !route.startsWith('/admin/') &&
      !route.startsWith('/ext/') &&
      !route.startsWith('/stream/')
    )
      return undefined;
    const wait = buckets.take(clientKey(request));
    if (wait === 0) return undefined;
    reply.header('retry-after', String(wait));
    return sendError(
      reply,
      'rate_limited',
      `rate limit exceeded: ${options.ratePerSecond} requests per second (burst ${options.burst}); retry in ${wait} s`,
    );
  });
}
