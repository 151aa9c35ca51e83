/**
 * Which price a quote's triggers compare against. An instrument whose `triggerSource` is `last`
 * (stocks and ETFs by default) compares every resting order, stop loss and take profit with the
 * last trade price; any other compares buys and short closes with the ask, sells and long closes
 * with the bid (trigger-index.ts). Fills are at bid/ask either way (fire-trigger.ts).
 *
 * A last-triggered instrument falls back to bid/ask for a quote without a last, and for one whose
 * last is older than its bid/ask by more than the stale-quote limit (`maxQuoteAgeSeconds`; never
 * stale when that check is off): an untraded stock still has a market.
 *
 * Every rule of the index keeps its meaning with the last in place of both bid and ask (a buy
 * limit fires when last ≤ price, a long's stop loss when last ≤ SL, and so on), so the index
 * needs no heaps of its own for it: the caller passes the last as both prices. The checks that
 * keep a new level off the crossed side (order-checks.ts) read the same price, so no trigger
 * rests crossed.
 *
 * Cost: a quote without a last (FX, metals) pays one property read; only a quote with a last
 * looks its instrument up.
 */
import type { Price } from '../decimal.ts';
import type { EngineState } from '../engine-state.ts';
import type { Quote } from '../model.ts';

/** The last trade price this quote's triggers compare against, or undefined for bid/ask. */
export function lastTriggerPrice(state: EngineState, quote: Quote): Price | undefined {
  const last = quote.last;
  if (last === undefined) return undefined;
  if (state.instruments.get(quote.ticker)?.triggerSource !== 'last') return undefined;
  const maxAge = state.options.maxQuoteAgeSeconds;
  if (maxAge !== null && quote.time - (quote.lastTime ?? quote.time) > maxAge) return undefined;
  return last;
}
