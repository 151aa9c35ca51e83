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

const dealIds = (value: unknown): string[] => {
  const text = String(value);
  return text === '' ? [] : text.split(',').map((id) => formatId(Number(id), DEAL_ID_WIDTH));
};

export function orderRow(order: Order): Row {
  return {
    id: Number(order.id),
    account_id: Number(order.accountId),
    ticker: order.ticker,
    side: order.side,
    type: order.type,
    volume: order.volume,
    price: order.price,
    filled_price: order.filledPrice,
    expiration: order.expiration,
    stop_loss: order.stopLoss,
    take_profit: order.takeProfit,
    status: order.status,
    comment: order.comment,
    create_time: order.createTime,
    last_modified: order.lastModified,
    deals: order.deals.map(Number).join(','),
    target_deal_id: order.targetDealId === null ? null : Number(order.targetDealId),
  };
}

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

export function dealRow(deal: Deal): Row {
  return {
    id: Number(deal.id),
    account_id: Number(deal.accountId),
    ticker: deal.ticker,
    side: deal.side,
    volume: deal.volume,
    open_price: deal.openPrice,
    open_time: deal.openTime,
    stop_loss: deal.stopLoss,
    take_profit: deal.takeProfit,
    status: deal.status,
    close_price: deal.closePrice,
    close_time: deal.closeTime,
    profit: deal.profit,
    last_modified: deal.lastModified,
  };
}

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

export function ledgerRow(entry: LedgerEntry): Row {
  return {
    account_id: Number(entry.accountId),
    amount: entry.amount,
    balance_after: entry.balanceAfter,
    comment: entry.comment,
    time: entry.time,
  };
}

export function ledgerFromRow(row: Row): LedgerEntry {
  return {
    accountId: formatId(Number(row.account_id), ACCOUNT_ID_WIDTH),
    amount: Number(row.amount),
    balanceAfter: Number(row.balance_after),
    comment: String(row.comment),
    time: Number(row.time),
  };
}

export function fillRow(fill: Fill): Row {
  return {
    order_id: Number(fill.orderId),
    account_id: Number(fill.accountId),
    ticker: fill.ticker,
    side: fill.side,
    order_type: fill.orderType,
    volume: fill.volume,
    price: fill.price,
    time: fill.time,
    quote_time: fill.quoteTime,
    bid: fill.bid,
    ask: fill.ask,
    rule: fill.rule,
    deal_ids: fill.dealIds.map(Number).join(','),
  };
}

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

export function quoteRow(quote: Quote): Row {
  return {
    ticker: quote.ticker,
    bid: quote.bid,
    ask: quote.ask,
    time: quote.time,
    last: quote.last ?? null,
    last_time: quote.lastTime ?? null,
  };
}

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
