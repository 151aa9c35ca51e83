/**
 * Handling the account commands: balance adjustments (deposits and withdrawals, each one ledger
 * entry) and name or status changes.
 */
import type { Step } from '../change-set.ts';
import type { AdjustBalance, UpdateAccount } from '../commands.ts';
import type { Money } from '../decimal.ts';
import type { EngineState } from '../engine-state.ts';
import type { AccountBook } from '../model.ts';
import type { Rejection } from '../rejection.ts';
import { postLedgerEntry } from '../portfolio/ledger.ts';
import { adjustmentRejection } from '../risk/balance-checks.ts';

export function adjustBalance(
  state: EngineState,
  step: Step,
  book: AccountBook,
  command: AdjustBalance,
): Rejection | { balance: Money } {
  const rejection = adjustmentRejection(state, book, command.amount);
  if (rejection) return rejection;
  postLedgerEntry(step, book, {
    type: command.amount < 0 ? 'withdrawal' : 'deposit',
    amount: command.amount,
    comment: command.comment,
  });
  state.stopOutCandidates.add(book.account.id);
  return { balance: book.account.balance };
}

export function updateAccount(step: Step, book: AccountBook, command: UpdateAccount): undefined {
  if (command.name !== undefined) book.account.name = command.name;
  if (command.status !== undefined) book.account.status = command.status;
  step.account(book);
  return undefined;
}
