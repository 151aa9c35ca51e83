/**
 * The human-readable lines of `stockstrader watch`: one line per message, its columns aligned,
 * times in UTC. `--json` prints the stream's own JSON instead; these lines are for people and may
 * change, so scripts should use `--json`.
 */
import type { AccountStreamItem } from '../../client/stockstrader-client.ts';
import type { Deal, Order } from '../../contract/public-api.ts';
import type { QuoteMessage } from '../../contract/stream-api.ts';

/** Wide enough for the longest type, `balance_changed`. */
const TYPE_WIDTH = 15;

/** Unix seconds as ISO 8601 in UTC, to the second: `2026-01-05T14:30:00Z`. */
export function isoSeconds(seconds: number): string {
  return new Date(seconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function order(value: Order, price: number | undefined): string {
  const at = price === undefined ? '' : ` @ ${price}`;
  return `#${value.id} ${value.side} ${value.volume} ${value.ticker}${at} (${value.type})`;
}

function deal(value: Deal): string {
  return `deal #${value.id} ${value.side} ${value.volume} ${value.ticker} @ ${value.open_price}`;
}

function essentials(item: AccountStreamItem): string {
  switch (item.type) {
    case 'order_filled':
      return order(item.order, item.order.filled_price);
    case 'order_rejected':
      return `${order(item.order, item.order.price)}: ${item.reason}${item.order.comment ? ` (${item.order.comment})` : ''}`;
    case 'order_placed':
    case 'order_modified':
    case 'order_canceled':
    case 'order_expired':
      return order(item.order, item.order.price);
    case 'deal_closed':
      return `${deal(item.deal)} closed @ ${item.deal.close_price ?? '?'}  profit ${item.deal.profit}`;
    case 'deal_reduced':
      return `${deal(item.deal)}  closed part #${item.closed_deal_id}`;
    case 'deal_opened':
    case 'deal_modified':
    case 'deal_increased':
      return `${deal(item.deal)}${item.deal.stop_loss === undefined ? '' : `  sl ${item.deal.stop_loss}`}${item.deal.take_profit === undefined ? '' : `  tp ${item.deal.take_profit}`}`;
    case 'balance_changed':
      return `${item.reason} ${item.amount}  balance ${item.balance}${item.comment ? `  "${item.comment}"` : ''}`;
    case 'margin_called':
      return `margin level ${item.margin_level}%`;
    case 'stopped_out':
      return `deal #${item.deal_id}  margin level ${item.margin_level}%`;
    case 'reset':
      return `after #${item.last_id}: ${item.msg}`;
  }
}

/**
 * `2026-01-05T14:30:00Z  order_filled     #123 buy 10 AAPL.nq @ 187.42 (market)`. A `reset` has no
 * time of its own: it shows `nowSeconds`, when it arrived.
 */
export function accountLine(item: AccountStreamItem, nowSeconds: number): string {
  const time = item.type === 'reset' ? nowSeconds : item.time;
  return `${isoSeconds(time)}  ${item.type.padEnd(TYPE_WIDTH)}  ${essentials(item)}`;
}

/** `AAPL.nq  bid 187.41  ask 187.42  12:00:01`, the ticker padded to `tickerWidth`. */
export function quoteLine(quote: QuoteMessage, tickerWidth: number): string {
  const time = isoSeconds(quote.ask_bid_price_time).slice(11, 19);
  return `${quote.ticker.padEnd(tickerWidth)}  bid ${quote.bid_price}  ask ${quote.ask_price}  ${time}`;
}
