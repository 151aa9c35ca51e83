/**
 * What the messages of the two SSE streams mean to the SDK's iterators (event-stream.ts reads
 * them). The JSON is the contract's (contract/stream-api.ts) and is trusted as the REST answers
 * are; a message that is not JSON at all ends the iteration with an error.
 *
 * Account events: the resume id is the last id the stream stood at: the `id` of the last event
 * yielded, or of `subscribed` (so a stream opened without `since` resumes where it started, not at
 * the latest event of its next connection), or of `reset` (the stream goes on after its
 * `last_id`, which may be lower than before: another database). An event at or below the resume id
 * is dropped, so a consumer never sees one twice. Event types this SDK does not know (a newer
 * server) move the resume id but are not yielded, so the yielded type stays true.
 */
import type { EventSourceMessage } from 'eventsource-parser';
import { fillPath } from '../contract/route-spec.ts';
import {
  ACCOUNT_EVENT_TYPES,
  type AccountEvent,
  type QuoteMessage,
  type Reset,
} from '../contract/stream-api.ts';
import { STREAM_PREFIX, StreamRoutes } from '../contract/stream-routes.ts';
import { StocksTraderError } from './http.ts';
import type { Decoded, StreamDecoder } from './event-stream.ts';

/** What `client.events()` yields: an account event, or a `reset` telling it to resynchronise. */
export type AccountStreamItem = AccountEvent | Reset;

const EVENT_TYPES: ReadonlySet<string> = new Set(ACCOUNT_EVENT_TYPES);

function json(message: EventSourceMessage): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(message.data);
    if (typeof value === 'object' && value !== null) return value as Record<string, unknown>;
  } catch {
    // Reported below, as any other message that is not a JSON object.
  }
  throw new StocksTraderError(200, `the stream sent a message that is not JSON: ${message.data}`, undefined);
}

/** The server's final message before it closes a stream: worth a reconnection. */
function ended(data: Record<string, unknown>): Decoded<never> {
  return { end: `the server ended the stream: ${String(data.error)}: ${String(data.msg)}` };
}

export function accountEventsDecoder(
  accountId: string,
  since: number | undefined,
): StreamDecoder<AccountStreamItem> {
  let resumeId = since;
  return {
    path: fillPath(STREAM_PREFIX, StreamRoutes.accountEvents, { account_id: accountId }, encodeURIComponent),
    resumeId: () => (resumeId === undefined ? undefined : String(resumeId)),
    decode(message) {
      const data = json(message);
      switch (message.event) {
        case 'subscribed':
          if (typeof data.last_id === 'number') resumeId = data.last_id;
          return { skip: true };
        case 'reset':
          resumeId = (data as Reset).last_id;
          return { item: data as Reset };
        case 'error':
          return ended(data);
      }
      if (typeof data.id !== 'number' || (resumeId !== undefined && data.id <= resumeId))
        return { skip: true };
      resumeId = data.id;
      return EVENT_TYPES.has(String(data.type)) ? { item: data as AccountEvent } : { skip: true };
    },
  };
}

export function quotesDecoder(tickers: readonly string[]): StreamDecoder<QuoteMessage> {
  const query = new URLSearchParams({ tickers: tickers.join(',') });
  return {
    path: `${fillPath(STREAM_PREFIX, StreamRoutes.quotes, {})}?${query.toString()}`,
    // Quotes have no ids: a new connection starts with each ticker's current quote.
    resumeId: () => undefined,
    decode(message) {
      const data = json(message);
      if (message.event === 'quote') return { item: data as QuoteMessage };
      if (message.event === 'error') return ended(data);
      return { skip: true };
    },
  };
}
