/**
 * The balance-limit and funds checks: every balance stays strictly inside ±MAX_BALANCE (money.ts),
 * so it is always exact. A deposit, a client's order or a client's close that would take it
 * outside is rejected here, before any change; automatic closes are limited at settlement instead
 * (execution/settle-deal.ts).
 */
import type { Money, Price, Quantity } from '../decimal.ts';
import { marginFigures, type EngineState } from '../engine-state.ts';
import { formatPrice } from '../instrument.ts';
import { BALANCE_LIMIT_TEXT, showMoney, showQuantity } from '../messages.ts';
import type { AccountBook, Deal, Instrument, Side } from '../model.ts';
import { notionalToMoney, withinBalanceLimit } from '../money.ts';
import { netPosition } from '../portfolio/positions.ts';
import { reject, type Rejection } from '../rejection.ts';

/**
 * Rejects a fill at `price` that would close part or all of a netting position with a profit or
 * loss taking the balance outside ±MAX_BALANCE. Without a conversion rate there is nothing to
 * settle yet; the margin check reports the missing rate.
 */
export function settlementRejection(
  state: EngineState,
  book: AccountBook,
  instrument: Instrument,
  side: Side,
  volume: Quantity,
  price: Price,
): Rejection | undefined {
  if (book.account.system !== 'netting') return undefined;
  const position = netPosition(book, instrument.ticker);
  if (!position || position.side === side) return undefined;
  return closeRejection(state, book, instrument, position, Math.min(volume, position.volume), price);
}

/** Rejects closing `volume` of `deal` at `price` when its profit would leave the balance limit. */
export function closeRejection(
  state: EngineState,
  book: AccountBook,
  instrument: Instrument,
  deal: Deal,
  volume: Quantity,
  price: Price,
): Rejection | undefined {
  const rate = state.market.rate(instrument.quoteCurrency, book.account.currency);
  if (!rate) return undefined;
  const move = deal.side === 'buy' ? price - deal.openPrice : deal.openPrice - price;
  const profit = notionalToMoney(move, volume, instrument.contractSize, rate);
  if (withinBalanceLimit(book.account.balance, profit)) return undefined;
  return reject(
    'balance_limit',
    `closing ${showQuantity(volume)} of deal ${deal.id} at ${formatPrice(price, instrument)} would take the balance past the balance limit: to ${profit > 0 ? '' : '-'}${BALANCE_LIMIT_TEXT} ${book.account.currency} or ${profit > 0 ? 'more' : 'less'}`,
  );
}

/** A balance adjustment must not be 0, withdraw more than free margin or balance, or pass the limit. */
export function adjustmentRejection(
  state: EngineState,
  book: AccountBook,
  amount: Money,
): Rejection | undefined {
  if (amount === 0) return reject('invalid_amount', 'amount must not be 0');
  if (amount < 0) {
    const metrics = marginFigures(state, book);
    if (-amount > metrics.freeMargin || -amount > book.account.balance) {
      return reject(
        'insufficient_funds',
        `withdrawal of ${showMoney(-amount)} exceeds free margin ${showMoney(Math.min(metrics.freeMargin, book.account.balance))}`,
      );
    }
  }
  if (!withinBalanceLimit(book.account.balance, amount)) {
    return reject('invalid_amount', `the balance would exceed ${BALANCE_LIMIT_TEXT}`);
  }
  return undefined;
}
