/**
 * Domain records → wire shapes of the public and admin APIs (wire-input.ts is the inbound half).
 * Numbers leave fixed point here and only here, through exact decimal text, so the wire never
 * shows float artefacts like 100.30000000000001.
 */
import type * as Wire from '../../contract/public-api.ts';
import type * as ExtWire from '../../contract/ext-api.ts';
import type { Candle } from '../../application/market-data/candles.ts';
import type {
  AdminAccount,
  AdminQuote,
  Fill as WireFill,
  LedgerEntry as WireLedgerEntry,
} from '../../contract/admin-api.ts';
import type { AccountMetrics } from '../../engine/account-metrics.ts';
import { MONEY_DECIMALS, PRICE_DECIMALS, QUANTITY_DECIMALS, fromScaled } from '../../engine/decimal.ts';
import type { Fill, LedgerEntry } from '../../engine/engine.ts';
import type { Account, Instrument, Order, Quote, TradingConditions } from '../../engine/model.ts';
import type { DealView } from '../../application/trading-service.ts';

export const price = (value: number): number => fromScaled(value, PRICE_DECIMALS);
export const quantity = (value: number): number => fromScaled(value, QUANTITY_DECIMALS);
export const money = (value: number): number => fromScaled(value, MONEY_DECIMALS);

export function accountToWire(account: Account): Wire.Account {
  return {
    id: account.id,
    name: account.name,
    type: account.type,
    system: account.system,
    currency: account.currency,
    status: account.status,
  };
}

export function adminAccountToWire(account: Account): AdminAccount {
  return { ...accountToWire(account), user_id: account.userId, balance: money(account.balance) };
}

export function accountStateToWire(metrics: AccountMetrics): Wire.AccountState {
  return {
    cash: {
      my_portfolio: money(metrics.equity),
      investments: money(metrics.marketValue),
      available_to_invest: money(metrics.freeMargin),
    },
    margin: {
      balance: money(metrics.balance),
      unrealized_pl: money(metrics.unrealizedProfit),
      equity: money(metrics.equity),
      margin: money(metrics.margin),
      free_margin: money(metrics.freeMargin),
    },
  };
}

export function instrumentShortToWire(instrument: Instrument): Wire.InstrumentShort {
  return {
    ticker: instrument.ticker,
    description: instrument.description,
    contract_size: quantity(instrument.contractSize),
    units: instrument.units,
  };
}

export function conditionsToWire(conditions: TradingConditions): Wire.InstrumentConditions {
  return {
    min_volume: quantity(conditions.minVolume),
    max_volume: quantity(conditions.maxVolume),
    volume_step: quantity(conditions.volumeStep),
    min_tick: price(conditions.minTick),
    leverage: quantity(conditions.leverage),
    trade_mode: conditions.tradeMode,
  };
}

export function quoteToWire(quote: Quote): Wire.Quote {
  const wire: Wire.Quote = {
    ask_price: price(quote.ask),
    bid_price: price(quote.bid),
    ask_bid_price_time: quote.time,
  };
  if (quote.last !== undefined) wire.last_price = price(quote.last);
  if (quote.lastTime !== undefined) wire.last_price_time = quote.lastTime;
  return wire;
}

/** A candle as the charts extension shows it: prices as the quote shows them, `time` its start. */
export function candleToWire(candle: Candle): ExtWire.Candle {
  return {
    time: candle.time,
    open: price(candle.open),
    high: price(candle.high),
    low: price(candle.low),
    close: price(candle.close),
    volume: quantity(candle.volume),
  };
}

export function orderToWire(order: Order): Wire.Order {
  const wire: Wire.Order = {
    id: order.id,
    ticker: order.ticker,
    volume: quantity(order.volume),
    side: order.side,
    type: order.type,
    expiration: order.expiration,
    last_modified: order.lastModified,
    comment: order.comment,
    create_time: order.createTime,
    deals: order.deals,
    status: order.status,
  };
  if (order.filledPrice !== null) wire.filled_price = price(order.filledPrice);
  if (order.price !== null) wire.price = price(order.price);
  if (order.stopLoss !== null) wire.stop_loss = price(order.stopLoss);
  if (order.takeProfit !== null) wire.take_profit = price(order.takeProfit);
  return wire;
}

export function dealToWire({ deal, live }: DealView): Wire.Deal {
  const wire: Wire.Deal = {
    id: deal.id,
    ticker: deal.ticker,
    volume: quantity(deal.volume),
    side: deal.side,
    open_price: price(deal.openPrice),
    open_time: deal.openTime,
    profit: money(live ? live.profit : deal.profit),
    status: deal.status,
  };
  const closePrice = live ? live.closePrice : deal.closePrice;
  if (closePrice !== null) wire.close_price = price(closePrice);
  if (deal.closeTime !== null) wire.close_time = deal.closeTime;
  if (deal.stopLoss !== null) wire.stop_loss = price(deal.stopLoss);
  if (deal.takeProfit !== null) wire.take_profit = price(deal.takeProfit);
  return wire;
}

export function fillToWire(fill: Fill): WireFill {
  return {
    order_id: fill.orderId,
    ticker: fill.ticker,
    side: fill.side,
    order_type: fill.orderType,
    volume: quantity(fill.volume),
    price: price(fill.price),
    time: fill.time,
    quote: { time: fill.quoteTime, bid: price(fill.bid), ask: price(fill.ask) },
    rule: fill.rule,
    deals: fill.dealIds,
  };
}

export function ledgerToWire(entry: LedgerEntry): WireLedgerEntry {
  return {
    type: entry.type,
    amount: money(entry.amount),
    balance_after: money(entry.balanceAfter),
    comment: entry.comment,
    time: entry.time,
    order_id: entry.orderId,
    deal_id: entry.dealId,
  };
}

export function adminQuoteToWire(quote: Quote): AdminQuote {
  const wire: AdminQuote = {
    ticker: quote.ticker,
    bid: price(quote.bid),
    ask: price(quote.ask),
    time: quote.time,
  };
  if (quote.last !== undefined) wire.last = price(quote.last);
  return wire;
}
