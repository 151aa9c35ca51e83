/**
 * The instrument catalogue a fresh server starts with: US stocks and ETFs, FX majors and crosses, and
 * spot gold and silver, with trading conditions close to what a retail broker offers.
 *
 * Invariants (checked by default-instruments.test.ts):
 * - Tickers are unique; stocks carry the exchange suffix (`.nq` Nasdaq, `.ny` NYSE).
 * - Every reference price sits on its instrument's min tick grid, and every volume bound is a multiple
 *   of the volume step.
 * - Values are written as decimals for readability and converted exactly with `toScaled`, never through
 *   float arithmetic, so a typo that does not fit the scale fails at import rather than rounding silently.
 */
import {
  PRICE_DECIMALS,
  QUANTITY_DECIMALS,
  toScaled,
  type Price,
  type Quantity,
} from '../../engine/decimal.ts';
import type { Instrument } from '../../engine/model.ts';

function price(value: number): Price {
  const scaled = toScaled(value, PRICE_DECIMALS);
  if (scaled === undefined) throw new Error(`default catalogue: ${value} is not a valid price`);
  return scaled;
}

function quantity(value: number): Quantity {
  const scaled = toScaled(value, QUANTITY_DECIMALS);
  if (scaled === undefined) throw new Error(`default catalogue: ${value} is not a valid quantity`);
  return scaled;
}

/**
 * A US stock or ETF. Mega caps and index ETFs trade at a one-cent spread; the rest at two cents, which the
 * simulator jitters between one and three.
 */
function stock(
  ticker: string,
  description: string,
  referencePrice: number,
  volatility: number,
  spreadTicks = 2,
): Instrument {
  return Object.freeze({
    ticker,
    description,
    contractSize: quantity(1),
    units: 'Share(s)',
    minVolume: quantity(1),
    maxVolume: quantity(100_000),
    volumeStep: quantity(1),
    minTick: price(0.01),
    leverage: quantity(0.05),
    tradeMode: 'full',
    quoteCurrency: 'USD',
    calendar: 'us_equities',
    // The broker's stock and ETF orders trigger on the last trade price.
    triggerSource: 'last',
    volatility,
    spreadTicks,
    referencePrice: price(referencePrice),
  });
}

/**
 * An FX pair, quoted to a tenth of a pip (0.00001, or 0.001 when the quote currency is the yen).
 * `spreadTicks` is in those tenths: 10 ticks is one pip.
 */
function fx(pair: string, referencePrice: number, volatility: number, spreadTicks: number): Instrument {
  const quoteCurrency = pair.slice(3);
  return Object.freeze({
    ticker: pair,
    description: `${pair.slice(0, 3)}/${quoteCurrency}`,
    contractSize: quantity(100_000),
    units: 'Lot(s)',
    minVolume: quantity(0.01),
    maxVolume: quantity(100),
    volumeStep: quantity(0.01),
    minTick: price(quoteCurrency === 'JPY' ? 0.001 : 0.00001),
    leverage: quantity(0.01),
    tradeMode: 'full',
    quoteCurrency,
    calendar: 'fx',
    triggerSource: 'bid_ask',
    volatility,
    spreadTicks,
    referencePrice: price(referencePrice),
  });
}

function metal(
  ticker: string,
  description: string,
  contractSize: number,
  minTick: number,
  referencePrice: number,
  volatility: number,
  spreadTicks: number,
): Instrument {
  return Object.freeze({
    ticker,
    description,
    contractSize: quantity(contractSize),
    units: 'Troy ounce(s)',
    minVolume: quantity(0.01),
    maxVolume: quantity(50),
    volumeStep: quantity(0.01),
    minTick: price(minTick),
    leverage: quantity(0.05),
    tradeMode: 'full',
    quoteCurrency: 'USD',
    calendar: 'fx',
    triggerSource: 'bid_ask',
    volatility,
    spreadTicks,
    referencePrice: price(referencePrice),
  });
}

// Reference prices are late-2025 levels; they only seed the simulator when no quote was ever stored.
export const DEFAULT_INSTRUMENTS: readonly Instrument[] = Object.freeze([
  // Nasdaq
  stock('AAPL.nq', 'Apple Inc.', 271.4, 0.25, 1),
  stock('MSFT.nq', 'Microsoft Corporation', 478.5, 0.24, 1),
  stock('NVDA.nq', 'NVIDIA Corporation', 182.55, 0.48, 1),
  stock('TSLA.nq', 'Tesla, Inc.', 417.8, 0.58),
  stock('AMZN.nq', 'Amazon.com, Inc.', 226.3, 0.32, 1),
  stock('GOOGL.nq', 'Alphabet Inc. Class A', 318.6, 0.3, 1),
  stock('META.nq', 'Meta Platforms, Inc.', 594.2, 0.36),
  stock('NFLX.nq', 'Netflix, Inc.', 104.7, 0.35),
  stock('AMD.nq', 'Advanced Micro Devices, Inc.', 215.1, 0.52),
  stock('INTC.nq', 'Intel Corporation', 35.8, 0.5, 1),
  stock('ADBE.nq', 'Adobe Inc.', 322.4, 0.32),
  stock('CSCO.nq', 'Cisco Systems, Inc.', 77.2, 0.22),
  stock('PEP.nq', 'PepsiCo, Inc.', 148.6, 0.18),
  stock('COST.nq', 'Costco Wholesale Corporation', 905.3, 0.2),
  stock('QQQ.nq', 'Invesco QQQ Trust', 605.7, 0.2, 1),
  // NYSE
  stock('KO.ny', 'The Coca-Cola Company', 71.9, 0.15),
  stock('JPM.ny', 'JPMorgan Chase & Co.', 305.4, 0.24),
  stock('SPY.ny', 'SPDR S&P 500 ETF Trust', 668.7, 0.16, 1),
  stock('BAC.ny', 'Bank of America Corporation', 52.3, 0.28, 1),
  stock('WMT.ny', 'Walmart Inc.', 106.2, 0.2),
  stock('DIS.ny', 'The Walt Disney Company', 107.4, 0.24),
  stock('XOM.ny', 'Exxon Mobil Corporation', 117.9, 0.22),
  stock('V.ny', 'Visa Inc.', 331.5, 0.2),
  stock('MA.ny', 'Mastercard Incorporated', 548.2, 0.21),
  stock('JNJ.ny', 'Johnson & Johnson', 204.8, 0.16),
  stock('PG.ny', 'The Procter & Gamble Company', 149.3, 0.15),
  stock('IBM.ny', 'International Business Machines Corporation', 297.6, 0.28),
  stock('GS.ny', 'The Goldman Sachs Group, Inc.', 798.4, 0.3),
  stock('NKE.ny', 'NIKE, Inc.', 63.7, 0.35),
  // FX majors
  fx('EURUSD', 1.1584, 0.07, 6),
  fx('GBPUSD', 1.3126, 0.08, 8),
  fx('USDJPY', 156.42, 0.1, 7),
  fx('USDCHF', 0.8051, 0.08, 9),
  fx('AUDUSD', 0.6483, 0.09, 8),
  fx('USDCAD', 1.4102, 0.06, 9),
  fx('NZDUSD', 0.5624, 0.1, 10),
  // FX crosses
  fx('EURGBP', 0.8825, 0.06, 9),
  fx('EURJPY', 181.19, 0.09, 10),
  fx('GBPJPY', 205.31, 0.11, 12),
  fx('EURCHF', 0.9326, 0.05, 11),
  fx('AUDJPY', 101.41, 0.12, 11),
  fx('EURAUD', 1.7868, 0.08, 12),
  fx('GBPCHF', 1.0568, 0.09, 12),
  // Metals
  metal('XAUUSD', 'Gold vs US Dollar', 100, 0.01, 4065.4, 0.16, 25),
  metal('XAGUSD', 'Silver vs US Dollar', 5000, 0.001, 50.85, 0.28, 20),
]);

const BY_TICKER: ReadonlyMap<string, Instrument> = new Map(
  DEFAULT_INSTRUMENTS.map((instrument) => [instrument.ticker, instrument]),
);

export function findDefaultInstrument(ticker: string): Instrument | undefined {
  return BY_TICKER.get(ticker);
}
