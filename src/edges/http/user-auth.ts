/**
 * Authentication by a user's bearer token, for every route of a scope: the public API (/api/v1)
 * and the extensions for users (/ext/v1) share this one hook. A missing, invalid or revoked token
 * is a 401; on success `request.userId` is the token's user. Failed look-ups count against the
 * client address (auth-failures.ts).
 */
import type { FastifyInstance } from 'fastify';
import type { IdentityService } from '../../application/identity-service.ts';
import type { AuthFailureThrottle } from './auth-failures.ts';
import { bearerToken } from './bearer-token.ts';
import { sendError } from './error-handling.ts';

declare module 'fastify' {
  interface FastifyRequest {
    userId: string;
  }
}

export function installUserAuth(
  app: FastifyInstance,
  identity: IdentityService,
  authFailures: AuthFailureThrottle,
): void {
  app.decorateRequest('userId', '');
  app.addHook('onRequest', (request, reply, done) => {
    const token = bearerToken(request);
    if (!token) {
      sendError(reply, 'unauthorized', 'missing bearer token: send Authorization: Bearer <token>');
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
  });
}
