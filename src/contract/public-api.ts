/**
 * The public StocksTrader REST API wire contract (spec 0.12.1), defined once.
 *
 * These schemas validate requests, serialise responses and generate the OpenAPI document on the
 * server; the client SDK derives its types from them. Field names and shapes follow the spec
 * exactly; fields marked "extension" are additions the spec allows (extra fields are permitted).
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import {
  ACCOUNT_STATUSES,
  ACCOUNT_SYSTEMS,
  ACCOUNT_TYPES,
  CLIENT_ORDER_TYPES,
  DEAL_STATUSES,
  ORDER_STATUSES,
  ORDER_TYPES,
  SIDES,
  TRADE_MODES,
  DEFAULT_PAGE_LIMIT,
  MAX_PAGE_LIMIT,
} from './enums.ts';

/** A string enumeration that validates with a clean `enum` keyword. */
export function StringEnum<const T extends readonly string[]>(
  values: T,
  options: { description?: string } = {},
) {
  return Type.Unsafe<T[number]>({ type: 'string', enum: [...values], ...options });
}

export const Side = StringEnum(SIDES);
export const ClientOrderType = StringEnum(CLIENT_ORDER_TYPES);
export const OrderType = StringEnum(ORDER_TYPES);
export const OrderStatus = StringEnum(ORDER_STATUSES);
export const DealStatus = StringEnum(DEAL_STATUSES);
export const AccountType = StringEnum(ACCOUNT_TYPES);
export const AccountSystem = StringEnum(ACCOUNT_SYSTEMS);
export const AccountStatus = StringEnum(ACCOUNT_STATUSES);
export const TradeMode = StringEnum(TRADE_MODES);

/** Path identifiers: zero-padded digit strings. */
const AccountIdParam = Type.String({ pattern: '^[0-9]{1,15}$', description: 'Account identifier.' });
const OrderIdParam = Type.String({ pattern: '^[0-9]{1,15}$', description: 'Order identifier.' });
const DealIdParam = Type.String({ pattern: '^[0-9]{1,15}$', description: 'Deal identifier.' });
export const TickerParam = Type.String({
  pattern: '^[A-Za-z0-9._-]{1,32}$',
  description: 'Instrument identifier.',
});

export const AccountParams = Type.Object({ account_id: AccountIdParam });
export const InstrumentParams = Type.Object({ account_id: AccountIdParam, ticker: TickerParam });
export const OrderParams = Type.Object({ account_id: AccountIdParam, order_id: OrderIdParam });
export const DealParams = Type.Object({ account_id: AccountIdParam, deal_id: DealIdParam });

// ---- Envelopes ----

export const ErrorResponse = Type.Object(
  { code: Type.Literal('error'), msg: Type.String() },
  { additionalProperties: true },
);
export type ErrorResponse = Static<typeof ErrorResponse>;

export const SuccessResponse = Type.Object({ code: Type.Literal('ok') });
export type SuccessResponse = Static<typeof SuccessResponse>;

export function Ok<T extends TSchema>(data: T) {
  return Type.Object({ code: Type.Literal('ok'), data });
}

// ---- Resources ----

export const Account = Type.Object({
  id: Type.String(),
  name: Type.String(),
  type: AccountType,
  system: AccountSystem,
  currency: Type.String(),
  status: AccountStatus,
});
export type Account = Static<typeof Account>;

const AccountCashState = Type.Object({
  my_portfolio: Type.Number(),
  investments: Type.Number(),
  available_to_invest: Type.Number(),
});
const AccountMarginState = Type.Object({
  balance: Type.Number(),
  unrealized_pl: Type.Number(),
  equity: Type.Number(),
  margin: Type.Number(),
  free_margin: Type.Number(),
});
export const AccountState = Type.Object({ cash: AccountCashState, margin: AccountMarginState });
export type AccountState = Static<typeof AccountState>;

export const InstrumentShort = Type.Object({
  ticker: Type.String(),
  description: Type.String(),
  contract_size: Type.Number(),
  units: Type.String(),
});
export type InstrumentShort = Static<typeof InstrumentShort>;

export const InstrumentConditions = Type.Object({
  min_volume: Type.Number(),
  max_volume: Type.Number(),
  volume_step: Type.Number(),
  min_tick: Type.Number(),
  leverage: Type.Number(),
  trade_mode: TradeMode,
});
export type InstrumentConditions = Static<typeof InstrumentConditions>;

export const InstrumentForAccount = Type.Composite([InstrumentShort, InstrumentConditions]);
export type InstrumentForAccount = Static<typeof InstrumentForAccount>;

export const Quote = Type.Object({
  ask_price: Type.Number(),
  bid_price: Type.Number(),
  ask_bid_price_time: Type.Number(),
  last_price: Type.Optional(Type.Number()),
  last_price_time: Type.Optional(Type.Number()),
});
export type Quote = Static<typeof Quote>;

export const Order = Type.Object({
  id: Type.String(),
  ticker: Type.String(),
  volume: Type.Number(),
  side: Side,
  type: OrderType,
  filled_price: Type.Optional(Type.Number()),
  price: Type.Optional(Type.Number()),
  expiration: Type.Optional(Type.Number()),
  last_modified: Type.Optional(Type.Number()),
  comment: Type.Optional(Type.String()),
  create_time: Type.Optional(Type.Number()),
  deals: Type.Array(Type.String()),
  status: OrderStatus,
  stop_loss: Type.Optional(
    Type.Number({ description: 'Extension: stop loss passed to the resulting deal.' }),
  ),
  take_profit: Type.Optional(
    Type.Number({ description: 'Extension: take profit passed to the resulting deal.' }),
  ),
});
export type Order = Static<typeof Order>;

export const Deal = Type.Object({
  id: Type.String(),
  ticker: Type.String(),
  volume: Type.Number(),
  side: Side,
  open_price: Type.Number(),
  open_time: Type.Number(),
  profit: Type.Number(),
  close_price: Type.Optional(Type.Number()),
  close_time: Type.Optional(Type.Number()),
  status: DealStatus,
  stop_loss: Type.Optional(Type.Number({ description: 'Extension: current stop loss of the deal.' })),
  take_profit: Type.Optional(Type.Number({ description: 'Extension: current take profit of the deal.' })),
});
export type Deal = Static<typeof Deal>;

// ---- Requests ----

const PriceField = (description: string) => Type.Number({ description });

export const PlaceOrderBody = Type.Object({
  ticker: Type.String({ minLength: 1, maxLength: 32, description: 'Ticker.' }),
  side: Side,
  type: ClientOrderType,
  volume: Type.Number({ description: 'The number of units.' }),
  price: Type.Optional(PriceField('Limit Price for Limit or Stop Price for Stop.')),
  expiration: Type.Optional(
    Type.Number({ description: 'Unix timestamp (UTC) in seconds. 0 value means gtc (good till cancel).' }),
  ),
  stop_loss: Type.Optional(PriceField('Stop Loss price.')),
  take_profit: Type.Optional(PriceField('Take Profit price.')),
});
export type PlaceOrderBody = Static<typeof PlaceOrderBody>;

export const ModifyOrderBody = Type.Object({
  volume: Type.Optional(Type.Number({ description: 'The number of units.' })),
  price: Type.Optional(PriceField('Limit Price for Limit or Stop Price for Stop.')),
  expiration: Type.Optional(
    Type.Number({ description: 'Unix timestamp (UTC) in seconds. 0 value means gtc (good till cancel).' }),
  ),
  stop_loss: Type.Optional(PriceField('Stop Loss price; 0 clears it.')),
  take_profit: Type.Optional(PriceField('Take Profit price; 0 clears it.')),
});
export type ModifyOrderBody = Static<typeof ModifyOrderBody>;

export const ModifyDealBody = Type.Object({
  stop_loss: Type.Optional(PriceField('Stop Loss price; 0 clears it.')),
  take_profit: Type.Optional(PriceField('Take Profit price; 0 clears it.')),
});
export type ModifyDealBody = Static<typeof ModifyDealBody>;

const Timestamp = (description: string) => Type.Number({ minimum: 0, maximum: 1e11, description });
const Skip = Type.Integer({
  minimum: 0,
  maximum: Number.MAX_SAFE_INTEGER,
  description: 'Elements to skip. Default 0.',
});
const Limit = Type.Integer({
  minimum: 1,
  maximum: Number.MAX_SAFE_INTEGER,
  description: `Default ${DEFAULT_PAGE_LIMIT}, capped at ${MAX_PAGE_LIMIT}.`,
});

export const OrdersQuery = Type.Object({
  status: Type.Optional(OrderStatus),
  history_from: Type.Optional(Timestamp('Unix timestamp (UTC) of left boundary of the search.')),
  history_to: Type.Optional(Timestamp('Unix timestamp (UTC) of right boundary of the search.')),
  skip: Type.Optional(Skip),
  limit: Type.Optional(Limit),
});
export type OrdersQuery = Static<typeof OrdersQuery>;

export const DealsQuery = Type.Object({
  status: Type.Optional(
    StringEnum(DEAL_STATUSES, {
      description: 'Extension: only deals with this status.',
    }),
  ),
  history_from: Type.Optional(Timestamp('Unix timestamp (UTC) of left boundary of the search.')),
  history_to: Type.Optional(Timestamp('Unix timestamp (UTC) of right boundary of the search.')),
  skip: Type.Optional(Skip),
  limit: Type.Optional(Limit),
});
export type DealsQuery = Static<typeof DealsQuery>;

export const PlaceOrderData = Type.Object({ order_id: Type.String() });
export type PlaceOrderData = Static<typeof PlaceOrderData>;
