/**
 * Row mapping shared by the storage adapters: engine models to column records and back.
 *
 * Both schemas use the same column names and store every id, time, price, volume and amount as
 * an integer, so one mapping serves every dialect. Ids are stored as integers and come back as
 * zero-padded wire ids; deal id lists are stored as comma-separated integers. Readers accept an
 * integer column as a number or as a decimal string (whatever the driver hands back), and treat
 * NULL and a missing value alike.
 */
import type { Fill, LedgerEntry } from '../../engine/engine.ts';
import type { Account, ConditionOverrides, Deal, Instrument, Order, Quote } from '../../engine/model.ts';
import { ACCOUNT_ID_WIDTH, DEAL_ID_WIDTH, ORDER_ID_WIDTH, formatId } from '../../engine/ids.ts';

export type Row = Record<string, unknown>;

const isNull = (value: unknown): value is null | undefined => value === null || value === undefined;

const nullable = (value: unknown): number | null => (isNull(value) ? null : Number(value));

const keyed = (columns: readonly string[], values: readonly unknown[]): Row => {
  const row: Row = {};
  columns.forEach((column, index) => {
    row[column] = values[index];
  });
  return row;
};

const dealIds = (value: unknown): string[] => {
  const text = String(value);
  return text === '' ? [] : text.split(',').map((id) => formatId(Number(id), DEAL_ID_WIDTH));
};

/**
 * The columns a change set writes, per table, in the order of `…Values`: one record's values as
 * an array, for positional binding (SQLite); `…Row` keys the same values by column (PostgreSQL).
 */
export const ORDER_COLUMNS = [
  'id',
  'account_id',
  'ticker',
  'side',
  'type',
  'volume',
  'price',
  'filled_price',
  'expiration',
  'stop_loss',
  'take_profit',
  'status',
  'comment',
  'create_time',
  'last_modified',
  'deals',
  'target_deal_id',
] as const;

/** The columns an upsert overwrites: all but the key and those kept as first written. */
export function upsertedColumns(columns: readonly string[], key: string, keep: readonly string[]): string[] {
  return columns.filter((column) => column !== key && !keep.includes(column));
}

/** The columns an order or deal keeps as first written when it is written again. */
export const ORDER_KEEP: readonly string[] = [
  'account_id',
  'ticker',
  'side',
  'type',
  'create_time',
  'target_deal_id',
];

export function orderValues(order: Order): unknown[] {
  return [
    Number(order.id),
    Number(order.accountId),
    order.ticker,
    order.side,
    order.type,
    order.volume,
    order.price,
    order.filledPrice,
    order.expiration,
    order.stopLoss,
    order.takeProfit,
    order.status,
    order.comment,
    order.createTime,
    order.lastModified,
    order.deals.map(Number).join(','),
    order.targetDealId === null ? null : Number(order.targetDealId),
  ];
}

export const orderRow = (order: Order): Row => keyed(ORDER_COLUMNS, orderValues(order));

export function orderFromRow(row: Row): Order {
  return {
    id: formatId(Number(row.id), ORDER_ID_WIDTH),
    accountId: formatId(Number(row.account_id), ACCOUNT_ID_WIDTH),
    ticker: String(row.ticker),
    side: row.side as Order['side'],
    type: row.type as Order['type'],
    volume: Number(row.volume),
    price: nullable(row.price),
    filledPrice: nullable(row.filled_price),
    expiration: Number(row.expiration),
    stopLoss: nullable(row.stop_loss),
    takeProfit: nullable(row.take_profit),
    status: row.status as Order['status'],
    comment: String(row.comment),
    createTime: Number(row.create_time),
    lastModified: Number(row.last_modified),
    deals: dealIds(row.deals),
    targetDealId: isNull(row.target_deal_id) ? null : formatId(Number(row.target_deal_id), DEAL_ID_WIDTH),
  };
}

export const DEAL_COLUMNS = [
  'id',
  'account_id',
  'ticker',
  'side',
  'volume',
  'open_price',
  'open_time',
  'stop_loss',
  'take_profit',
  'status',
  'close_price',
  'close_time',
  'profit',
  'last_modified',
] as const;

export const DEAL_KEEP: readonly string[] = ['account_id', 'ticker', 'side', 'open_time'];

export function dealValues(deal: Deal): unknown[] {
  return [
    Number(deal.id),
    Number(deal.accountId),
    deal.ticker,
    deal.side,
    deal.volume,
    deal.openPrice,
    deal.openTime,
    deal.stopLoss,
    deal.takeProfit,
    deal.status,
    deal.closePrice,
    deal.closeTime,
    deal.profit,
    deal.lastModified,
  ];
}

export const dealRow = (deal: Deal): Row => keyed(DEAL_COLUMNS, dealValues(deal));

export function dealFromRow(row: Row): Deal {
  return {
    id: formatId(Number(row.id), DEAL_ID_WIDTH),
    accountId: formatId(Number(row.account_id), ACCOUNT_ID_WIDTH),
    ticker: String(row.ticker),
    side: row.side as Deal['side'],
    volume: Number(row.volume),
    openPrice: Number(row.open_price),
    openTime: Number(row.open_time),
    stopLoss: nullable(row.stop_loss),
    takeProfit: nullable(row.take_profit),
    status: row.status as Deal['status'],
    closePrice: nullable(row.close_price),
    closeTime: nullable(row.close_time),
    profit: Number(row.profit),
    lastModified: Number(row.last_modified),
  };
}

export function accountFromRow(row: Row): Account {
  return {
    id: formatId(Number(row.id), ACCOUNT_ID_WIDTH),
    userId: String(row.user_id),
    name: String(row.name),
    type: row.type as Account['type'],
    system: row.system as Account['system'],
    currency: String(row.currency),
    status: row.status as Account['status'],
    balance: Number(row.balance),
  };
}

export const LEDGER_COLUMNS = [
  'account_id',
  'type',
  'amount',
  'balance_after',
  'comment',
  'time',
  'order_id',
  'deal_id',
] as const;

export function ledgerValues(entry: LedgerEntry): unknown[] {
  return [
    Number(entry.accountId),
    entry.type,
    entry.amount,
    entry.balanceAfter,
    entry.comment,
    entry.time,
    entry.orderId === null ? null : Number(entry.orderId),
    entry.dealId === null ? null : Number(entry.dealId),
  ];
}

export const ledgerRow = (entry: LedgerEntry): Row => keyed(LEDGER_COLUMNS, ledgerValues(entry));

export function ledgerFromRow(row: Row): LedgerEntry {
  return {
    accountId: formatId(Number(row.account_id), ACCOUNT_ID_WIDTH),
    type: row.type as LedgerEntry['type'],
    amount: Number(row.amount),
    balanceAfter: Number(row.balance_after),
    comment: String(row.comment),
    time: Number(row.time),
    orderId: row.order_id == null ? null : formatId(Number(row.order_id), ORDER_ID_WIDTH),
    dealId: row.deal_id == null ? null : formatId(Number(row.deal_id), DEAL_ID_WIDTH),
  };
}

export const FILL_COLUMNS = [
  'order_id',
  'account_id',
  'ticker',
  'side',
  'order_type',
  'volume',
  'price',
  'time',
  'quote_time',
  'bid',
  'ask',
  'rule',
  'deal_ids',
] as const;

export function fillValues(fill: Fill): unknown[] {
  return [
    Number(fill.orderId),
    Number(fill.accountId),
    fill.ticker,
    fill.side,
    fill.orderType,
    fill.volume,
    fill.price,
    fill.time,
    fill.quoteTime,
    fill.bid,
    fill.ask,
    fill.rule,
    fill.dealIds.map(Number).join(','),
  ];
}

export const fillRow = (fill: Fill): Row => keyed(FILL_COLUMNS, fillValues(fill));

export function fillFromRow(row: Row): Fill {
  return {
    orderId: formatId(Number(row.order_id), ORDER_ID_WIDTH),
    accountId: formatId(Number(row.account_id), ACCOUNT_ID_WIDTH),
    ticker: String(row.ticker),
    side: row.side as Fill['side'],
    orderType: row.order_type as Fill['orderType'],
    volume: Number(row.volume),
    price: Number(row.price),
    time: Number(row.time),
    quoteTime: Number(row.quote_time),
    bid: Number(row.bid),
    ask: Number(row.ask),
    rule: String(row.rule),
    dealIds: dealIds(row.deal_ids),
  };
}

export const QUOTE_COLUMNS = ['ticker', 'bid', 'ask', 'time', 'last', 'last_time'] as const;

export function quoteValues(quote: Quote): unknown[] {
  return [quote.ticker, quote.bid, quote.ask, quote.time, quote.last ?? null, quote.lastTime ?? null];
}

export const quoteRow = (quote: Quote): Row => keyed(QUOTE_COLUMNS, quoteValues(quote));

export function quoteFromRow(row: Row): Quote {
  const quote: Quote = {
    ticker: String(row.ticker),
    bid: Number(row.bid),
    ask: Number(row.ask),
    time: Number(row.time),
  };
  if (!isNull(row.last)) quote.last = Number(row.last);
  if (!isNull(row.last_time)) quote.lastTime = Number(row.last_time);
  return quote;
}

export function instrumentRow(instrument: Instrument): Row {
  return {
    ticker: instrument.ticker,
    description: instrument.description,
    contract_size: instrument.contractSize,
    units: instrument.units,
    min_volume: instrument.minVolume,
    max_volume: instrument.maxVolume,
    volume_step: instrument.volumeStep,
    min_tick: instrument.minTick,
    leverage: instrument.leverage,
    trade_mode: instrument.tradeMode,
    quote_currency: instrument.quoteCurrency,
    calendar: instrument.calendar,
    volatility: instrument.volatility,
    spread_ticks: instrument.spreadTicks,
    reference_price: instrument.referencePrice,
    trigger_source: instrument.triggerSource,
  };
}

export function instrumentFromRow(row: Row): Instrument {
  return {
    ticker: String(row.ticker),
    description: String(row.description),
    contractSize: Number(row.contract_size),
    units: String(row.units),
    minVolume: Number(row.min_volume),
    maxVolume: Number(row.max_volume),
    volumeStep: Number(row.volume_step),
    minTick: Number(row.min_tick),
    leverage: Number(row.leverage),
    tradeMode: row.trade_mode as Instrument['tradeMode'],
    quoteCurrency: String(row.quote_currency),
    calendar: row.calendar as Instrument['calendar'],
    volatility: Number(row.volatility),
    spreadTicks: Number(row.spread_ticks),
    referencePrice: Number(row.reference_price),
    triggerSource: row.trigger_source as Instrument['triggerSource'],
  };
}

export function overridesRow(accountId: string, ticker: string, overrides: ConditionOverrides): Row {
  return {
    account_id: Number(accountId),
    ticker,
    min_volume: overrides.minVolume ?? null,
    max_volume: overrides.maxVolume ?? null,
    volume_step: overrides.volumeStep ?? null,
    min_tick: overrides.minTick ?? null,
    leverage: overrides.leverage ?? null,
    trade_mode: overrides.tradeMode ?? null,
  };
}

export function overridesFromRow(row: Row): ConditionOverrides {
  const overrides: ConditionOverrides = {};
  if (!isNull(row.min_volume)) overrides.minVolume = Number(row.min_volume);
  if (!isNull(row.max_volume)) overrides.maxVolume = Number(row.max_volume);
  if (!isNull(row.volume_step)) overrides.volumeStep = Number(row.volume_step);
  if (!isNull(row.min_tick)) overrides.minTick = Number(row.min_tick);
  if (!isNull(row.leverage)) overrides.leverage = Number(row.leverage);
  if (!isNull(row.trade_mode)) overrides.tradeMode = row.trade_mode as Instrument['tradeMode'];
  return overrides;
}
