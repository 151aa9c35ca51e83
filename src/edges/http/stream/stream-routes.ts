/**
 * The stream extension under /stream/v1 (docs/streaming.md): Server-Sent Events of an account's
 * events and of quotes (sse-routes.ts), and the same over one WebSocket (ws-connection.ts).
 *
 * - Authentication is the public API's (user-authentication.ts, with its failed-authentication
 *   throttle), taking the token from `Authorization: Bearer` or a `token` query parameter, which
 *   the request log never shows (request-log.ts keeps only the API's own parameters' values).
 * - Rate limiting counts a stream once, when it connects (rate-limit.ts); messages on an open
 *   WebSocket are not requests.
 * - Shutdown: every open stream gets a final `error` message (`not_ready`) and is closed before the
 *   HTTP server closes, so open streams never hold the shutdown.
 */
import websocket from '@fastify/websocket';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { IdentityService } from '../../../application/identity-service.ts';
import type { TradingService } from '../../../application/trading-service.ts';
import type { AuthFailureThrottle } from '../auth-failures.ts';
import { bearerToken } from '../bearer-token.ts';
import { userAuthentication } from '../user-authentication.ts';
import type { StreamLimits } from './stream-connection.ts';
import { sseRoutes } from './sse-routes.ts';
import { webSocketRoute, MAX_CLIENT_MESSAGE_BYTES } from './ws-connection.ts';

export const DEFAULT_STREAM_LIMITS: StreamLimits = { heartbeatMs: 15_000, bufferBytes: 1024 * 1024 };

export interface StreamRouteDeps {
  trading: TradingService;
  identity: IdentityService;
  authFailures: AuthFailureThrottle;
  limits: StreamLimits;
}

/** A stream the server can end: with a final message saying why. */
export interface OpenStream {
  fail(error: 'not_ready', msg: string): void;
}

/** The token of the Authorization header, else of a `token` query parameter. */
function streamToken(request: FastifyRequest): string | undefined {
  const header = bearerToken(request);
  if (header !== undefined) return header;
  const token = (request.query as { token?: unknown } | undefined)?.token;
  return typeof token === 'string' && token.length > 0 && token.length <= 512 ? token : undefined;
}

export async function streamRoutes(scope: FastifyInstance, deps: StreamRouteDeps): Promise<void> {
  const app = scope.withTypeProvider<TypeBoxTypeProvider>();
  const open = new Set<OpenStream>();
  const track = (stream: OpenStream & { onClose(handler: () => void): void }): void => {
    open.add(stream);
    stream.onClose(() => open.delete(stream));
  };
  // Before the WebSocket plugin's own preClose, which closes its sockets without a word.
  app.addHook('preClose', (done) => {
    for (const stream of [...open])
      stream.fail('not_ready', 'the server is shutting down: reconnect and resume');
    done();
  });
  await app.register(websocket, { options: { maxPayload: MAX_CLIENT_MESSAGE_BYTES } });
  app.decorateRequest('userId', '');
  app.addHook(
    'onRequest',
    userAuthentication(
      deps.identity,
      deps.authFailures,
      streamToken,
      'missing bearer token: send Authorization: Bearer <token> or ?token=<token>',
    ),
  );
  sseRoutes(app, deps, track);
  webSocketRoute(app, deps, track);
}
