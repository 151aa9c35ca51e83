/**
 * The public StocksTrader API under /api/v1, exactly as the 0.12.1 reference documents it.
 * Every route requires a bearer token; every account id is checked against the token's user
 * (by the service, which each resource's routes call with `request.userId`).
 */
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { TradingService } from '../../../application/trading-service.ts';
import type { IdentityService } from '../../../application/identity-service.ts';
import { sendError } from '../error-handling.ts';
import type { AuthFailureThrottle } from '../auth-failures.ts';
import { bearerToken } from '../bearer-token.ts';
import { authRoutes } from './auth.ts';
import { instrumentRoutes } from './instruments.ts';
import { accountRoutes } from './accounts.ts';
import { quoteRoutes } from './quotes.ts';
import { orderRoutes } from './orders.ts';
import { dealRoutes } from './deals.ts';

declare module 'fastify' {
  interface FastifyRequest {
    userId: string;
  }
}

export interface PublicRouteDeps {
  trading: TradingService;
  identity: IdentityService;
  authFailures: AuthFailureThrottle;
}

export async function publicRoutes(scope: FastifyInstance, deps: PublicRouteDeps): Promise<void> {
  const app = scope.withTypeProvider<TypeBoxTypeProvider>();
  const { trading, identity, authFailures } = deps;

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

  authRoutes(app, identity);
  instrumentRoutes(app, trading);
  accountRoutes(app, trading);
  quoteRoutes(app, trading);
  orderRoutes(app, trading);
  dealRoutes(app, trading);
}
