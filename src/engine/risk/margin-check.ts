/**
 * The margin check: a fill is rejected when it would leave free margin negative while increasing
 * margin. A pending order is judged as it would fill (at its price, on a market shifted there),
 * not against today's quote, which would credit a buy limit below the market with a profit it
 * can never have.
 *
 * Known limitation: margin uses no hedged-position offset; conversion uses the mid price.
 */
import { accountMetrics, type Position } from '../account-metrics.ts';
import type { Money, Price, Quantity } from '../decimal.ts';
import { marginFigures, type EngineState } from '../engine-state.ts';
import { Market } from '../market.ts';
import { showMoney } from '../messages.ts';
import type { AccountBook, Deal, Instrument, Quote, Side } from '../model.ts';
import { fillChange } from '../portfolio/positions.ts';
import { reject, type Rejection } from '../rejection.ts';
import { conversionRateRejection } from './order-checks.ts';

/** Rejects when the fill would leave free margin negative while increasing margin. */
export function marginRejection(
  state: EngineState,
  book: AccountBook,
  instrument: Instrument,
  side: Side,
  volume: Quantity,
  price: Price,
  atFill: Market = state.market,
): Rejection | undefined {
  const rateRejection = conversionRateRejection(state, book, instrument);
  if (rateRejection) return rateRejection;
  if (!state.market.get(instrument.ticker)) return undefined;
  const lookup = state.instrumentLookup;
  const before = marginFigures(state, book);
  const change = fillChange(book, instrument.ticker, side, volume, price);
  let marginAfter: Money;
  let equityAfter: Money;
  if (atFill === state.market) {
    // Only the positions the fill changes are valued again. Every figure is a sum of per-position
    // integers valued on the same market, so before − replaced + added equals valuing every
    // position after the fill (and saves a full revaluation per fill).
    const replaced = accountMetrics(book, change.replaced, lookup, state.market, 'margin');
    const added = accountMetrics(book, change.added, lookup, state.market, 'margin');
    marginAfter = before.margin - replaced.margin + added.margin;
    equityAfter = before.equity - replaced.unrealizedProfit + added.unrealizedProfit;
  } else {
    // On the market at the fill every deal on the ticker moves too: value the whole book there.
    const replaced = new Set<Deal>(change.replaced);
    const positions: Position[] = [...change.added];
    for (const deal of book.deals.values()) if (!replaced.has(deal)) positions.push(deal);
    const after = accountMetrics(book, positions, lookup, atFill, 'margin');
    marginAfter = after.margin;
    equityAfter = after.equity;
  }
  // A closed part's profit moves from floating to the balance: equity keeps it. It settles at the
  // closing price of that market, so valuing it there gives exactly what settlement books.
  equityAfter += accountMetrics(book, change.settled, lookup, atFill, 'margin').unrealizedProfit;
  if (marginAfter > before.margin && equityAfter - marginAfter < 0) {
    return reject(
      'insufficient_margin',
      `insufficient margin: requires ${showMoney(marginAfter - before.margin)} ${book.account.currency}, free margin ${showMoney(before.freeMargin)} ${book.account.currency}`,
    );
  }
  return undefined;
}

/**
 * The market with `quote` shifted so that the side an order fills on (ask for a buy) is `price`.
 * A buy limit far below the market would shift the bid to zero or below: it stays at the smallest
 * price (1e-8), as a real bid would, so a pair that is also a conversion rate never divides by 0.
 */
export function marketAtFill(state: EngineState, quote: Quote, side: Side, price: Price): Market {
  const shift = price - (side === 'buy' ? quote.ask : quote.bid);
  const market = new Market();
  for (const other of state.market.all()) market.set(other);
  market.set({ ...quote, bid: Math.max(1, quote.bid + shift), ask: quote.ask + shift });
  return market;
}
