/**
 * The stream extension's wire contract (docs/streaming.md): the JSON of every message the account
 * and quote streams send, the same over Server-Sent Events (an event's `data`) and WebSocket (a
 * text message, with `stream` added). Orders, deals and quotes are the REST API's objects, so a
 * client needs one parser; money and prices are numbers exactly as the REST API shows them.
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { LEDGER_ENTRY_TYPES } from './enums.ts';
import { Deal, Order, Quote, StringEnum } from './public-api.ts';

export const STREAM_PREFIX = '/stream/v1';

/** The account event types, past tense (docs/streaming.md says what each carries). */
export const ACCOUNT_EVENT_TYPES = [
  'order_placed',
  'order_modified',
  'order_filled',
  'order_rejected',
  'order_canceled',
  'order_expired',
  'deal_opened',
  'deal_modified',
  'deal_increased',
  'deal_reduced',
  'deal_closed',
  'balance_changed',
  'margin_called',
  'stopped_out',
] as const;
export type AccountEventType = (typeof ACCOUNT_EVENT_TYPES)[number];

export const BALANCE_CHANGE_REASONS = LEDGER_ENTRY_TYPES;

const eventHead = {
  id: Type.Integer({ minimum: 1, description: "The account's event id: one above its previous event's." }),
  account_id: Type.String(),
  time: Type.Integer({ description: 'Unix seconds.' }),
};

const event = <T extends readonly AccountEventType[], P extends Record<string, TSchema>>(
  types: T,
  fields: P,
) => Type.Object({ ...eventHead, type: StringEnum(types), ...fields });

export const AccountEvent = Type.Union([
  event(['order_placed', 'order_modified', 'order_filled', 'order_canceled', 'order_expired'], {
    order: Order,
  }),
  event(['order_rejected'], {
    order: Order,
    reason: Type.String({ description: 'The rejection code, as the REST error would name it.' }),
  }),
  event(['deal_opened', 'deal_modified', 'deal_increased', 'deal_closed'], { deal: Deal }),
  event(['deal_reduced'], {
    deal: Deal,
    closed_deal_id: Type.String({ description: 'The closed deal holding the part taken off.' }),
  }),
  event(['balance_changed'], {
    reason: StringEnum(BALANCE_CHANGE_REASONS),
    amount: Type.Number(),
    balance: Type.Number({ description: 'The balance after the change.' }),
    comment: Type.String(),
    order_id: Type.Union([Type.String(), Type.Null()], { description: 'The order a charge belongs to.' }),
    deal_id: Type.Union([Type.String(), Type.Null()], { description: 'The deal a charge belongs to.' }),
  }),
  event(['margin_called'], { margin_level: Type.Number({ description: 'Equity / margin, in percent.' }) }),
  event(['stopped_out'], { deal_id: Type.String(), margin_level: Type.Number() }),
]);
export type AccountEvent = Static<typeof AccountEvent>;

/** First message of an account subscription: events after `last_id` follow. */
export const Subscribed = Type.Object({
  type: Type.Literal('subscribed'),
  account_id: Type.Optional(Type.String()),
  last_id: Type.Optional(Type.Integer({ minimum: 0 })),
  tickers: Type.Optional(Type.Array(Type.String())),
});
export type Subscribed = Static<typeof Subscribed>;

/** The events asked for are gone (retention, account reset): resynchronise through REST. */
export const Reset = Type.Object({
  type: Type.Literal('reset'),
  account_id: Type.String(),
  oldest_id: Type.Union([Type.Integer(), Type.Null()], { description: 'The oldest event kept, if any.' }),
  last_id: Type.Integer({ description: 'The stream goes on after this id.' }),
  msg: Type.String(),
});
export type Reset = Static<typeof Reset>;

export const QuoteMessage = Type.Intersect([
  Type.Object({ type: Type.Literal('quote'), ticker: Type.String() }),
  Quote,
]);
export type QuoteMessage = Static<typeof QuoteMessage>;

/** A stream's last message before the server closes it, or a WebSocket's answer to a bad message. */
export const StreamError = Type.Object({
  type: Type.Literal('error'),
  error: Type.String({ description: 'A code of the error catalogue.' }),
  msg: Type.String(),
  account_id: Type.Optional(Type.String()),
});
export type StreamError = Static<typeof StreamError>;

export const StreamMessage = Type.Union([AccountEvent, Subscribed, Reset, QuoteMessage, StreamError]);

// ---- Requests ----

export const AccountEventsQuery = Type.Object({
  since: Type.Optional(
    Type.String({
      pattern: '^[0-9]{1,15}$',
      description: 'Resume after this event id (or send Last-Event-ID).',
    }),
  ),
  token: Type.Optional(Type.String({ description: "The bearer token, for browsers' EventSource." })),
});

export const TokenQuery = Type.Object({
  token: Type.Optional(Type.String({ description: "The bearer token, for browsers' WebSocket." })),
});

export const QuotesQuery = Type.Object({
  tickers: Type.String({ minLength: 1, maxLength: 4096, description: 'Comma-separated tickers.' }),
  token: Type.Optional(Type.String({ description: "The bearer token, for browsers' EventSource." })),
});

// Literals rather than StringEnum: the server checks these with TypeBox's Value.Check.
const SubscribeType = Type.Union([Type.Literal('subscribe'), Type.Literal('unsubscribe')]);

/** What a WebSocket client sends. */
export const WsClientMessage = Type.Union([
  Type.Object({
    type: SubscribeType,
    account_id: Type.String(),
    since: Type.Optional(Type.Integer({ minimum: 0 })),
  }),
  Type.Object({
    type: SubscribeType,
    tickers: Type.Array(Type.String(), { minItems: 1 }),
  }),
]);
