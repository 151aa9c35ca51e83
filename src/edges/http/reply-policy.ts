/**
 * What every reply carries, and when it may leave. Every reply names its request id (chosen by
 * request-log.ts), says `nosniff` and, unless it set its own caching (the docs' static files),
 * `no-store`: each is for this request only. And no reply leaves before the steps issued before it
 * are durable: group commit lets the engine run ahead of the disk by one batch, and no client may
 * see state a crash could still undo.
 */
import type { FastifyInstance } from 'fastify';
import type { TradingService } from '../../application/trading-service.ts';
import type { ServerMetrics } from './metrics.ts';

export function installReplyPolicy(
  app: FastifyInstance,
  { trading, metrics }: { trading: TradingService; metrics?: ServerMetrics },
): void {
  // One hook for all of it: it runs on every reply.
  app.addHook('onSend', (request, reply, _payload, done) => {
    reply.header('x-request-id', request.id);
    reply.header('x-content-type-options', 'nosniff');
    if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
    metrics?.record(request, reply);
    const pending = trading.pendingCommits();
    if (pending) pending.then(() => done(), done);
    else done();
  });
}
