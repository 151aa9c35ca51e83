/**
 * The admin API under /admin/v1: the control plane for operators, tests and demos.
 * JSON in and out with the public envelope; guarded by the admin token, which only works here.
 */
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { IdentityService } from '../../../application/identity-service.ts';
import type { TradingService } from '../../../application/trading-service.ts';
import type { ClockControl } from '../../../application/clock-control.ts';
import type { Feed } from '../../../application/ports.ts';
import { sendError } from '../error-handling.ts';
import type { AuthFailureThrottle } from '../auth-failures.ts';
import { bearerToken } from '../bearer-token.ts';
import { userRoutes } from './users.ts';
import { accountRoutes } from './accounts.ts';
import { resetRoutes } from './reset.ts';
import { instrumentRoutes } from './instruments.ts';
import { quoteRoutes } from './quotes.ts';
import { feedRoutes } from './feed.ts';
import { clockRoutes } from './clock.ts';

export interface AdminRouteDeps {
  trading: TradingService;
  identity: IdentityService;
  clock: ClockControl;
  /** The running feed; undefined for the manual feed. */
  feed: Feed | undefined;
  authFailures: AuthFailureThrottle;
}

export async function adminRoutes(scope: FastifyInstance, deps: AdminRouteDeps): Promise<void> {
  const app = scope.withTypeProvider<TypeBoxTypeProvider>();
  const { trading, identity, clock, feed, authFailures } = deps;

  app.addHook('onRequest', (request, reply, done) => {
    const token = bearerToken(request);
    if (token && !authFailures.admit(request, reply)) return;
    if (!token || !identity.isAdminToken(token)) {
      sendError(reply, 'unauthorized', 'admin token required: send Authorization: Bearer <admin token>');
      return;
    }
    authFailures.succeeded(request);
    done();
  });

  userRoutes(app, identity);
  accountRoutes(app, trading);
  resetRoutes(app, trading);
  instrumentRoutes(app, trading);
  quoteRoutes(app, trading);
  feedRoutes(app, trading, feed);
  clockRoutes(app, clock);
}
