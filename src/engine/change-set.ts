/**
 * What one engine step changed: snapshots to persist, fills to report and events to publish.
 *
 * Invariants:
 * - A `Step` collects the live objects a step touched and snapshots them once, in `finish`, so
 *   the change set never aliases engine state.
 * - Every account whose book a step touched has its version bumped exactly once per step.
 * - Events are past tense and carry a typed payload; `message` is the same fact as one log line.
 * - Every event has an id one above its account's previous one (`AccountBook.lastEventId`, which
 *   the step moves on and storage keeps with the account row), so an account's events are numbered
 *   1, 2, 3… in the order its steps are written, on any backend and across processes (each account's
 *   writes are serialised by its version). An event touches its account, so the account row that
 *   carries the last id is written with it.
 * - An event holds a snapshot of the order or deal it is about, taken when it happened: a
 *   subscriber can render it later without reading state that has moved on since.
 */
import type { Money, Price, Quantity } from './decimal.ts';
import type { Account, AccountBook, Deal, Order, OrderType, Side } from './model.ts';
import type { RejectionCode } from './rejection.ts';
import type { LEDGER_ENTRY_TYPES } from '../contract/enums.ts';

/** Why a balance moved outside a deal's settlement (which `deal_closed` reports). */
export type LedgerEntryType = (typeof LEDGER_ENTRY_TYPES)[number];

export interface LedgerEntry {
  accountId: string;
  type: LedgerEntryType;
  amount: Money;
  balanceAfter: Money;
  comment: string;
  time: number;
  /** The order or deal a charge belongs to; null for cash in and out. */
  orderId: string | null;
  dealId: string | null;
}

/** How a fill came about: the quote it used and the rule that produced it. */
export interface Fill {
  orderId: string;
  accountId: string;
  ticker: string;
  side: Side;
  orderType: OrderType;
  volume: Quantity;
  price: Price;
  time: number;
  quoteTime: number;
  bid: Price;
  ask: Price;
  rule: string;
  dealIds: string[];
}

/** What happened, with a snapshot of the order or deal it happened to. */
export type EngineEventPayload =
  | { type: 'order_placed'; order: Order }
  | { type: 'order_modified'; order: Order }
  | { type: 'order_filled'; order: Order }
  | { type: 'order_rejected'; order: Order; code: RejectionCode }
  | { type: 'order_canceled'; order: Order }
  | { type: 'order_expired'; order: Order }
  | { type: 'deal_opened'; deal: Deal }
  /** Its stop loss or take profit changed. */
  | { type: 'deal_modified'; deal: Deal }
  /** A netting position changed size or open price: added to, or partly closed (see `closedDealId`). */
  | { type: 'deal_reduced'; deal: Deal; closedDealId: string }
  | { type: 'deal_increased'; deal: Deal }
  | { type: 'deal_closed'; deal: Deal }
  | {
      type: 'balance_changed';
      reason: LedgerEntryType;
      amount: Money;
      balance: Money;
      comment: string;
      orderId: string | null;
      dealId: string | null;
    }
  | { type: 'margin_called'; marginLevel: string }
  | { type: 'stopped_out'; dealId: string; marginLevel: string };

export type EngineEventType = EngineEventPayload['type'];

export type EngineEvent = EngineEventPayload & {
  accountId: string;
  /** The account's event id: one above its previous event's. */
  id: number;
  time: number;
  /** The event as one human-readable log line. */
  message: string;
};

/** Everything one engine step changed, as snapshots to persist. */
export interface ChangeSet {
  orders: Order[];
  deals: Deal[];
  accounts: Account[];
  ledger: LedgerEntry[];
  fills: Fill[];
  events: EngineEvent[];
}

export function isEmptyChangeSet(changes: ChangeSet): boolean {
  return (
    changes.orders.length === 0 &&
    changes.deals.length === 0 &&
    changes.accounts.length === 0 &&
    changes.ledger.length === 0 &&
    changes.fills.length === 0
  );
}

export function emptyChangeSet(): ChangeSet {
  return { orders: [], deals: [], accounts: [], ledger: [], fills: [], events: [] };
}

/** Collects the objects one step touched; snapshots them when the step ends. */
export class Step {
  readonly orders = new Map<string, Order>();
  readonly deals = new Map<string, Deal>();
  readonly accounts = new Map<string, Account>();
  readonly ledger: LedgerEntry[] = [];
  readonly fills: Fill[] = [];
  readonly events: EngineEvent[] = [];
  readonly touchedBooks = new Set<AccountBook>();

  constructor(readonly now: number) {}

  order(book: AccountBook, order: Order): void {
    this.orders.set(order.id, order);
    this.touchedBooks.add(book);
  }

  deal(book: AccountBook, deal: Deal): void {
    this.deals.set(deal.id, deal);
    this.touchedBooks.add(book);
  }

  account(book: AccountBook): void {
    this.accounts.set(book.account.id, book.account);
    this.touchedBooks.add(book);
  }

  /**
   * Records an event of the book's account; the order or deal in it is copied as it is now.
   * `payload` is a fresh literal at every call site, so it becomes the event itself: a spread
   * copy of it cost fills about a tenth of their speed.
   */
  event(book: AccountBook, payload: EngineEventPayload, message: string): void {
    if ('order' in payload) payload.order = { ...payload.order, deals: [...payload.order.deals] };
    else if ('deal' in payload) payload.deal = { ...payload.deal };
    book.lastEventId += 1;
    this.touchedBooks.add(book);
    const event = payload as EngineEvent;
    event.accountId = book.account.id;
    event.id = book.lastEventId;
    event.time = this.now;
    event.message = message;
    this.events.push(event);
  }

  finish(): ChangeSet {
    for (const book of this.touchedBooks) {
      book.version += 1;
      this.accounts.set(book.account.id, book.account);
    }
    return {
      orders: [...this.orders.values()].map((order) => ({ ...order, deals: [...order.deals] })),
      deals: [...this.deals.values()].map((deal) => ({ ...deal })),
      accounts: [...this.accounts.values()].map((account) => ({ ...account })),
      ledger: this.ledger,
      fills: this.fills,
      events: this.events,
    };
  }
}
