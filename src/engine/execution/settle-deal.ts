/**
 * Settling a deal: marking it closed at a price and booking its realised profit to the balance.
 *
 * Invariants:
 * - balance = Σ ledger amounts + Σ realised deal profit, exactly, in cents: settlement is the only
 *   place a deal's profit reaches the balance.
 * - A client's fill or close was checked against the balance limit before any change
 *   (risk/balance-checks.ts), so here it always fits; if it does not, that is a broken invariant
 *   and throws. An `automatic` close (stop loss, take profit, stop out) cannot be refused: it books
 *   only the part that keeps the balance inside ±MAX_BALANCE, and the deal's profit is what was
 *   booked.
 */
import type { Money, Price } from '../decimal.ts';
import type { EngineState } from '../engine-state.ts';
import type { Step } from '../change-set.ts';
import { formatPrice } from '../instrument.ts';
import { limitedNote, showMoney } from '../messages.ts';
import type { AccountBook, Deal, Instrument } from '../model.ts';
import { limitBalanceChange, notionalToMoney } from '../money.ts';
import { unexpose } from '../portfolio/exposure.ts';
import { syncDealTriggers } from '../triggers/trigger-sync.ts';

/**
 * Marks a deal record closed at `price` and credits its realised profit to the balance. Returns
 * the profit the balance limit cut short, if it did.
 */
export function settleDeal(
  state: EngineState,
  step: Step,
  book: AccountBook,
  instrument: Instrument,
  deal: Deal,
  price: Price,
  automatic = false,
): Money | undefined {
  const rate = state.market.rate(instrument.quoteCurrency, book.account.currency);
  if (!rate)
    throw new Error(`no conversion rate ${instrument.quoteCurrency}→${book.account.currency} at settlement`);
  const move = deal.side === 'buy' ? price - deal.openPrice : deal.openPrice - price;
  const profit = notionalToMoney(move, deal.volume, instrument.contractSize, rate);
  const booked = limitBalanceChange(book.account.balance, profit);
  if (booked !== profit && !automatic)
    throw new Error(`settlement of deal ${deal.id} would leave the balance limit: not rejected before`);
  deal.profit = booked;
  deal.status = 'closed';
  deal.closePrice = price;
  deal.closeTime = step.now;
  deal.lastModified = step.now;
  book.account.balance += deal.profit;
  step.deal(book, deal);
  step.account(book);
  step.event(
    book,
    { type: 'deal_closed', deal },
    `deal ${deal.id} closed at ${formatPrice(price, instrument)}, profit ${showMoney(deal.profit)}${booked === profit ? '' : ` (${limitedNote(profit)})`}`,
  );
  return booked === profit ? undefined : profit;
}

/**
 * Closes a whole open deal at `price`: it leaves the book, the trigger index and the exposure,
 * and its profit is booked. Returns the profit the balance limit cut short, if it did.
 */
export function closeDeal(
  state: EngineState,
  step: Step,
  book: AccountBook,
  instrument: Instrument,
  deal: Deal,
  price: Price,
  automatic = false,
): Money | undefined {
  book.deals.delete(deal.id);
  const limited = settleDeal(state, step, book, instrument, deal, price, automatic);
  // The index holds a deal's SL and TP exactly while they are set; without them, it holds none.
  if (deal.stopLoss !== null || deal.takeProfit !== null) syncDealTriggers(state, deal);
  unexpose(state, book, deal);
  return limited;
}
