/**
 * How a fill changes an account's positions. Netting keeps at most one open deal per account and
 * ticker: a fill adds to it (volume-weighted open price), reduces it (closing a part as its own
 * deal record), closes it, or closes and reverses it. Hedging opens a new deal for every fill.
 *
 * `fillChange` answers the same question without changing anything, for the margin check.
 */
import type { Position } from '../account-metrics.ts';
import type { Step } from '../change-set.ts';
import type { Price, Quantity } from '../decimal.ts';
import type { EngineState } from '../engine-state.ts';
import { closeDeal, settleDeal } from '../execution/settle-deal.ts';
import type { AccountBook, Deal, Instrument, Order, Side } from '../model.ts';
import { weightedPrice } from '../money.ts';
import { syncDealTriggers } from '../triggers/trigger-sync.ts';
import { expose } from './exposure.ts';

/** What an order does to exposure: hedging always opens; netting may reduce an opposite position. */
export type PositionEffect = 'opens' | 'reduces' | 'reverses';

export function positionEffect(
  book: AccountBook,
  ticker: string,
  side: Side,
  volume: Quantity,
): PositionEffect {
  if (book.account.system === 'hedging') return 'opens';
  const position = netPosition(book, ticker);
  if (!position || position.side === side) return 'opens';
  return volume <= position.volume ? 'reduces' : 'reverses';
}

/** The one open deal of a netting account on `ticker`. */
export function netPosition(book: AccountBook, ticker: string): Deal | undefined {
  for (const deal of book.deals.values()) if (deal.ticker === ticker) return deal;
  return undefined;
}

/** The volume-weighted open price after adding `volume` at `price` to a netting position. */
function weightedOpenPrice(position: Deal, volume: Quantity, price: Price): Price {
  return weightedPrice(position.openPrice, position.volume, price, volume);
}

/**
 * Applies `order`'s fill at `price` to the book's deals, appending the deals it opened, changed or
 * closed to `order.deals`.
 */
export function applyFill(
  state: EngineState,
  step: Step,
  book: AccountBook,
  instrument: Instrument,
  order: Order,
  price: Price,
): void {
  const now = step.now;
  let remaining = order.volume;
  const position = book.account.system === 'netting' ? netPosition(book, order.ticker) : undefined;
  if (position && position.side === order.side) {
    position.openPrice = weightedOpenPrice(position, order.volume, price);
    position.volume += order.volume;
    if (order.stopLoss !== null) position.stopLoss = order.stopLoss;
    if (order.takeProfit !== null) position.takeProfit = order.takeProfit;
    position.lastModified = now;
    syncDealTriggers(state, position);
    step.deal(book, position);
    step.event(book, { type: 'deal_increased', deal: position }, `deal ${position.id} increased`);
    order.deals.push(position.id);
    remaining = 0;
  } else if (position) {
    if (order.volume < position.volume) {
      const closedPart: Deal = {
        ...position,
        id: state.options.ids.nextDealId(),
        volume: order.volume,
        stopLoss: null,
        takeProfit: null,
      };
      settleDeal(state, step, book, instrument, closedPart, price);
      position.volume -= order.volume;
      position.lastModified = now;
      step.deal(book, position);
      step.event(
        book,
        { type: 'deal_reduced', deal: position, closedDealId: closedPart.id },
        `deal ${position.id} reduced: deal ${closedPart.id} closed part of it`,
      );
      order.deals.push(position.id, closedPart.id);
      remaining = 0;
    } else {
      closeDeal(state, step, book, instrument, position, price);
      order.deals.push(position.id);
      remaining = order.volume - position.volume;
    }
  }
  if (remaining > 0) openDeal(state, step, book, order, remaining, price);
}

function openDeal(
  state: EngineState,
  step: Step,
  book: AccountBook,
  order: Order,
  volume: Quantity,
  price: Price,
): void {
  const deal: Deal = {
    id: state.options.ids.nextDealId(),
    accountId: book.account.id,
    ticker: order.ticker,
    side: order.side,
    volume,
    openPrice: price,
    openTime: step.now,
    stopLoss: order.stopLoss,
    takeProfit: order.takeProfit,
    status: 'open',
    closePrice: null,
    closeTime: null,
    profit: 0,
    lastModified: step.now,
  };
  book.deals.set(deal.id, deal);
  if (deal.stopLoss !== null || deal.takeProfit !== null) syncDealTriggers(state, deal);
  expose(state, deal);
  step.deal(book, deal);
  step.event(book, { type: 'deal_opened', deal }, `deal ${deal.id} opened`);
  order.deals.push(deal.id);
}

/**
 * How filling `volume` at `price` changes the account's positions: the open deals it replaces, the
 * positions that take their place, and the parts it closes (whose profit goes to the balance).
 * Every other deal stays as it is.
 */
export function fillChange(
  book: AccountBook,
  ticker: string,
  side: Side,
  volume: Quantity,
  price: Price,
): { replaced: Deal[]; added: Position[]; settled: Position[] } {
  const replaced: Deal[] = [];
  const added: Position[] = [];
  const settled: Position[] = [];
  let remaining = volume;
  if (book.account.system === 'netting') {
    for (const deal of book.deals.values()) {
      if (deal.ticker !== ticker || remaining <= 0) continue;
      replaced.push(deal);
      if (deal.side === side) {
        added.push({
          ticker,
          side,
          volume: deal.volume + remaining,
          openPrice: weightedOpenPrice(deal, remaining, price),
        });
        remaining = 0;
        continue;
      }
      const closed = Math.min(deal.volume, remaining);
      remaining -= closed;
      settled.push({ ticker, side: deal.side, volume: closed, openPrice: deal.openPrice });
      if (deal.volume > closed)
        added.push({ ticker, side: deal.side, volume: deal.volume - closed, openPrice: deal.openPrice });
    }
  }
  if (remaining > 0) added.push({ ticker, side, volume: remaining, openPrice: price });
  return { replaced, added, settled };
}
