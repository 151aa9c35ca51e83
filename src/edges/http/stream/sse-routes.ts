/**
 * The Server-Sent Events routes: an account's events, resumable by `Last-Event-ID` or `since`,
 * and the conflated quotes of some tickers. Everything a request can get wrong is checked before
 * the stream opens, so it is answered as the REST API would (400 with the error envelope); after
 * that the reply is a stream (sse-connection.ts).
 */
import type { FastifyRequest } from 'fastify';
import { AppError, invalid } from '../../../application/errors.ts';
import { StreamRoutes } from '../../../contract/stream-routes.ts';
import type { TypedApp } from '../typed-app.ts';
import { SseConnection } from './sse-connection.ts';
import type { OpenStream, StreamRouteDeps } from './stream-routes.ts';

/** The most tickers one quote stream may ask for. */
export const MAX_STREAM_TICKERS = 200;

const EVENT_ID = /^[0-9]{1,15}$/;

/** Where an account stream resumes: Last-Event-ID (a reconnecting EventSource) before `since`. */
function resumeAfter(request: FastifyRequest, since: string | undefined): number | undefined {
  const header = request.headers['last-event-id'];
  if (header !== undefined) {
    const value = Array.isArray(header) ? header.join(',') : header.trim();
    if (!EVENT_ID.test(value)) throw invalid('Last-Event-ID must be a non-negative integer event id');
    return Number(value);
  }
  return since === undefined ? undefined : Number(since);
}

/** The known tickers of a comma-separated list, each once, as the catalogue spells them. */
export function streamTickers(text: string, requireTicker: (ticker: string) => { ticker: string }): string[] {
  const tickers = [
    ...new Set(
      text
        .split(',')
        .map((ticker) => ticker.trim())
        .filter((ticker) => ticker !== ''),
    ),
  ];
  if (tickers.length === 0) throw invalid('tickers must name at least one ticker');
  if (tickers.length > MAX_STREAM_TICKERS)
    throw invalid(`tickers may name at most ${MAX_STREAM_TICKERS} tickers`);
  return tickers.map((ticker) => requireTicker(ticker).ticker);
}

export function sseRoutes(
  app: TypedApp,
  deps: StreamRouteDeps,
  track: (stream: OpenStream & { onClose(handler: () => void): void }) => void,
): void {
  const { trading, limits } = deps;
  const hub = trading.streams;

  app.route({
    ...StreamRoutes.accountEvents,
    handler: async (request, reply) => {
      const since = resumeAfter(request, request.query.since);
      const book = trading.requireBook(request.userId, request.params.account_id);
      const connection = new SseConnection(reply, limits);
      track(connection);
      try {
        const subscription = await hub.subscribeAccount(book.account.id, since, connection, (error) => {
          request.log.error({ err: error }, 'account stream failed');
          connection.fail('not_ready', 'the stream failed: reconnect and resume');
        });
        connection.onClose(() => hub.unsubscribeAccount(subscription));
      } catch (error) {
        request.log.error({ err: error }, 'account stream failed');
        const code = error instanceof AppError ? error.code : 'not_ready';
        connection.fail(code, 'the stream failed: reconnect and resume');
      }
    },
  });

  app.route({
    ...StreamRoutes.quotes,
    handler: async (request, reply) => {
      const tickers = streamTickers(request.query.tickers, (ticker) => trading.requireInstrument(ticker));
      const connection = new SseConnection(reply, limits);
      track(connection);
      const subscription = hub.subscribeQuotes(tickers, connection);
      connection.onClose(() => hub.unsubscribeQuotes(subscription));
    },
  });
}
