/**
 * Wire requests → domain input: the inbound half of the wire conversion (wire-format.ts is the
 * outbound one). Numbers enter fixed point here, through the exact parsers of parse-input.ts, so
 * a value off its grid or out of range is refused with a message naming the field. The schemas
 * have already checked shapes and types; what is checked here is what a schema cannot say.
 */
import type * as Api from '../../contract/public-api.ts';
import type * as Admin from '../../contract/admin-api.ts';
import { DEFAULT_PAGE_LIMIT, MAX_PAGE_LIMIT } from '../../contract/enums.ts';
import { invalid } from '../../application/errors.ts';
import { parsePrice, parseQuantity, parseTimestamp } from '../../application/parse-input.ts';
import type { ClockControl } from '../../application/clock-control.ts';
import type { ListQuery, TradingService } from '../../application/trading-service.ts';
import type { ConditionOverrides, Instrument, Quote } from '../../engine/model.ts';
import { price } from './wire-format.ts';

export type PlaceOrderInput = Parameters<TradingService['placeOrder']>[2];
export type OrderChangesInput = Parameters<TradingService['modifyOrder']>[3];
export type DealChangesInput = Parameters<TradingService['modifyDeal']>[3];
export type ClockTargetInput = Parameters<ClockControl['set']>[0];

/** Recent quotes: how many one request gets unless it asks, and the most it may ask for. */
const DEFAULT_TICKS = 100;
const MAX_TICKS = 1000;

export function placeOrderInput(body: Api.PlaceOrderBody): PlaceOrderInput {
  return {
    ticker: body.ticker,
    side: body.side,
    type: body.type,
    volume: parseQuantity('volume', body.volume),
    // A market order fills at the quote, so a price sent with one (the RTrader client sends a
    // price on every order) means nothing and is ignored; the schema still refuses a non-number.
    price: body.price === undefined || body.type === 'market' ? null : parsePrice('price', body.price),
    expiration: body.expiration === undefined ? 0 : parseTimestamp('expiration', body.expiration),
    stopLoss: optionalLevel('stop_loss', body.stop_loss),
    takeProfit: optionalLevel('take_profit', body.take_profit),
  };
}

export function orderChangesInput(body: Api.ModifyOrderBody): OrderChangesInput {
  return {
    ...(body.volume === undefined ? {} : { volume: parseQuantity('volume', body.volume) }),
    ...(body.price === undefined ? {} : { price: parsePrice('price', body.price) }),
    ...(body.expiration === undefined ? {} : { expiration: parseTimestamp('expiration', body.expiration) }),
    ...levelChanges(body),
  };
}

export function dealChangesInput(body: Api.ModifyDealBody): DealChangesInput {
  return levelChanges(body);
}

/** SL/TP changes: 0 clears a level, so it is allowed here. */
function levelChanges(body: { stop_loss?: number; take_profit?: number }): {
  stopLoss?: number;
  takeProfit?: number;
} {
  return {
    ...(body.stop_loss === undefined ? {} : { stopLoss: parsePrice('stop_loss', body.stop_loss, true) }),
    ...(body.take_profit === undefined
      ? {}
      : { takeProfit: parsePrice('take_profit', body.take_profit, true) }),
  };
}

/** SL/TP on a new order: absent or 0 means none. */
function optionalLevel(field: string, value: number | undefined): number | null {
  if (value === undefined) return null;
  const level = parsePrice(field, value, true);
  return level === 0 ? null : level;
}

/** A history search of orders or deals; paging bounds are the service's. */
export function listQueryInput(query: Api.OrdersQuery | Api.DealsQuery): ListQuery {
  const result: ListQuery = {};
  if (query.status !== undefined) result.statuses = [query.status];
  if (query.history_from !== undefined) result.from = parseTimestamp('history_from', query.history_from);
  if (query.history_to !== undefined) result.to = parseTimestamp('history_to', query.history_to);
  if (query.skip !== undefined) result.skip = query.skip;
  if (query.limit !== undefined) result.limit = query.limit;
  return result;
}

/** An admin list page: skip 0 and the default limit unless given, the limit capped. */
export function pageInput(query: { skip?: number; limit?: number }): { skip: number; limit: number } {
  return { skip: query.skip ?? 0, limit: Math.min(query.limit ?? DEFAULT_PAGE_LIMIT, MAX_PAGE_LIMIT) };
}

export function ticksLimitInput(query: { limit?: number }): number {
  return Math.min(query.limit ?? DEFAULT_TICKS, MAX_TICKS);
}

/** An operator's quote, stamped `now`; every price must be on the instrument's tick grid. */
export function quoteInput(body: Admin.PutQuoteBody, instrument: Instrument, now: number): Quote {
  const quote: Quote = {
    ticker: instrument.ticker,
    bid: onGrid('bid', parsePrice('bid', body.bid), instrument),
    ask: onGrid('ask', parsePrice('ask', body.ask), instrument),
    time: now,
  };
  if (quote.bid > quote.ask) throw invalid('bid must not be above ask');
  if (body.last !== undefined) {
    quote.last = onGrid('last', parsePrice('last', body.last), instrument);
    quote.lastTime = quote.time;
  }
  return quote;
}

function onGrid(field: string, value: number, instrument: Instrument): number {
  if (value % instrument.minTick !== 0) {
    throw invalid(
      `${field} ${price(value)} is not on the min_tick grid ${price(instrument.minTick)} of ${instrument.ticker}`,
    );
  }
  return value;
}

export function overridesInput(body: Admin.PutOverridesBody): ConditionOverrides {
  const overrides: ConditionOverrides = {};
  if (body.min_volume !== undefined) overrides.minVolume = parseQuantity('min_volume', body.min_volume);
  if (body.max_volume !== undefined) overrides.maxVolume = parseQuantity('max_volume', body.max_volume);
  if (body.volume_step !== undefined) overrides.volumeStep = parseQuantity('volume_step', body.volume_step);
  if (body.min_tick !== undefined) overrides.minTick = parsePrice('min_tick', body.min_tick);
  if (body.leverage !== undefined) overrides.leverage = parseQuantity('leverage', body.leverage);
  if (body.trade_mode !== undefined) overrides.tradeMode = body.trade_mode;
  return overrides;
}

const NEW_INSTRUMENT_NEEDS = [
  'contract_size',
  'min_volume',
  'max_volume',
  'volume_step',
  'min_tick',
  'leverage',
  'quote_currency',
] as const;

/** Merges an upsert body into the existing instrument, or builds a new one (which needs every condition). */
export function instrumentInput(
  ticker: string,
  body: Admin.PutInstrumentBody,
  existing: Instrument | undefined,
): Instrument {
  if (!existing) {
    const missing = NEW_INSTRUMENT_NEEDS.filter((field) => body[field] === undefined);
    if (missing.length > 0) throw invalid(`a new instrument needs ${missing.join(', ')}`);
  }
  const base: Instrument = existing ?? {
    ticker,
    description: ticker,
    contractSize: 0,
    units: 'Share(s)',
    minVolume: 0,
    maxVolume: 0,
    volumeStep: 0,
    minTick: 0,
    leverage: 0,
    tradeMode: 'full',
    quoteCurrency: 'USD',
    calendar: 'always',
    volatility: 0.2,
    spreadTicks: 2,
    referencePrice: 0,
    // The broker's default: stocks trigger on the last, everything else on bid/ask.
    triggerSource: (body.calendar ?? 'always') === 'us_equities' ? 'last' : 'bid_ask',
  };
  const next: Instrument = { ...base, ...overridesInput(body) };
  if (body.description !== undefined) next.description = body.description;
  if (body.units !== undefined) next.units = body.units;
  if (body.contract_size !== undefined)
    next.contractSize = parseQuantity('contract_size', body.contract_size);
  if (body.quote_currency !== undefined) next.quoteCurrency = body.quote_currency;
  if (body.calendar !== undefined) next.calendar = body.calendar;
  if (body.volatility !== undefined) next.volatility = body.volatility;
  if (body.spread_ticks !== undefined) next.spreadTicks = body.spread_ticks;
  if (body.trigger_source !== undefined) next.triggerSource = body.trigger_source;
  if (body.reference_price !== undefined)
    next.referencePrice = parsePrice('reference_price', body.reference_price);
  if (next.minVolume > next.maxVolume) throw invalid('min_volume must not exceed max_volume');
  if (next.minVolume % next.volumeStep !== 0) throw invalid('min_volume must be a multiple of volume_step');
  if (next.leverage > 1_000_000) throw invalid('leverage is a margin ratio and must be at most 1');
  if (next.referencePrice === 0) next.referencePrice = next.minTick * 10_000;
  if (next.referencePrice % next.minTick !== 0) throw invalid('reference_price must be on the min_tick grid');
  return next;
}

/** A clock setting; speed only for a running clock, and a real clock takes no time. */
export function clockTargetInput(body: Admin.PutClockBody): ClockTargetInput {
  const { mode, now, speed } = body;
  if (mode !== 'running' && speed !== undefined) throw invalid('speed is only for mode running');
  if (mode === 'real' && now !== undefined)
    throw invalid('now is not allowed for mode real: real time is now');
  const nowMs = now === undefined ? {} : { nowMs: now * 1000 };
  if (mode === 'real') return { mode };
  if (mode === 'manual') return { mode, ...nowMs };
  return { mode, ...nowMs, ...(speed === undefined ? {} : { speed }) };
}
