/**
 * Handling the deal commands: changing a deal's stop loss and take profit, and a client's close,
 * which goes through a market order of its own. Every check runs before the first change.
 */
import { closingPrice } from '../account-metrics.ts';
import type { Step } from '../change-set.ts';
import type { CloseDeal, ModifyDeal } from '../commands.ts';
import { requireInstrument, type EngineState } from '../engine-state.ts';
import { closeThroughOrder } from '../execution/fill-order.ts';
import { formatPrice } from '../instrument.ts';
import type { AccountBook } from '../model.ts';
import { reject, type Rejection } from '../rejection.ts';
import { dealCloseQuote, modifiedDealLevels } from '../risk/order-validation.ts';
import { syncDealTriggers } from '../triggers/trigger-sync.ts';

export function modifyDeal(
  state: EngineState,
  step: Step,
  book: AccountBook,
  command: ModifyDeal,
): Rejection | undefined {
  const deal = book.deals.get(command.dealId);
  if (!deal) return reject('deal_not_found', `deal ${command.dealId} not found or not open`);
  const instrument = requireInstrument(state, deal.ticker);
  const levels = modifiedDealLevels(state, book, instrument, deal, command);
  if ('code' in levels) return levels;
  deal.stopLoss = levels.stopLoss;
  deal.takeProfit = levels.takeProfit;
  deal.lastModified = step.now;
  syncDealTriggers(state, deal);
  step.deal(book, deal);
  step.event(book, { type: 'deal_modified', deal }, `deal ${deal.id} stop loss or take profit changed`);
  return undefined;
}

export function closeDealCommand(
  state: EngineState,
  step: Step,
  book: AccountBook,
  command: CloseDeal,
): Rejection | { orderId: string } {
  const deal = book.deals.get(command.dealId);
  if (!deal) return reject('deal_not_found', `deal ${command.dealId} not found or not open`);
  const instrument = requireInstrument(state, deal.ticker);
  const checked = dealCloseQuote(state, step.now, book, instrument, deal);
  if ('code' in checked) return checked;
  const { quote } = checked;
  const price = closingPrice(deal.side, quote.bid, quote.ask);
  const order = closeThroughOrder(state, step, book, deal, {
    type: 'market',
    level: null,
    quote,
    rule: `close deal ${deal.id} at ${deal.side === 'buy' ? 'bid' : 'ask'} ${formatPrice(price, instrument)}`,
    comment: `close deal ${deal.id}`,
  });
  return { orderId: order.id };
}
