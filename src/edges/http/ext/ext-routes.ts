/**
 * The REST extensions for users under /ext/v1 (docs/compatibility.md lists them): authenticated
 * with the public API's own hook (user-authentication.ts), answered in its envelopes.
 */
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { CandleRecorder } from '../../../application/market-data/candle-recorder.ts';
import type { IdentityService } from '../../../application/identity-service.ts';
import type { TradingService } from '../../../application/trading-service.ts';
import type { AuthFailureThrottle } from '../auth-failures.ts';
import { installBearerAuthentication } from '../user-authentication.ts';
import { candleRoutes } from './candles.ts';

export interface ExtRouteDeps {
  trading: TradingService;
  identity: IdentityService;
  candles: CandleRecorder;
  authFailures: AuthFailureThrottle;
}

export async function extRoutes(scope: FastifyInstance, deps: ExtRouteDeps): Promise<void> {
  const app = scope.withTypeProvider<TypeBoxTypeProvider>();
  installBearerAuthentication(app, deps.identity, deps.authFailures);
  candleRoutes(app, deps.trading, deps.candles);
}
