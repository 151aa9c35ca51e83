/**
 * Liveness and readiness for load balancers and orchestrators. `/healthz` answers 200 while the
 * process runs. `/readyz` answers 200 only when the server can trade, else 503 `not_ready` with
 * the reason: the composition root's reason (starting, shutting down, the feed failing), or a
 * failed commit, after which the server stops.
 */
import type { FastifyInstance } from 'fastify';
import type { TradingService } from '../../application/trading-service.ts';
import { sendError } from './error-handling.ts';

export function healthRoutes(
  app: FastifyInstance,
  { trading, notReady }: { trading: TradingService; notReady?: () => string | undefined },
): void {
  app.get('/healthz', { schema: { hide: true } }, async () => ({ code: 'ok', status: 'live' }));
  app.get('/readyz', { schema: { hide: true } }, async (_request, reply) => {
    const reason = trading.isHealthy() ? notReady?.() : 'stopping after a storage failure';
    if (reason === undefined) return { code: 'ok', status: 'ready' };
    return sendError(reply, 'not_ready', `not ready: ${reason}`);
  });
}
