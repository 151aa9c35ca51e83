/**
 * Row mapping of the account event log (`account_events`, migration 0004), shared by the adapters.
 *
 * A row is the event's account, id and time as columns and the rest as `payload`: a JSON array
 * of the event's type and its facts, the order or deal it is about written field by field in the
 * engine's fixed-point integers (ORDER_FIELDS, DEAL_FIELDS). The event's log line (`message`) is
 * not stored; events read back carry an empty one.
 *
 * Why positional and written by hand: every market order writes three events in its commit, the
 * hot path, whether anyone subscribes or not. Building the array text directly costs a fraction of
 * `JSON.stringify` on the event object and stores a third of the bytes. Free text (tickers,
 * comments) still goes through `JSON.stringify`, so the payload is always valid JSON; the other
 * fields are enumerations, digits and integers. `event-rows.test.ts` round-trips every type.
 */
import type { EngineEvent, LedgerEntryType } from '../../engine/engine.ts';
import { ACCOUNT_ID_WIDTH, DEAL_ID_WIDTH, ORDER_ID_WIDTH, formatId } from '../../engine/ids.ts';
import type { Deal, Order } from '../../engine/model.ts';
import type { Row } from './rows.ts';

export const EVENT_COLUMNS = ['account_id', 'id', 'time', 'payload'] as const;

/** The most events one read returns: a stream catching up reads page after page. */
export const MAX_EVENTS_PER_READ = 1_000;

const text = (value: string): string => JSON.stringify(value);
const id = (value: string | null): string => (value === null ? 'null' : String(Number(value)));

/** id, ticker, side, type, volume, price, filled price, expiration, SL, TP, status, comment, times, deals, target. */
function orderFields(order: Order): string {
  return `${Number(order.id)},${text(order.ticker)},"${order.side}","${order.type}",${order.volume},${order.price},${order.filledPrice},${order.expiration},${order.stopLoss},${order.takeProfit},"${order.status}",${text(order.comment)},${order.createTime},${order.lastModified},"${order.deals.map(Number).join(',')}",${id(order.targetDealId)}`;
}

/** id, ticker, side, volume, open price and time, SL, TP, status, close price and time, profit, last modified. */
function dealFields(deal: Deal): string {
  return `${Number(deal.id)},${text(deal.ticker)},"${deal.side}",${deal.volume},${deal.openPrice},${deal.openTime},${deal.stopLoss},${deal.takeProfit},"${deal.status}",${deal.closePrice},${deal.closeTime},${deal.profit},${deal.lastModified}`;
}

export function eventPayload(event: EngineEvent): string {
  switch (event.type) {
    case 'order_placed':
    case 'order_modified':
    case 'order_filled':
    case 'order_canceled':
    case 'order_expired':
      return `["${event.type}",${orderFields(event.order)}]`;
    case 'order_rejected':
      return `["${event.type}",${orderFields(event.order)},"${event.code}"]`;
    case 'deal_opened':
    case 'deal_modified':
    case 'deal_increased':
    case 'deal_closed':
      return `["${event.type}",${dealFields(event.deal)}]`;
    case 'deal_reduced':
      return `["${event.type}",${dealFields(event.deal)},${id(event.closedDealId)}]`;
    case 'balance_changed':
      return `["${event.type}","${event.reason}",${event.amount},${event.balance},${text(event.comment)},${id(event.orderId)},${id(event.dealId)}]`;
    case 'margin_called':
      return `["${event.type}",${text(event.marginLevel)}]`;
    case 'stopped_out':
      return `["${event.type}",${id(event.dealId)},${text(event.marginLevel)}]`;
  }
}

export function eventValues(event: EngineEvent): unknown[] {
  return [Number(event.accountId), event.id, event.time, eventPayload(event)];
}

export function eventRow(event: EngineEvent): Row {
  return {
    account_id: Number(event.accountId),
    id: event.id,
    time: event.time,
    payload: eventPayload(event),
  };
}

type Field = string | number | null;
const orderId = (value: Field): string => formatId(Number(value), ORDER_ID_WIDTH);
const dealId = (value: Field): string => formatId(Number(value), DEAL_ID_WIDTH);

function orderFrom(fields: readonly Field[], accountId: string): Order {
  const [identifier, ticker, side, type, volume, price, filledPrice, expiration, stopLoss, takeProfit] =
    fields;
  const [status, comment, createTime, lastModified, deals, target] = fields.slice(10);
  return {
    id: orderId(identifier ?? 0),
    accountId,
    ticker: String(ticker),
    side: side as Order['side'],
    type: type as Order['type'],
    volume: Number(volume),
    price: price as number | null,
    filledPrice: filledPrice as number | null,
    expiration: Number(expiration),
    stopLoss: stopLoss as number | null,
    takeProfit: takeProfit as number | null,
    status: status as Order['status'],
    comment: String(comment),
    createTime: Number(createTime),
    lastModified: Number(lastModified),
    deals: deals === '' ? [] : String(deals).split(',').map(dealId),
    targetDealId: target === null || target === undefined ? null : dealId(target),
  };
}

function dealFrom(fields: readonly Field[], accountId: string): Deal {
  const [identifier, ticker, side, volume, openPrice, openTime, stopLoss, takeProfit, status] = fields;
  const [closePrice, closeTime, profit, lastModified] = fields.slice(9);
  return {
    id: dealId(identifier ?? 0),
    accountId,
    ticker: String(ticker),
    side: side as Deal['side'],
    volume: Number(volume),
    openPrice: Number(openPrice),
    openTime: Number(openTime),
    stopLoss: stopLoss as number | null,
    takeProfit: takeProfit as number | null,
    status: status as Deal['status'],
    closePrice: closePrice as number | null,
    closeTime: closeTime as number | null,
    profit: Number(profit),
    lastModified: Number(lastModified),
  };
}

const ORDER_FIELDS = 16;
const DEAL_FIELDS = 13;

export function eventFromRow(row: Row): EngineEvent {
  const accountId = formatId(Number(row.account_id), ACCOUNT_ID_WIDTH);
  const head = { accountId, id: Number(row.id), time: Number(row.time), message: '' };
  const [type, ...fields] = JSON.parse(String(row.payload)) as [EngineEvent['type'], ...Field[]];
  switch (type) {
    case 'order_placed':
    case 'order_modified':
    case 'order_filled':
    case 'order_canceled':
    case 'order_expired':
      return { ...head, type, order: orderFrom(fields, accountId) };
    case 'order_rejected':
      return {
        ...head,
        type,
        order: orderFrom(fields, accountId),
        code: fields[ORDER_FIELDS] as Extract<EngineEvent, { type: 'order_rejected' }>['code'],
      };
    case 'deal_opened':
    case 'deal_modified':
    case 'deal_increased':
    case 'deal_closed':
      return { ...head, type, deal: dealFrom(fields, accountId) };
    case 'deal_reduced':
      return {
        ...head,
        type,
        deal: dealFrom(fields, accountId),
        closedDealId: dealId(fields[DEAL_FIELDS] ?? 0),
      };
    case 'balance_changed':
      return {
        ...head,
        type,
        reason: fields[0] as LedgerEntryType,
        amount: Number(fields[1]),
        balance: Number(fields[2]),
        comment: String(fields[3]),
        // Events written before ledger entries named their order or deal have neither.
        orderId: fields[4] == null ? null : orderId(fields[4]),
        dealId: fields[5] == null ? null : dealId(fields[5]),
      };
    case 'margin_called':
      return { ...head, type, marginLevel: String(fields[0]) };
    case 'stopped_out':
      return { ...head, type, dealId: dealId(fields[0] ?? 0), marginLevel: String(fields[1]) };
  }
}

/** The highest event id per account among the events (accounts without events are absent). */
export function lastEventIds(events: readonly EngineEvent[]): Map<string, number> {
  const last = new Map<string, number>();
  for (const event of events) {
    if (event.id > (last.get(event.accountId) ?? 0)) last.set(event.accountId, event.id);
  }
  return last;
}
