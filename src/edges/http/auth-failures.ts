/**
 * Failed authentications per client address: a token bucket of failures, `burst` at once and then
 * `ratePerSecond`. An address over it is answered 429 with `Retry-After`, and its credential is
 * not checked at all: no storage lookup, no admin or metrics token comparison. So guessing tokens
 * costs the guesser time and the server almost nothing.
 *
 * Checking a credential that is not already known to be good reserves one failure, and a good one
 * gives it back: lookups still in flight count against the budget, so a flood of concurrent
 * guesses cannot overrun it. A user token this process remembers as live (identity-service.ts)
 * needs no check and passes even while its address is throttled.
 *
 * Keyed by `request.ip`: behind a reverse proxy every client shares the proxy's address.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { sendError } from './error-handling.ts';
import { TokenBuckets } from './rate-limit.ts';

export interface AuthFailureOptions {
  /** Failures per second an address may sustain; 0 disables the throttle. */
  ratePerSecond: number;
  /** Failures an address may have at once before it is throttled. */
  burst: number;
  /** Monotonic milliseconds; injectable for tests. */
  nowMs?: () => number;
}

export class AuthFailureThrottle {
  readonly #buckets: TokenBuckets | undefined;
  readonly #rate: number;
  readonly #burst: number;

  constructor(options: AuthFailureOptions) {
    this.#rate = options.ratePerSecond;
    this.#burst = Math.max(1, options.burst);
    this.#buckets = options.ratePerSecond > 0 ? new TokenBuckets(options) : undefined;
  }

  /**
   * Call before checking a credential. True: go ahead (one failure is reserved). False: the
   * address is over its budget and a 429 has been sent.
   */
  admit(request: FastifyRequest, reply: FastifyReply): boolean {
    if (!this.#buckets) return true;
    const wait = this.#buckets.take(request.ip);
    if (wait === 0) return true;
    reply.header('retry-after', String(wait));
    sendError(
      reply,
      'rate_limited',
      `too many failed authentications from this address: ${this.#rate} per second (burst ${this.#burst}); retry in ${wait} s`,
    );
    return false;
  }

  /** The credential admitted for `request` was good: its reserved failure is given back. */
  succeeded(request: FastifyRequest): void {
    this.#buckets?.give(request.ip);
  }
}
