/**
 * Builds the HTTP application from its dependencies. It reads no environment and listens on
 * nothing: `main` does that, tests use `app.inject()` or listen on a random port.
 */
import type { Duplex } from 'node:stream';
import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyInstance,
  type preValidationHookHandler,
} from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TSchema } from '@sinclair/typebox';
import type { IdentityService } from '../../application/identity-service.ts';
import type { TradingService } from '../../application/trading-service.ts';
import type { ClockControl } from '../../application/clock-control.ts';
import type { Feed } from '../../application/ports.ts';
import { BODY_LIMIT_BYTES, installBodyParsing } from './body-parsing.ts';
import { installErrorHandling, sendError } from './error-handling.ts';
import { installHeaderChecks } from './header-checks.ts';
import { coerceNumericFields } from './request-coercion.ts';
import { publicRoutes } from './public/public-routes.ts';
import { adminRoutes } from './admin/admin-routes.ts';
import { extRoutes } from './ext/ext-routes.ts';
import { EXT_PREFIX } from '../../contract/ext-routes.ts';
import type { CandleRecorder } from '../../application/market-data/candle-recorder.ts';
import { PUBLIC_PREFIX } from '../../contract/public-routes.ts';
import { ADMIN_PREFIX } from '../../contract/admin-routes.ts';
import type { ServerMetrics } from './metrics.ts';
import { installRateLimit, type RateLimitOptions } from './rate-limit.ts';
import { AuthFailureThrottle, type AuthFailureOptions } from './auth-failures.ts';
import { installUnreadBodies } from './unread-bodies.ts';
import { installRequestLog, requestIds, serializeRequest, type RequestLogMode } from './request-log.ts';

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
}

/** A complete HTTP/1.1 400 response with the JSON error envelope, for paths Fastify never sees. */
function rawBadRequest(msg: string): string {
  const body = JSON.stringify({ code: 'error', msg, error: 'invalid_request' });
  return (
    'HTTP/1.1 400 Bad Request\r\nContent-Type: application/json; charset=utf-8\r\n' +
    'X-Content-Type-Options: nosniff\r\nCache-Control: no-store\r\n' +
    `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`
  );
}

export async function buildApp(deps: AppDependencies): Promise<FastifyInstance> {
  const requestTimeout = deps.requestTimeoutMs ?? 30_000;
  const app = Fastify({
    // Logged URLs are redacted (request-log.ts), whoever logs a request.
    loggerInstance: deps.logger.child({}, { serializers: { req: serializeRequest } }),
    // One line per request at most, written by the request log, not Fastify's pair of lines.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: BODY_LIMIT_BYTES,
    requestIdHeader: false,
    genReqId: requestIds(),
    // A request must arrive completely (headers and body) within the time limit, or Node's HTTP
    // server cuts it off through clientErrorHandler below (a 400 envelope, connection closed):
    // a client trickling a body cannot hold a socket forever. A request whose bytes have all
    // arrived is past this limit, so a handler that is committing is never interrupted. Node
    // checks every 30 s by default; check often enough that the limit holds to a tenth. (Node
    // enforces the limit only while the headers' own limit is no longer than it.)
    requestTimeout,
    http: {
      requestTimeout,
      headersTimeout: Math.min(60_000, requestTimeout),
      connectionsCheckingInterval: Math.max(20, Math.min(1_000, requestTimeout / 10)),
      // A missing Host gets the JSON envelope from installHeaderChecks, not Node's bare 400.
      requireHostHeader: false,
    },
    // While closing, requests already on open connections are still served (storage closes after
    // the HTTP server): Fastify's raw 503 would be a 5xx outside the envelope.
    return503OnClosing: false,
    routerOptions: { maxParamLength: 200, ignoreTrailingSlash: true },
    ajv: {
      customOptions: { coerceTypes: false, removeAdditional: false, useDefaults: true, allErrors: false },
    },
    // Errors raised before routing (bad URL encoding, over-long path parameters) keep the envelope.
    frameworkErrors: (error, _request, reply) => {
      const msg =
        error.code === 'FST_ERR_MAX_PARAM_LENGTH'
          ? 'a path parameter is too long'
          : `malformed request: ${error.message}`;
      void sendError(reply, 'invalid_request', msg);
    },
    // Requests Node's HTTP parser rejects (unknown methods, oversized headers) get the envelope too.
    clientErrorHandler: (error, socket) => {
      if (!socket.writable) return;
      const code = (error as { code?: string }).code;
      const msg =
        code === 'HPE_HEADER_OVERFLOW'
          ? 'request headers are too large'
          : code === 'ERR_HTTP_REQUEST_TIMEOUT'
            ? 'request timed out: send the whole request within the time limit'
            : 'malformed HTTP request';
      socket.end(rawBadRequest(msg));
    },
  });
  // Node hands CONNECT requests to a separate event; unanswered, they would hang up silently.
  app.server.on('connect', (_request, socket: Duplex) => {
    socket.end(rawBadRequest('CONNECT is not supported'));
  });

  installBodyParsing(app);
  installUnreadBodies(app);
  installErrorHandling(app);
  installRequestLog(app, { mode: deps.requestLog ?? 'errors' });
  const authFailures = new AuthFailureThrottle(deps.authFailureLimit ?? { ratePerSecond: 0, burst: 1 });
  deps.metrics?.install(app, authFailures);
  if (deps.rateLimit) installRateLimit(app, deps.rateLimit);
  installHeaderChecks(app);

  app.addHook('onSend', (request, reply, _payload, done) => {
    reply.header('x-request-id', request.id);
    // No reply is a page to sniff or to keep: every one is for this request only. The docs' static
    // files keep the caching their plugin gives them.
    reply.header('x-content-type-options', 'nosniff');
    if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
    deps.metrics?.record(request, reply);
    // Group commit lets the engine run ahead of the disk by one batch: hold every reply until the
    // steps issued before it are durable, so no client sees state a crash could still undo.
    const pending = deps.trading.pendingCommits();
    if (pending) pending.then(() => done(), done);
    else done();
  });
  // With several processes on one database, an account may have changed through another one:
  // account routes first bring it up to date. (With a database of its own a process needs no
  // such hook, and every request is spared it.)
  if (deps.trading.sharesStorage) {
    app.addHook('preHandler', (request, _reply, done) => {
      const accountId = (request.params as { account_id?: unknown } | undefined)?.account_id;
      const purpose = request.method === 'GET' || request.method === 'HEAD' ? 'read' : 'write';
      const refreshing = typeof accountId === 'string' ? deps.trading.refresh(accountId, purpose) : undefined;
      if (refreshing) refreshing.then(() => done(), done);
      else done();
    });
  }
  // Per route, with the route's schemas captured once: reading request.routeOptions builds an
  // object on every access, which every request would pay for.
  app.addHook('onRoute', (route) => {
    const query = route.schema?.querystring as TSchema | undefined;
    const body = route.schema?.body as TSchema | undefined;
    if (!query && !body) return;
    const coerce: preValidationHookHandler = (request, _reply, done) => {
      coerceNumericFields(request.query, query);
      // An empty body on a route with a body schema is an empty form, not a missing object.
      if (body && (request.body === undefined || request.body === null)) request.body = {};
      coerceNumericFields(request.body, body);
      done();
    };
    const existing = route.preValidation;
    route.preValidation = existing === undefined ? [coerce] : [coerce, ...[existing].flat()];
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'StocksTrader REST API (stockstrader-server)',
        version: '0.12.1',
        description: `Wire-compatible implementation of the StocksTrader REST API 0.12.1, served by stockstrader-server ${deps.version}.`,
      },
      components: {
        securitySchemes: {
          bearerAuth: {
            type: 'http',
            scheme: 'bearer',
            description: 'A user token issued through the admin API.',
          },
          adminAuth: { type: 'http', scheme: 'bearer', description: 'The admin token.' },
        },
      },
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  await app.register((scope) => publicRoutes(scope, { ...deps, authFailures }), { prefix: PUBLIC_PREFIX });
  await app.register((scope) => adminRoutes(scope, { ...deps, authFailures }), { prefix: ADMIN_PREFIX });
  await app.register((scope) => extRoutes(scope, { ...deps, authFailures }), { prefix: EXT_PREFIX });

  app.get('/healthz', { schema: { hide: true } }, async () => ({ code: 'ok', status: 'live' }));
  app.get('/readyz', { schema: { hide: true } }, async (_request, reply) => {
    const reason = deps.trading.isHealthy() ? deps.notReady?.() : 'stopping after a storage failure';
    if (reason === undefined) return { code: 'ok', status: 'ready' };
    return sendError(reply, 'not_ready', `not ready: ${reason}`);
  });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  return app;
}
