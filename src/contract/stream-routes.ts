/**
 * The route table of the stream extension under /stream/v1 (docs/streaming.md). Every route takes
 * the public API's bearer token, in the Authorization header or as a `token` query parameter.
 * Success is a stream, not a JSON body: the 200 schemas document the messages it carries.
 */
import * as Api from './public-api.ts';
import { AccountEventsQuery, QuotesQuery, StreamMessage, TokenQuery } from './stream-api.ts';
import { route } from './route-spec.ts';

export { STREAM_PREFIX } from './stream-api.ts';

const errors = { 400: Api.ErrorResponse, 401: Api.ErrorResponse };
const security = [{ bearerAuth: [] }];

export const StreamRoutes = {
  accountEvents: route('GET', '/accounts/:account_id/events', {
    summary: "An account's events (Server-Sent Events), resumable by event id",
    tags: ['Streams'],
    security,
    params: Api.AccountParams,
    querystring: AccountEventsQuery,
    produces: ['text/event-stream'],
    response: { 200: StreamMessage, ...errors },
  }),
  quotes: route('GET', '/quotes', {
    summary: 'The latest quotes of some tickers (Server-Sent Events), conflated',
    tags: ['Streams'],
    security,
    querystring: QuotesQuery,
    produces: ['text/event-stream'],
    response: { 200: StreamMessage, ...errors },
  }),
  webSocket: route('GET', '/ws', {
    summary: 'Account events and quotes over WebSocket: subscribe and unsubscribe messages',
    tags: ['Streams'],
    security,
    querystring: TokenQuery,
    response: { 200: StreamMessage, ...errors },
  }),
} as const;
