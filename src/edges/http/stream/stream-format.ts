/**
 * Stream messages → their wire JSON (contract/stream-api.ts), through the REST API's own
 * formatters (wire-format.ts), so an order or deal in an event reads exactly as GET orders/deals
 * shows it. An event's order or deal is the snapshot stored with it: an open deal shows its
 * realised profit (0) and no close price, as live values belong to the moment of reading.
 */
import type { EngineEvent } from '../../../engine/engine.ts';
import type { AccountEvent, QuoteMessage, Reset, Subscribed } from '../../../contract/stream-api.ts';
import type { StreamMessage } from '../../../application/streaming/stream-sink.ts';
import { dealToWire, money, orderToWire, quoteToWire } from '../wire-format.ts';

/** A message as it goes out: its JSON, and the SSE event name and id it is sent with. */
export interface WireMessage {
  event: string;
  /** The SSE `id:` line: the id a reconnecting client resumes after. */
  id: number | undefined;
  data: AccountEvent | Subscribed | Reset | QuoteMessage;
}

export function toWireMessage(message: StreamMessage): WireMessage {
  switch (message.kind) {
    case 'event':
      return { event: message.event.type, id: message.event.id, data: eventToWire(message.event) };
    case 'subscribed':
      return {
        event: 'subscribed',
        id: message.lastId,
        data: { type: 'subscribed', account_id: message.accountId, last_id: message.lastId },
      };
    case 'reset':
      return {
        event: 'reset',
        id: message.lastId,
        data: {
          type: 'reset',
          account_id: message.accountId,
          oldest_id: message.oldestId ?? null,
          last_id: message.lastId,
          msg: message.message,
        },
      };
    case 'quote':
      return {
        event: 'quote',
        id: undefined,
        data: { type: 'quote', ticker: message.quote.ticker, ...quoteToWire(message.quote) },
      };
  }
}

export function eventToWire(event: EngineEvent): AccountEvent {
  const head = { id: event.id, account_id: event.accountId, time: event.time };
  switch (event.type) {
    case 'order_placed':
    case 'order_modified':
    case 'order_filled':
    case 'order_canceled':
    case 'order_expired':
      return { ...head, type: event.type, order: orderToWire(event.order) };
    case 'order_rejected':
      return { ...head, type: event.type, order: orderToWire(event.order), reason: event.code };
    case 'deal_opened':
    case 'deal_modified':
    case 'deal_increased':
    case 'deal_closed':
      return {
        ...head,
        type: event.type,
        deal: dealToWire({ deal: event.deal, instrument: undefined, live: undefined }),
      };
    case 'deal_reduced':
      return {
        ...head,
        type: event.type,
        deal: dealToWire({ deal: event.deal, instrument: undefined, live: undefined }),
        closed_deal_id: event.closedDealId,
      };
    case 'balance_changed':
      return {
        ...head,
        type: event.type,
        reason: event.reason,
        amount: money(event.amount),
        balance: money(event.balance),
        comment: event.comment,
        order_id: event.orderId,
        deal_id: event.dealId,
      };
    case 'margin_called':
      return { ...head, type: event.type, margin_level: Number(event.marginLevel) };
    case 'stopped_out':
      return { ...head, type: event.type, deal_id: event.dealId, margin_level: Number(event.marginLevel) };
  }
}
