/**
 * The user-token check of the public API and the streams: an `onRequest` hook that admits a
 * request carrying a live user token (setting `request.userId`) and answers 401 otherwise, behind
 * the failed-authentication throttle (auth-failures.ts). Where the token comes from is the
 * caller's choice: the `Authorization` header for the REST API, also a `token` query parameter for
 * streams (browsers' EventSource cannot send headers). `installBearerAuthentication` is the
 * header-only form that the public API (/api/v1) and its extensions for users (/ext/v1) share.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest, onRequestHookHandler } from 'fastify';
import type { IdentityService } from '../../application/identity-service.ts';
import type { AuthFailureThrottle } from './auth-failures.ts';
import { bearerToken } from './bearer-token.ts';
import { sendError } from './error-handling.ts';

declare module 'fastify' {
  interface FastifyRequest {
    userId: string;
  }
}

export function userAuthentication(
  identity: IdentityService,
  authFailures: AuthFailureThrottle,
  tokenOf: (request: FastifyRequest) => string | undefined,
  missing: string,
): onRequestHookHandler {
  return (request: FastifyRequest, reply: FastifyReply, done: (error?: Error) => void) => {
    const token = tokenOf(request);
    if (!token) {
      sendError(reply, 'unauthorized', missing);
      return;
    }
    // Most requests carry a token seen moments ago: those are admitted at once, with no promise
    // and no closure (every closure made per request costs: the dev loader names each one).
    const remembered = identity.rememberedUser(token);
    if (remembered) {
      request.userId = remembered;
      done();
      return;
    }
    // A lookup of this token already in flight is shared: one client's concurrent connections
    // reserve one failure between them, not one each, and are never throttled for their number.
    const pending = identity.pendingAuthentication(token);
    if (!pending && !authFailures.admit(request, reply)) return;
    (pending ?? identity.authenticate(token)).then((userId) => {
      if (userId) {
        if (!pending) authFailures.succeeded(request);
        request.userId = userId;
        done();
        return;
      }
      const msg = identity.isAdminToken(token)
        ? 'the admin token is not valid for the public API'
        : 'invalid or revoked token';
      sendError(reply, 'unauthorized', msg);
    }, done);
  };
}

/** Every route of the scope requires a user's token in the `Authorization: Bearer` header. */
export function installBearerAuthentication(
  app: FastifyInstance,
  identity: IdentityService,
  authFailures: AuthFailureThrottle,
): void {
  app.decorateRequest('userId', '');
  app.addHook(
    'onRequest',
    userAuthentication(
      identity,
      authFailures,
      bearerToken,
      'missing bearer token: send Authorization: Bearer <token>',
    ),
  );
}
