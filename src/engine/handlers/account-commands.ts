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
import { showMoney } from '../messages.ts';
import { adjustmentRejection } from '../risk/balance-checks.ts';

export function adjustBalance(
  state: EngineState,
  step: Step,
  book: AccountBook,
  command: AdjustBalance,
): Rejection | { balance: Money } {
  const rejection = adjustmentRejection(state, book, command.amount);
  if (rejection) return rejection;
  book.account.balance += command.amount;
  step.ledger.push({
    accountId: book.account.id,
    amount: command.amount,
    balanceAfter: book.account.balance,
    comment: command.comment,
    time: step.now,
  });
  step.account(book);
  step.event(
    book,
    {
      type: 'balance_changed',
      reason: command.amount < 0 ? 'withdrawal' : 'deposit',
      amount: command.amount,
      balance: book.account.balance,
      comment: command.comment,
    },
    `balance changed by ${showMoney(command.amount)}: ${command.comment}`,
  );
  state.stopOutCandidates.add(book.account.id);
  return { balance: book.account.balance };
}

export function updateAccount(step: Step, book: AccountBook, command: UpdateAccount): undefined {
  if (command.name !== undefined) book.account.name = command.name;
  if (command.status !== undefined) book.account.status = command.status;
  step.account(book);
  return undefined;
}
