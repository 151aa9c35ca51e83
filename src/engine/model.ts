/**
 * The trading domain's records: accounts, instruments, quotes, orders and deals.
 *
 * All prices are `Price` (1e-8), volumes and ratios `Quantity` (1e-6), money `Money` (cents),
 * times Unix seconds. Ids are zero-padded digit strings that increase with creation order.
 */
import type { Money, Price, Quantity } from './decimal.ts';

import {
  ACCOUNT_STATUSES,
  ACCOUNT_SYSTEMS,
  ACCOUNT_TYPES,
  CALENDARS,
  CLIENT_ORDER_TYPES,
  DEAL_STATUSES,
  ORDER_STATUSES,
  ORDER_TYPES,
  SIDES,
  TRADE_MODES,
  TRIGGER_SOURCES,
} from '../contract/enums.ts';

// The wire enumerations are the contract's (the SDK ships it without the engine).
export {
  ACCOUNT_STATUSES,
  ACCOUNT_SYSTEMS,
  ACCOUNT_TYPES,
  CALENDARS,
  CLIENT_ORDER_TYPES,
  DEAL_STATUSES,
  ORDER_STATUSES,
  ORDER_TYPES,
  SIDES,
  TRADE_MODES,
  TRIGGER_SOURCES,
};
export type Side = (typeof SIDES)[number];
export type ClientOrderType = (typeof CLIENT_ORDER_TYPES)[number];
export type OrderType = (typeof ORDER_TYPES)[number];
export type OrderStatus = (typeof ORDER_STATUSES)[number];
export type DealStatus = (typeof DEAL_STATUSES)[number];
export type AccountType = (typeof ACCOUNT_TYPES)[number];
export type AccountSystem = (typeof ACCOUNT_SYSTEMS)[number];
export type AccountStatus = (typeof ACCOUNT_STATUSES)[number];
export type TradeMode = (typeof TRADE_MODES)[number];
export type CalendarId = (typeof CALENDARS)[number];
export type TriggerSource = (typeof TRIGGER_SOURCES)[number];

export interface TradingConditions {
  minVolume: Quantity;
  maxVolume: Quantity;
  volumeStep: Quantity;
  minTick: Price;
  /** Margin ratio: 0.05 (scaled 50_000) means 5% of notional, i.e. 1:20. */
  leverage: Quantity;
  tradeMode: TradeMode;
}

export interface Instrument extends TradingConditions {
  ticker: string;
  description: string;
  contractSize: Quantity;
  units: string;
  /** ISO currency the price is quoted in; profit is converted from it to the account currency. */
  quoteCurrency: string;
  calendar: CalendarId;
  /**
   * What resting orders and SL/TP compare against (triggers/trigger-prices.ts): `last`, the last
   * trade price (stocks and ETFs; bid/ask when a quote has no fresh last), or `bid_ask`. Fills are
   * at bid/ask either way.
   */
  triggerSource: TriggerSource;
  /** Simulator parameters: annualised volatility and typical spread in ticks. */
  volatility: number;
  spreadTicks: number;
  /** Simulator starting price (used only when no quote was ever stored). */
  referencePrice: Price;
}

export type ConditionOverrides = Partial<TradingConditions>;

export interface Quote {
  ticker: string;
  bid: Price;
  ask: Price;
  /** Unix seconds of the bid/ask. */
  time: number;
  last?: Price;
  lastTime?: number;
}

export interface Account {
  id: string;
  userId: string;
  name: string;
  type: AccountType;
  system: AccountSystem;
  currency: string;
  status: AccountStatus;
  balance: Money;
}

export interface Order {
  id: string;
  accountId: string;
  ticker: string;
  side: Side;
  type: OrderType;
  volume: Quantity;
  /** Limit/stop price, or the SL/TP level of a system order; null for market orders. */
  price: Price | null;
  filledPrice: Price | null;
  /** 0 means good till cancel. */
  expiration: number;
  stopLoss: Price | null;
  takeProfit: Price | null;
  status: OrderStatus;
  comment: string;
  createTime: number;
  lastModified: number;
  /** Deals this order opened, changed or closed. */
  deals: string[];
  /** For system orders and deal closes: the deal they act on. */
  targetDealId: string | null;
}

export interface Deal {
  id: string;
  accountId: string;
  ticker: string;
  side: Side;
  volume: Quantity;
  openPrice: Price;
  openTime: number;
  stopLoss: Price | null;
  takeProfit: Price | null;
  status: DealStatus;
  closePrice: Price | null;
  closeTime: number | null;
  /** Realised profit in account currency, set when closed. */
  profit: Money;
  /** Last time anything about the deal changed (volume, SL/TP, close). */
  lastModified: number;
}

/** Everything the engine needs to know about one account to trade on it. */
export interface AccountBook {
  account: Account;
  /** Active (resting) orders, by id. */
  orders: Map<string, Order>;
  /** Open deals, by id. */
  deals: Map<string, Deal>;
  overrides: Map<string, ConditionOverrides>;
  /** Optimistic concurrency: bumped by every persisted change. */
  version: number;
  /** The id of the account's latest event (0 before the first); see change-set.ts. */
  lastEventId: number;
}

export function oppositeSide(side: Side): Side {
  return side === 'buy' ? 'sell' : 'buy';
}
