/**
 * Builds the HTTP application from its dependencies. It reads no environment and listens on
 * nothing: `main` does that, tests use `app.inject()` or listen on a random port.
 *
 * Order matters: the hooks that guard every request (body parsing and draining, error
 * envelopes, the request log, metrics, rate limits, header checks) are installed before any
 * route, and the OpenAPI generator before the routes it documents.
 */
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { IdentityService } from '../../application/identity-service.ts';
import type { TradingService } from '../../application/trading-service.ts';
import type { ClockControl } from '../../application/clock-control.ts';
import type { Feed } from '../../application/ports.ts';
import { installBodyParsing } from './body-parsing.ts';
import { installErrorHandling } from './error-handling.ts';
import { installHeaderChecks } from './header-checks.ts';
import { installNumericCoercion } from './request-coercion.ts';
import { publicRoutes } from './public/public-routes.ts';
import { adminRoutes } from './admin/admin-routes.ts';
import { extRoutes } from './ext/ext-routes.ts';
import { EXT_PREFIX } from '../../contract/ext-routes.ts';
import type { CandleRecorder } from '../../application/market-data/candle-recorder.ts';
import { PUBLIC_PREFIX } from '../../contract/public-routes.ts';
import { STREAM_PREFIX } from '../../contract/stream-routes.ts';
import { DEFAULT_STREAM_LIMITS, streamRoutes } from './stream/stream-routes.ts';
import type { StreamLimits } from './stream/stream-connection.ts';
import { ADMIN_PREFIX } from '../../contract/admin-routes.ts';
import type { ServerMetrics } from './metrics.ts';
import { installRateLimit, type RateLimitOptions } from './rate-limit.ts';
import { AuthFailureThrottle, type AuthFailureOptions } from './auth-failures.ts';
import { installUnreadBodies } from './unread-bodies.ts';
import { installRequestLog, type RequestLogMode } from './request-log.ts';
import { httpServerOptions } from './http-server-options.ts';
import { refuseConnect } from './malformed-http.ts';
import { installReplyPolicy } from './reply-policy.ts';
import { installAccountRefresh } from './account-refresh.ts';
import { registerOpenApi } from './openapi-document.ts';
import { healthRoutes } from './health-routes.ts';

export interface AppDependencies {
  trading: TradingService;
  identity: IdentityService;
  /** The candles behind the charts extension (/ext/v1). */
  candles: CandleRecorder;
  clock: ClockControl;
  feed: Feed | undefined;
  logger: FastifyBaseLogger;
  version: string;
  metrics?: ServerMetrics;
  rateLimit?: RateLimitOptions;
  /** Failed authentications per client address (auth-failures.ts); off when absent. */
  authFailureLimit?: AuthFailureOptions;
  /** A request must arrive completely within this time (default 30 s). */
  requestTimeoutMs?: number;
  /** Which requests get a "request completed" line (default `errors`). */
  requestLog?: RequestLogMode;
  /** Why the server is not ready (starting, shutting down, feed failing); undefined when it is. */
  notReady?: () => string | undefined;
  /** Stream heartbeats and the unread bytes a stream client may leave (default 15 s, 1 MiB). */
  streamLimits?: StreamLimits;
}

export async function buildApp(deps: AppDependencies): Promise<FastifyInstance> {
  const app = Fastify(httpServerOptions({ logger: deps.logger, requestTimeoutMs: deps.requestTimeoutMs }));
  refuseConnect(app.server);

  installBodyParsing(app);
  installUnreadBodies(app);
  installErrorHandling(app);
  installRequestLog(app, { mode: deps.requestLog ?? 'errors' });
  const authFailures = new AuthFailureThrottle(deps.authFailureLimit ?? { ratePerSecond: 0, burst: 1 });
  deps.metrics?.install(app, authFailures);
  if (deps.rateLimit) installRateLimit(app, deps.rateLimit);
  installHeaderChecks(app);
  installReplyPolicy(app, deps);
  installAccountRefresh(app, deps.trading);
  installNumericCoercion(app);

  await registerOpenApi(app, deps.version);
  await app.register((scope) => publicRoutes(scope, { ...deps, authFailures }), { prefix: PUBLIC_PREFIX });
  await app.register((scope) => adminRoutes(scope, { ...deps, authFailures }), { prefix: ADMIN_PREFIX });
  await app.register((scope) => extRoutes(scope, { ...deps, authFailures }), { prefix: EXT_PREFIX });
  await app.register(
    (scope) =>
      streamRoutes(scope, { ...deps, authFailures, limits: deps.streamLimits ?? DEFAULT_STREAM_LIMITS }),
    { prefix: STREAM_PREFIX },
  );
  healthRoutes(app, deps);

  return app;
}
