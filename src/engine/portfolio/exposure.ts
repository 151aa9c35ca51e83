/**
 * Which accounts a quote can stop out: per ticker, the accounts with an open deal whose value in
 * the account currency that ticker moves (its own ticker and the conversion pairs: a GBPUSD tick
 * moves EURGBP in USD).
 *
 * Invariant: after every change to a book's deals, `state.exposure` lists the account under the
 * valuation tickers of its open deals and no others.
 */
import type { EngineState } from '../engine-state.ts';
import { conversionTickers } from '../market.ts';
import type { AccountBook, Deal } from '../model.ts';

/** Registers the deal's account under every ticker whose quote moves the deal's value. */
export function expose(state: EngineState, deal: Deal): void {
  for (const ticker of valuationTickers(state, deal)) {
    let accounts = state.exposure.get(ticker);
    if (!accounts) state.exposure.set(ticker, (accounts = new Set()));
    accounts.add(deal.accountId);
  }
}

/** After `closed` left the book: drops the account from tickers no remaining deal is valued by. */
export function unexpose(state: EngineState, book: AccountBook, closed: Deal): void {
  const stillExposed = new Set<string>();
  for (const deal of book.deals.values())
    for (const ticker of valuationTickers(state, deal)) stillExposed.add(ticker);
  for (const ticker of valuationTickers(state, closed))
    if (!stillExposed.has(ticker)) state.exposure.get(ticker)?.delete(book.account.id);
}

/** Drops the account from every ticker (its book is being replaced). */
export function unexposeAccount(state: EngineState, accountId: string): void {
  for (const accounts of state.exposure.values()) accounts.delete(accountId);
}

export function valuationTickers(state: EngineState, deal: Deal): string[] {
  const quoteCurrency = state.instruments.get(deal.ticker)?.quoteCurrency;
  const accountCurrency = state.books.get(deal.accountId)?.account.currency;
  if (quoteCurrency === undefined || accountCurrency === undefined) return [deal.ticker];
  return [deal.ticker, ...conversionTickers(quoteCurrency, accountCurrency)];
}
