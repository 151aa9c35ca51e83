/**
 * The public StocksTrader API under /api/v1, exactly as the 0.12.1 reference documents it.
 * Every route requires a bearer token; every account id is checked against the token's user
 * (by the service, which each resource's routes call with `request.userId`).
 */
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { TradingService } from '../../../application/trading-service.ts';
import type { IdentityService } from '../../../application/identity-service.ts';
import type { AuthFailureThrottle } from '../auth-failures.ts';
import { installBearerAuthentication } from '../user-authentication.ts';
import { authRoutes } from './auth.ts';
import { instrumentRoutes } from './instruments.ts';
import { accountRoutes } from './accounts.ts';
import { quoteRoutes } from './quotes.ts';
import { orderRoutes } from './orders.ts';
import { dealRoutes } from './deals.ts';

export interface PublicRouteDeps {
  trading: TradingService;
  identity: IdentityService;
  authFailures: AuthFailureThrottle;
}

export async function publicRoutes(scope: FastifyInstance, deps: PublicRouteDeps): Promise<void> {
  const app = scope.withTypeProvider<TypeBoxTypeProvider>();
  const { trading, identity, authFailures } = deps;

  installBearerAuthentication(app, identity, authFailures);

  authRoutes(app, identity);
  instrumentRoutes(app, trading);
  accountRoutes(app, trading);
  quoteRoutes(app, trading);
  orderRoutes(app, trading);
  dealRoutes(app, trading);
}
