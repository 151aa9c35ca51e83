/**
 * How the Fastify server is set up: logging, limits, timeouts, routing and validation. The
 * request timeout is the one limit that protects the server from slow clients; a request whose
 * bytes have all arrived is past it, so a handler that is committing is never interrupted.
 */
import { LogController, type FastifyBaseLogger, type FastifyHttpOptions } from 'fastify';
import type { Server } from 'node:http';
import { BODY_LIMIT_BYTES } from './body-parsing.ts';
import { clientErrorHandler, frameworkErrors } from './malformed-http.ts';
import { requestIds, serializeRequest } from './request-log.ts';

/** A request must arrive completely within this time unless configured otherwise. */
const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

export function httpServerOptions(options: {
  logger: FastifyBaseLogger;
  requestTimeoutMs: number | undefined;
}): FastifyHttpOptions<Server> {
  const requestTimeout = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  return {
    // Logged URLs are redacted (request-log.ts), whoever logs a request.
    loggerInstance: options.logger.child({}, { serializers: { req: serializeRequest } }),
    // One line per request at most, written by the request log, not Fastify's pair of lines.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: BODY_LIMIT_BYTES,
    requestIdHeader: false,
    genReqId: requestIds(),
    // A request must arrive completely (headers and body) within the time limit, or Node's HTTP
    // server cuts it off through clientErrorHandler (a 400 envelope, connection closed): a client
    // trickling a body cannot hold a socket forever. Node checks every 30 s by default; check
    // often enough that the limit holds to a tenth. (Node enforces the limit only while the
    // headers' own limit is no longer than it.)
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
    frameworkErrors,
    clientErrorHandler,
  };
}
