/**
 * The wire enumerations, defined once. The contract owns them because the client SDK ships the
 * contract and nothing else: the engine's model imports these tuples, never the other way round,
 * so the SDK stays free of server code.
 */
export const SIDES = ['buy', 'sell'] as const;
export const CLIENT_ORDER_TYPES = ['market', 'limit', 'stop'] as const;
export const ORDER_TYPES = [...CLIENT_ORDER_TYPES, 'stop_loss', 'take_profit', 'stop_out'] as const;
export const ORDER_STATUSES = ['active', 'in_execution', 'filled', 'rejected', 'canceled'] as const;
export const DEAL_STATUSES = ['open', 'closing', 'closed'] as const;
export const ACCOUNT_TYPES = ['demo', 'real'] as const;
export const ACCOUNT_SYSTEMS = ['netting', 'hedging'] as const;
export const ACCOUNT_STATUSES = ['enabled', 'disabled', 'no_new_deals'] as const;
export const TRADE_MODES = ['full', 'buy_only', 'sell_only', 'close_only', 'disabled'] as const;
export const CALENDARS = ['us_equities', 'fx', 'always'] as const;
/** What an instrument's limit, stop, SL and TP orders compare against: the last trade price or bid/ask. */
export const TRIGGER_SOURCES = ['last', 'bid_ask'] as const;
/** Why a balance moved outside a deal's settlement: cash in and out, the broker's charges and credits. */
export const LEDGER_ENTRY_TYPES = [
  'deposit',
  'withdrawal',
  'commission',
  'swap',
  'dividend',
  'dividend_tax',
  'split_cash',
] as const;

/** History pages: a list answers this many items unless asked for fewer, and never more than the cap. */
export const DEFAULT_PAGE_LIMIT = 100;
export const MAX_PAGE_LIMIT = 500;

/** Candle intervals of the charts extension, finest first (UTC buckets). */
export const CANDLE_INTERVALS = ['1m', '5m', '15m', '1h', '1d'] as const;
