/**
 * Booking a ledger entry: the one way a balance moves outside a deal's settlement (cash in and
 * out, and the broker's charges and credits: commissions, swaps, dividends and their tax, split
 * cash-outs).
 *
 * Invariant: balance = Σ ledger amounts + Σ realised deal profit, exactly, in cents. Every entry
 * moves the balance by its amount, records the balance after it, and is published as one
 * `balance_changed` event with the entry's type as its reason, in the same step.
 */
import type { LedgerEntryType, Step } from '../change-set.ts';
import type { Money } from '../decimal.ts';
import type { AccountBook } from '../model.ts';
import { showMoney } from '../messages.ts';

export interface LedgerPosting {
  type: LedgerEntryType;
  amount: Money;
  comment: string;
  orderId?: string | null;
  dealId?: string | null;
}

/** Moves the account's balance by the posting's amount and records it; returns the new balance. */
export function postLedgerEntry(step: Step, book: AccountBook, posting: LedgerPosting): Money {
  const account = book.account;
  account.balance += posting.amount;
  const orderId = posting.orderId ?? null;
  const dealId = posting.dealId ?? null;
  step.ledger.push({
    accountId: account.id,
    type: posting.type,
    amount: posting.amount,
    balanceAfter: account.balance,
    comment: posting.comment,
    time: step.now,
    orderId,
    dealId,
  });
  step.account(book);
  step.event(
    book,
    {
      type: 'balance_changed',
      reason: posting.type,
      amount: posting.amount,
      balance: account.balance,
      comment: posting.comment,
      orderId,
      dealId,
    },
    `balance changed by ${showMoney(posting.amount)} (${posting.type}): ${posting.comment}`,
  );
  return account.balance;
}
