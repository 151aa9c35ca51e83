/**
 * With several processes on one database, an account may have changed through another one:
 * account routes first bring it up to date (TradingService.refresh). With a database of its own a
 * process needs no such hook, and every request is spared it.
 */
import type { FastifyInstance } from 'fastify';
import type { TradingService } from '../../application/trading-service.ts';

export function installAccountRefresh(app: FastifyInstance, trading: TradingService): void {
  if (!trading.sharesStorage) return;
  app.addHook('preHandler', (request, _reply, done) => {
    const accountId = (request.params as { account_id?: unknown } | undefined)?.account_id;
    const purpose = request.method === 'GET' || request.method === 'HEAD' ? 'read' : 'write';
    const refreshing = typeof accountId === 'string' ? trading.refresh(accountId, purpose) : undefined;
    if (refreshing) refreshing.then(() => done(), done);
    else done();
  });
}
