/**
 * A graceful shutdown closes the parts in the order that keeps every acknowledged change durable:
 * readiness says "shutting down" at once, the feed and the periodic work stop, the HTTP server
 * lets requests in flight finish, the candles gathered are written, the steps the requests issued
 * are flushed, and only then does storage close. Asking again returns the same shutdown.
 */
import type { FastifyInstance } from 'fastify';
import type { CandleRecorder } from '../application/market-data/candle-recorder.ts';
import type { Storage } from '../application/storage.ts';
import type { TradingService } from '../application/trading-service.ts';
import type { Leadership } from './leadership.ts';
import type { Readiness } from './readiness.ts';

/** How long a graceful shutdown waits for open connections before closing them. */
const CLOSE_GRACE_MS = 5_000;

export interface ClosingParts {
  readiness: Readiness;
  leader: Leadership;
  app: FastifyInstance;
  trading: TradingService;
  candles: CandleRecorder;
  storage: Storage;
}

export function closeInOrder({
  readiness,
  leader,
  app,
  trading,
  candles,
  storage,
}: ClosingParts): () => Promise<void> {
  let closing: Promise<void> | undefined;
  return () =>
    (closing ??= (async () => {
      readiness.closing();
      await leader.stop();
      // Requests in flight finish; a connection still open after a grace period (a client that
      // keeps a keep-alive socket busy) is cut rather than holding the exit for its timeout.
      const force = setTimeout(() => app.server.closeAllConnections(), CLOSE_GRACE_MS);
      force.unref();
      await app.close();
      clearTimeout(force);
      await candles.close();
      await trading.flush().catch(() => undefined);
      await storage.close();
    })());
}
