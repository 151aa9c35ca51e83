/**
 * The engine's state, shared by its stages (risk, execution, triggers, portfolio) and owned by the
 * `Engine` facade, which alone hands it out.
 *
 * Invariants:
 * - `triggers` holds an order's trigger exactly while the order is active with a limit or stop
 *   price, and a deal's SL and TP exactly while the deal is open and the level is set.
 * - `expiring` holds exactly the active orders with an expiration.
 * - `exposure` lists, per ticker, every account with an open deal whose value that ticker moves.
 * - `quotedSinceSweep` holds tickers whose exposed accounts are already stop-out candidates: a
 *   later quote on such a ticker adds no one new (accounts exposed since are candidates already,
 *   or, for a loaded book, clear the ticker's mark), so the exposure set is walked once per ticker
 *   per sweep, not on every tick.
 */
import { accountMetrics, type AccountMetrics, type InstrumentLookup } from './account-metrics.ts';
import { isMarketOpen } from './calendar/trading-calendar.ts';
import { Market } from './market.ts';
import type { AccountBook, Instrument } from './model.ts';
import type { IdSource } from './ports.ts';
import { TriggerIndex } from './trigger-index.ts';

export interface EngineOptions {
  ids: IdSource;
  marketHours: 'enforce' | 'ignore';
  /** Margin level (percent) below which deals are closed, worst first. */
  stopOutLevel: number;
  /** Margin level (percent) below which a margin call event is emitted. */
  marginCallLevel: number;
  /** A market order on a quote older than this many seconds is rejected; null disables the check. */
  maxQuoteAgeSeconds: number | null;
}

export interface EngineState {
  readonly options: EngineOptions;
  readonly market: Market;
  readonly triggers: TriggerIndex;
  readonly instruments: Map<string, Instrument>;
  readonly books: Map<string, AccountBook>;
  /** Accounts with open deals per ticker: the ones a quote on that ticker can stop out. */
  readonly exposure: Map<string, Set<string>>;
  readonly stopOutCandidates: Set<string>;
  readonly quotedSinceSweep: Set<string>;
  readonly inMarginCall: Set<string>;
  /** Active orders with an expiration, by order id. */
  readonly expiring: Map<string, { accountId: string; expiration: number }>;
  readonly instrumentLookup: InstrumentLookup;
}

export function createEngineState(options: EngineOptions): EngineState {
  const instruments = new Map<string, Instrument>();
  return {
    options,
    market: new Market(),
    triggers: new TriggerIndex(),
    instruments,
    books: new Map(),
    exposure: new Map(),
    stopOutCandidates: new Set(),
    quotedSinceSweep: new Set(),
    inMarginCall: new Set(),
    expiring: new Map(),
    instrumentLookup: (ticker) => instruments.get(ticker),
  };
}

export function requireInstrument(state: EngineState, ticker: string): Instrument {
  const instrument = state.instruments.get(ticker);
  if (!instrument) throw new Error(`instrument ${ticker} is not loaded`);
  return instrument;
}

export function marketIsOpen(state: EngineState, instrument: Instrument, now: number): boolean {
  return state.options.marketHours === 'ignore' || isMarketOpen(instrument.calendar, now);
}

/** The book's margin and floating profit at current quotes (no market value: margin checks). */
export function marginFigures(state: EngineState, book: AccountBook): AccountMetrics {
  return accountMetrics(book, book.deals.values(), state.instrumentLookup, state.market, 'margin');
}
