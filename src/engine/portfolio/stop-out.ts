/**
 * When stop-out runs: at a sweep, each candidate account whose margin level (equity / margin) is
 * below the margin call level gets one `margin_called` event until it recovers; below the stop-out
 * level its worst deal (lowest floating profit, lowest id on ties) that can be closed now is
 * closed through a `stop_out` order, and the level is measured again, until it is back above or
 * nothing can be closed.
 */
import { valuePosition } from '../account-metrics.ts';
import type { Step } from '../change-set.ts';
import { marginFigures, marketIsOpen, type EngineState } from '../engine-state.ts';
import { closeThroughOrder } from '../execution/fill-order.ts';
import { showLevel } from '../messages.ts';
import type { AccountBook, Deal } from '../model.ts';

export function enforceMargin(state: EngineState, step: Step, book: AccountBook): void {
  const accountId = book.account.id;
  const { marginCallLevel, stopOutLevel } = state.options;
  for (;;) {
    const metrics = marginFigures(state, book);
    const levelTimes100 = metrics.equity * 100;
    if (metrics.margin <= 0 || levelTimes100 >= marginCallLevel * metrics.margin) {
      state.inMarginCall.delete(accountId);
      return;
    }
    if (!state.inMarginCall.has(accountId)) {
      state.inMarginCall.add(accountId);
      const marginLevel = showLevel(metrics);
      step.event(
        book,
        { type: 'margin_called', marginLevel },
        `margin call: margin level ${marginLevel}% below ${marginCallLevel}%`,
      );
    }
    if (levelTimes100 >= stopOutLevel * metrics.margin) return;
    const worst = worstClosableDeal(state, book, step.now);
    if (!worst) return;
    const quote = state.market.get(worst.ticker);
    if (!quote) return;
    const marginLevel = showLevel(metrics);
    const rule = `stop out: margin level ${marginLevel}% below ${stopOutLevel}%`;
    step.event(
      book,
      { type: 'stopped_out', dealId: worst.id, marginLevel },
      `${rule}, closing deal ${worst.id}`,
    );
    closeThroughOrder(state, step, book, worst, {
      type: 'stop_out',
      level: null,
      quote,
      rule,
      comment: `stop out of deal ${worst.id}`,
    });
  }
}

/** The open deal with the lowest floating profit (lowest id on ties) that can be closed now. */
function worstClosableDeal(state: EngineState, book: AccountBook, now: number): Deal | undefined {
  let worst: Deal | undefined;
  let worstProfit = 0;
  for (const deal of book.deals.values()) {
    const instrument = state.instruments.get(deal.ticker);
    if (!instrument || !marketIsOpen(state, instrument, now)) continue;
    const value = valuePosition(deal, book, state.instrumentLookup, state.market);
    if (!value) continue;
    if (!worst || value.profit < worstProfit || (value.profit === worstProfit && deal.id < worst.id)) {
      worst = deal;
      worstProfit = value.profit;
    }
  }
  return worst;
}
