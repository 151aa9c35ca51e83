/**
 * The admin (control plane) API under /admin/v1: JSON in and out, same envelope as the public API.
 */
import { Type, type Static } from '@sinclair/typebox';
import { AccountStatus, AccountSystem, AccountType, Side, StringEnum, TradeMode } from './public-api.ts';
import { CALENDARS, LEDGER_ENTRY_TYPES, TRIGGER_SOURCES } from './enums.ts';

/** Printable text: control characters (NUL, newlines, escapes) would corrupt logs and clients. */
const Name = Type.String({ minLength: 1, maxLength: 200, pattern: '^[^\\u0000-\\u001f\\u007f]+$' });
const Currency = Type.String({ pattern: '^[A-Z]{3}$', description: 'ISO 4217 currency code, e.g. USD.' });
const Money = Type.Number({ description: 'Amount in the account currency, at most 2 decimals.' });

export const UserIdParams = Type.Object({ user_id: Type.String({ pattern: '^[0-9]{1,15}$' }) });
export const TokenParams = Type.Object({
  user_id: Type.String({ pattern: '^[0-9]{1,15}$' }),
  token_id: Type.String({ pattern: '^[0-9]{1,15}$' }),
});
export const TickerParams = Type.Object({ ticker: Type.String({ pattern: '^[A-Za-z0-9._-]{1,32}$' }) });

export const CreateUserBody = Type.Object({ name: Name });
export const CreateUserData = Type.Object({ user_id: Type.String() });

export const IssueTokenData = Type.Object({ token: Type.String(), token_id: Type.String() });
export type IssueTokenData = Static<typeof IssueTokenData>;

export const RevokeTokenBody = Type.Object({ token: Type.String({ minLength: 1, maxLength: 200 }) });

export const CreateAccountBody = Type.Object({
  user_id: Type.String({ pattern: '^[0-9]{1,15}$' }),
  name: Name,
  type: AccountType,
  system: AccountSystem,
  currency: Currency,
  balance: Type.Optional(Money),
});
export type CreateAccountBody = Static<typeof CreateAccountBody>;
export const CreateAccountData = Type.Object({ id: Type.String() });

export const BalanceBody = Type.Object({
  amount: Money,
  comment: Type.Optional(Type.String({ maxLength: 500 })),
});
export type BalanceBody = Static<typeof BalanceBody>;
export const BalanceData = Type.Object({ balance: Type.Number() });

export const ResetAccountBody = Type.Object({
  balance: Type.Optional(
    Type.Number({
      description:
        'The new opening balance, at most 2 decimals; without it, the account opens again with the one it has.',
    }),
  ),
});
export type ResetAccountBody = Static<typeof ResetAccountBody>;
export const ResetData = Type.Object({
  accounts: Type.Integer({ description: 'How many accounts were reset.' }),
});

export const PatchAccountBody = Type.Object({
  name: Type.Optional(Name),
  status: Type.Optional(AccountStatus),
});
export type PatchAccountBody = Static<typeof PatchAccountBody>;

const CalendarName = StringEnum(CALENDARS);

export const PutInstrumentBody = Type.Object({
  description: Type.Optional(Type.String({ maxLength: 200 })),
  contract_size: Type.Optional(Type.Number({ exclusiveMinimum: 0 })),
  units: Type.Optional(Type.String({ maxLength: 50 })),
  min_volume: Type.Optional(Type.Number({ exclusiveMinimum: 0 })),
  max_volume: Type.Optional(Type.Number({ exclusiveMinimum: 0 })),
  volume_step: Type.Optional(Type.Number({ exclusiveMinimum: 0 })),
  min_tick: Type.Optional(Type.Number({ exclusiveMinimum: 0 })),
  leverage: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 1 })),
  trade_mode: Type.Optional(TradeMode),
  quote_currency: Type.Optional(Currency),
  calendar: Type.Optional(CalendarName),
  volatility: Type.Optional(Type.Number({ minimum: 0, maximum: 10 })),
  spread_ticks: Type.Optional(Type.Integer({ minimum: 1, maximum: 10000 })),
  reference_price: Type.Optional(Type.Number({ exclusiveMinimum: 0 })),
  trigger_source: Type.Optional(
    StringEnum(TRIGGER_SOURCES, {
      description:
        'What limit, stop, SL and TP orders compare against: the last trade price (`last`, bid/ask while a quote has no fresh last) or `bid_ask`. Fills are at bid/ask either way. A new instrument defaults to `last` on the us_equities calendar, else `bid_ask`.',
    }),
  ),
});
export type PutInstrumentBody = Static<typeof PutInstrumentBody>;

export const PutOverridesBody = Type.Object({
  min_volume: Type.Optional(Type.Number({ exclusiveMinimum: 0 })),
  max_volume: Type.Optional(Type.Number({ exclusiveMinimum: 0 })),
  volume_step: Type.Optional(Type.Number({ exclusiveMinimum: 0 })),
  min_tick: Type.Optional(Type.Number({ exclusiveMinimum: 0 })),
  leverage: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 1 })),
  trade_mode: Type.Optional(TradeMode),
});
export type PutOverridesBody = Static<typeof PutOverridesBody>;

export const PutQuoteBody = Type.Object({
  bid: Type.Number({ exclusiveMinimum: 0 }),
  ask: Type.Number({ exclusiveMinimum: 0 }),
  last: Type.Optional(Type.Number({ exclusiveMinimum: 0 })),
});
export type PutQuoteBody = Static<typeof PutQuoteBody>;

export const AdminQuote = Type.Object({
  ticker: Type.String(),
  bid: Type.Number(),
  ask: Type.Number(),
  time: Type.Number(),
  last: Type.Optional(Type.Number()),
});
export type AdminQuote = Static<typeof AdminQuote>;

export const ClockData = Type.Object({
  mode: StringEnum(['real', 'manual', 'running', 'replay'] as const),
  now: Type.Number({ description: 'Unix seconds in the server timeline.' }),
  speed: Type.Number({ description: 'Clock seconds per real second: 1 in real time, 0 when frozen.' }),
});
export type ClockData = Static<typeof ClockData>;
export const PutClockBody = Type.Object({
  mode: StringEnum(['real', 'manual', 'running'] as const),
  now: Type.Optional(
    Type.Number({
      minimum: 0,
      maximum: 1e11,
      description: 'Unix seconds (manual and running); default: the current clock time.',
    }),
  ),
  speed: Type.Optional(
    Type.Number({
      exclusiveMinimum: 0,
      maximum: 1_000_000,
      description: 'Running clock only: clock seconds per real second (default 1).',
    }),
  ),
});
export type PutClockBody = Static<typeof PutClockBody>;
export const AdvanceClockBody = Type.Object({ seconds: Type.Number({ exclusiveMinimum: 0, maximum: 1e9 }) });

export const Fill = Type.Object({
  order_id: Type.String(),
  ticker: Type.String(),
  side: Side,
  order_type: Type.String(),
  volume: Type.Number(),
  price: Type.Number(),
  time: Type.Number(),
  quote: Type.Object({ time: Type.Number(), bid: Type.Number(), ask: Type.Number() }),
  rule: Type.String(),
  deals: Type.Array(Type.String()),
});
export type Fill = Static<typeof Fill>;

export const LedgerEntry = Type.Object({
  type: StringEnum(LEDGER_ENTRY_TYPES),
  amount: Type.Number(),
  balance_after: Type.Number(),
  comment: Type.String(),
  time: Type.Number(),
  order_id: Type.Union([Type.String(), Type.Null()]),
  deal_id: Type.Union([Type.String(), Type.Null()]),
});
export type LedgerEntry = Static<typeof LedgerEntry>;

export const AdminAccount = Type.Object({
  id: Type.String(),
  user_id: Type.String(),
  name: Type.String(),
  type: AccountType,
  system: AccountSystem,
  currency: Type.String(),
  status: AccountStatus,
  balance: Type.Number(),
});
export type AdminAccount = Static<typeof AdminAccount>;

export const PageQuery = Type.Object({
  skip: Type.Optional(Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER })),
});

export const TicksQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER })),
});

export const FeedStatusData = Type.Object({
  name: Type.String(),
  state: StringEnum(['running', 'failing', 'paused', 'finished', 'stopped', 'failed', 'standby'] as const),
  detail: Type.Record(Type.String(), Type.Union([Type.String(), Type.Number(), Type.Boolean(), Type.Null()])),
});
export type FeedStatusData = Static<typeof FeedStatusData>;

/** Bounds of one step of a paused replay; larger steps are refused rather than left to run long. */
export const MAX_FEED_STEP_QUOTES = 100_000;
export const MAX_FEED_STEP_SECONDS = 86_400;
export const FeedStepBody = Type.Object({
  quotes: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_FEED_STEP_QUOTES })),
  seconds: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: MAX_FEED_STEP_SECONDS })),
});
export type FeedStepBody = Static<typeof FeedStepBody>;
/** The feed's status after a step, and how many quotes the step delivered. */
export const FeedStepData = Type.Object({
  ...FeedStatusData.properties,
  delivered: Type.Integer({ minimum: 0 }),
});
export type FeedStepData = Static<typeof FeedStepData>;
