/**
 * Valuation of positions and accounts: floating profit, margin, market value.
 *
 * Every figure is rounded to cents per position first, then summed, so that
 * equity = balance + Σ displayed deal profit holds exactly.
 * An open position is valued at its closing price: bid for a long, ask for a short.
 */
import type { Money, Price, Quantity } from './decimal.ts';
import { effectiveConditions } from './instrument.ts';
import type { Market } from './market.ts';
import type { AccountBook, Instrument, Side } from './model.ts';
import { marginToMoney, notionalToMoney } from './money.ts';

export interface Position {
  ticker: string;
  side: Side;
  volume: Quantity;
  openPrice: Price;
}

export interface PositionValue {
  closePrice: Price;
  profit: Money;
  margin: Money;
  marketValue: Money;
}

export interface AccountMetrics {
  balance: Money;
  unrealizedProfit: Money;
  equity: Money;
  margin: Money;
  freeMargin: Money;
  marketValue: Money;
  /** Positions that could not be valued (no quote or conversion rate); counted at zero. */
  unvalued: number;
}

export type InstrumentLookup = (ticker: string) => Instrument | undefined;

/**
 * Which figures to compute: everything, or only what margin checks need (profit and margin; the
 * market value is left at zero, which saves a third of the exact arithmetic).
 */
export type Figures = 'all' | 'margin';

export function closingPrice(side: Side, bid: Price, ask: Price): Price {
  return side === 'buy' ? bid : ask;
}

export function valuePosition(
  position: Position,
  book: AccountBook,
  instruments: InstrumentLookup,
  market: Market,
  figures: Figures = 'all',
): PositionValue | undefined {
  const instrument = instruments(position.ticker);
  const quote = market.get(position.ticker);
  if (!instrument || !quote) return undefined;
  const rate = market.rate(instrument.quoteCurrency, book.account.currency);
  if (!rate) return undefined;
  const closePrice = closingPrice(position.side, quote.bid, quote.ask);
  const move = position.side === 'buy' ? closePrice - position.openPrice : position.openPrice - closePrice;
  const leverage = effectiveConditions(instrument, book.overrides.get(position.ticker)).leverage;
  return {
    closePrice,
    profit: notionalToMoney(move, position.volume, instrument.contractSize, rate),
    margin: marginToMoney(closePrice, position.volume, instrument.contractSize, leverage, rate),
    marketValue:
      figures === 'all' ? notionalToMoney(closePrice, position.volume, instrument.contractSize, rate) : 0,
  };
}

export function accountMetrics(
  book: AccountBook,
  positions: Iterable<Position>,
  instruments: InstrumentLookup,
  market: Market,
  figures: Figures = 'all',
): AccountMetrics {
  let unrealizedProfit = 0;
  let margin = 0;
  let marketValue = 0;
  let unvalued = 0;
  for (const position of positions) {
    const value = valuePosition(position, book, instruments, market, figures);
    if (!value) {
      unvalued += 1;
      continue;
    }
    unrealizedProfit += value.profit;
    margin += value.margin;
    marketValue += value.marketValue;
  }
  const balance = book.account.balance;
  const equity = balance + unrealizedProfit;
  return {
    balance,
    unrealizedProfit,
    equity,
    margin,
    freeMargin: equity - margin,
    marketValue,
    unvalued,
  };
}
