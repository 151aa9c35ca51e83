/**
 * What one engine step changed: snapshots to persist, fills to report and events to publish.
 *
 * Invariants:
 * - A `Step` collects the live objects a step touched and snapshots them once, in `finish`, so
 *   the change set never aliases engine state.
 * - Every account whose book a step touched has its version bumped exactly once per step.
 * - Events are past tense and carry a typed payload; `message` is the same fact as one log line.
 */
import type { Money, Price, Quantity } from './decimal.ts';
import type { Account, AccountBook, Deal, Order, OrderType, Side } from './model.ts';
import type { RejectionCode } from './rejection.ts';

export interface LedgerEntry {
  accountId: string;
  amount: Money;
  balanceAfter: Money;
  comment: string;
  time: number;
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

/** What happened, with the ids a subscriber needs to look the objects up. */
export type EngineEventPayload =
  | { type: 'order_placed'; orderId: string }
  | { type: 'order_filled'; orderId: string; dealIds: string[] }
  | { type: 'order_rejected'; orderId: string; code: RejectionCode }
  | { type: 'order_canceled'; orderId: string }
  | { type: 'order_expired'; orderId: string }
  | { type: 'deal_closed'; dealId: string; profit: Money }
  | { type: 'margin_called'; marginLevel: string }
  | { type: 'stopped_out'; dealId: string; marginLevel: string };

export type EngineEventType = EngineEventPayload['type'];

export type EngineEvent = EngineEventPayload & {
  accountId: string;
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

  /** `payload` is a fresh literal at every call site: it becomes the event (a spread copy costs a fill ~10%). */
  event(payload: EngineEventPayload, accountId: string, message: string): void {
    const event = payload as EngineEvent;
    event.accountId = accountId;
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
