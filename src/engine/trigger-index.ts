/**
 * The trigger index: every resting price level (limit/stop orders, stop-loss and take-profit levels of
 * open deals), found by quote ticks in O(log n + fired) without scanning the resting triggers.
 *
 * Invariants:
 * - Each ticker has four keyed heaps, one per (watched price × direction). An 'at_or_below' group fires
 *   the entries whose level is >= the watched price, so it is a max-heap on level; an 'at_or_above' group
 *   fires levels <= the watched price, so it is a min-heap. Only the tops are compared per tick.
 * - `#byKey` holds every stored trigger; its ticker, watch and direction name the one heap holding it.
 *   Stored triggers are frozen copies, so callers cannot move a trigger behind the index's back.
 * - Each ticker group caches the top level of its four heaps and refreshes it after every change, so
 *   a tick that fires nothing is one map lookup and four number comparisons.
 *
 * Ordering: triggers fired by one `collect` are appended sorted by key (string compare), so the result
 * does not depend on heap layout. The sort touches only the fired entries.
 *
 * Complexity: upsert and remove O(log n); collect O(1) when nothing fires (and allocates nothing),
 * O(k log n + k log k) for k fired.
 */
import type { Price } from './decimal.ts';
import type { Deal, Order, OrderType, Side } from './model.ts';
import { KeyedHeap } from './keyed-heap.ts';

export type TriggerKind = 'order' | 'stop_loss' | 'take_profit';
/** Which quote price is watched. */
export type TriggerWatch = 'bid' | 'ask';
/** 'at_or_below': fires when the watched price <= level. 'at_or_above': fires when watched price >= level. */
export type TriggerDirection = 'at_or_below' | 'at_or_above';
/** The order types that rest in the index until the market reaches their price. */
export type RestingOrderType = Extract<OrderType, 'limit' | 'stop'>;
/** The levels of an open deal that rest in the index, in the order they are checked. */
export const DEAL_TRIGGER_KINDS = ['stop_loss', 'take_profit'] as const satisfies readonly TriggerKind[];
export type DealTriggerKind = (typeof DEAL_TRIGGER_KINDS)[number];

export interface Trigger {
  /** Unique, e.g. 'order:002212096' or 'stop_loss:001389' (see `triggerKey`). */
  readonly key: string;
  readonly accountId: string;
  readonly ticker: string;
  readonly kind: TriggerKind;
  /** Order id for 'order', deal id for 'stop_loss' / 'take_profit'. */
  readonly targetId: string;
  /** Integer count of 1e-8. */
  readonly level: Price;
  readonly watch: TriggerWatch;
  readonly direction: TriggerDirection;
}

export interface TriggerRule {
  readonly watch: TriggerWatch;
  readonly direction: TriggerDirection;
}

/** What the engine needs from a trigger store; the reference scan in tests implements it too. */
export interface TriggerStore {
  upsert(trigger: Trigger): void;
  remove(key: string): boolean;
  has(key: string): boolean;
  get(key: string): Trigger | undefined;
  collect(ticker: string, bid: Price, ask: Price, out: Trigger[]): void;
  readonly size: number;
  sizeFor(ticker: string): number;
  clear(): void;
}

const ASK_AT_OR_BELOW: TriggerRule = Object.freeze({ watch: 'ask', direction: 'at_or_below' });
const ASK_AT_OR_ABOVE: TriggerRule = Object.freeze({ watch: 'ask', direction: 'at_or_above' });
const BID_AT_OR_BELOW: TriggerRule = Object.freeze({ watch: 'bid', direction: 'at_or_below' });
const BID_AT_OR_ABOVE: TriggerRule = Object.freeze({ watch: 'bid', direction: 'at_or_above' });

/**
 * Buy orders fill at the ask, sell orders at the bid. A limit waits for a better price (buy: ask <= price,
 * sell: bid >= price); a stop waits for a breakout (buy: ask >= price, sell: bid <= price).
 */
export function orderTriggerRule(side: Side, type: RestingOrderType): TriggerRule {
  if (side === 'buy') return type === 'limit' ? ASK_AT_OR_BELOW : ASK_AT_OR_ABOVE;
  return type === 'limit' ? BID_AT_OR_ABOVE : BID_AT_OR_BELOW;
}

/**
 * A long deal closes by selling at the bid: SL when bid <= SL, TP when bid >= TP. A short deal closes by
 * buying at the ask: SL when ask >= SL, TP when ask <= TP.
 */
export function dealTriggerRule(side: Side, kind: DealTriggerKind): TriggerRule {
  if (side === 'buy') return kind === 'stop_loss' ? BID_AT_OR_BELOW : BID_AT_OR_ABOVE;
  return kind === 'stop_loss' ? ASK_AT_OR_ABOVE : ASK_AT_OR_BELOW;
}

export function triggerKey(kind: TriggerKind, targetId: string): string {
  return `${kind}:${targetId}`;
}

/** The trigger of a limit or stop order; undefined for any other type or a missing price. Status is not checked. */
export function triggerForOrder(
  order: Pick<Order, 'id' | 'accountId' | 'ticker' | 'side' | 'type' | 'price'>,
): Trigger | undefined {
  if ((order.type !== 'limit' && order.type !== 'stop') || order.price === null) return undefined;
  const rule = orderTriggerRule(order.side, order.type);
  return {
    key: triggerKey('order', order.id),
    accountId: order.accountId,
    ticker: order.ticker,
    kind: 'order',
    targetId: order.id,
    level: order.price,
    watch: rule.watch,
    direction: rule.direction,
  };
}

/** The stop-loss or take-profit trigger of a deal; undefined when that level is not set. */
export function triggerForDeal(
  deal: Pick<Deal, 'id' | 'accountId' | 'ticker' | 'side' | 'stopLoss' | 'takeProfit'>,
  kind: DealTriggerKind,
): Trigger | undefined {
  const level = kind === 'stop_loss' ? deal.stopLoss : deal.takeProfit;
  if (level === null) return undefined;
  const rule = dealTriggerRule(deal.side, kind);
  return {
    key: triggerKey(kind, deal.id),
    accountId: deal.accountId,
    ticker: deal.ticker,
    kind,
    targetId: deal.id,
    level,
    watch: rule.watch,
    direction: rule.direction,
  };
}

/** Whether a quote crosses the level (single-trigger form of `collect`, e.g. to check a new order). */
export function isCrossed(trigger: TriggerRule & { readonly level: Price }, bid: Price, ask: Price): boolean {
  const price = trigger.watch === 'bid' ? bid : ask;
  return trigger.direction === 'at_or_below' ? price <= trigger.level : price >= trigger.level;
}

/**
 * One ticker's four heaps, plus the level at the top of each cached in a plain field, so that a tick
 * which fires nothing costs four number comparisons and no calls. `refresh` runs after every change.
 * A top left stale by a removal would only be too close to the quote, sending ticks down the slow path
 * for nothing; a top left stale by an insertion would miss fires, so upsert must always refresh.
 */
class TickerGroup {
  readonly bidAtOrBelow = new KeyedHeap<Trigger>('max');
  readonly bidAtOrAbove = new KeyedHeap<Trigger>('min');
  readonly askAtOrBelow = new KeyedHeap<Trigger>('max');
  readonly askAtOrAbove = new KeyedHeap<Trigger>('min');
  /** Highest 'at_or_below' level on the bid: a bid at or below it fires something. -Infinity when none. */
  bidBelowTop = -Infinity;
  /** Lowest 'at_or_above' level on the bid: a bid at or above it fires something. Infinity when none. */
  bidAboveTop = Infinity;
  askBelowTop = -Infinity;
  askAboveTop = Infinity;

  get size(): number {
    return this.bidAtOrBelow.size + this.bidAtOrAbove.size + this.askAtOrBelow.size + this.askAtOrAbove.size;
  }

  heapFor(trigger: Trigger): KeyedHeap<Trigger> {
    if (trigger.watch === 'bid') {
      return trigger.direction === 'at_or_below' ? this.bidAtOrBelow : this.bidAtOrAbove;
    }
    return trigger.direction === 'at_or_below' ? this.askAtOrBelow : this.askAtOrAbove;
  }

  refresh(): void {
    this.bidBelowTop = this.bidAtOrBelow.peekPriority() ?? -Infinity;
    this.bidAboveTop = this.bidAtOrAbove.peekPriority() ?? Infinity;
    this.askBelowTop = this.askAtOrBelow.peekPriority() ?? -Infinity;
    this.askAboveTop = this.askAtOrAbove.peekPriority() ?? Infinity;
  }
}

/** Sorting more than this many fired triggers goes through Array#sort rather than in-place insertion. */
const INSERTION_SORT_MAX = 16;

export class TriggerIndex implements TriggerStore {
  readonly #groups = new Map<string, TickerGroup>();
  /** Every stored (frozen) trigger by key; its ticker, watch and direction locate its heap. */
  readonly #byKey = new Map<string, Trigger>();

  /** Inserts or replaces by key; the replacement may change ticker, level, watch and direction. O(log n). */
  upsert(trigger: Trigger): void {
    if (!Number.isSafeInteger(trigger.level)) {
      throw new RangeError(`trigger ${trigger.key} level ${trigger.level} is not an integer price`);
    }
    const stored: Trigger = Object.freeze({
      key: trigger.key,
      accountId: trigger.accountId,
      ticker: trigger.ticker,
      kind: trigger.kind,
      targetId: trigger.targetId,
      level: trigger.level,
      watch: trigger.watch,
      direction: trigger.direction,
    });
    const previous = this.#byKey.get(stored.key);
    const group = this.#groupFor(stored.ticker);
    const heap = group.heapFor(stored);
    if (previous !== undefined) {
      const previousGroup = this.#groupOf(previous);
      const previousHeap = previousGroup.heapFor(previous);
      if (previousHeap !== heap) {
        previousHeap.remove(previous.key);
        previousGroup.refresh();
      }
    }
    heap.upsert(stored.key, stored.level, stored);
    group.refresh();
    this.#byKey.set(stored.key, stored);
  }

  /** O(log n); false when absent. */
  remove(key: string): boolean {
    const stored = this.#byKey.get(key);
    if (stored === undefined) return false;
    this.#byKey.delete(key);
    const group = this.#groupOf(stored);
    group.heapFor(stored).remove(key);
    group.refresh();
    return true;
  }

  has(key: string): boolean {
    return this.#byKey.has(key);
  }

  get(key: string): Trigger | undefined {
    return this.#byKey.get(key);
  }

  /**
   * Removes every trigger crossed by this quote and appends it to `out`, sorted by key.
   * O(log n + fired). No allocation when nothing fires.
   */
  collect(ticker: string, bid: Price, ask: Price, out: Trigger[]): void {
    const group = this.#groups.get(ticker);
    if (group === undefined) return;
    // The quiet path: strictly between every cached top, nothing can fire.
    if (
      bid > group.bidBelowTop &&
      bid < group.bidAboveTop &&
      ask > group.askBelowTop &&
      ask < group.askAboveTop
    ) {
      return;
    }
    const start = out.length;
    group.bidAtOrBelow.drainThrough(bid, out);
    group.bidAtOrAbove.drainThrough(bid, out);
    group.askAtOrBelow.drainThrough(ask, out);
    group.askAtOrAbove.drainThrough(ask, out);
    const end = out.length;
    if (end === start) return;
    group.refresh();
    for (let index = start; index < end; index++) this.#byKey.delete((out[index] as Trigger).key);
    if (end - start > 1) sortByKeyFrom(out, start);
  }

  get size(): number {
    return this.#byKey.size;
  }

  sizeFor(ticker: string): number {
    return this.#groups.get(ticker)?.size ?? 0;
  }

  /** Every stored trigger, in no particular order. */
  values(): IterableIterator<Trigger> {
    return this.#byKey.values();
  }

  clear(): void {
    this.#groups.clear();
    this.#byKey.clear();
  }

  #groupFor(ticker: string): TickerGroup {
    let group = this.#groups.get(ticker);
    if (group === undefined) {
      // Empty groups are kept: tickers are few, and re-creating them on every order would churn.
      group = new TickerGroup();
      this.#groups.set(ticker, group);
    }
    return group;
  }

  #groupOf(stored: Trigger): TickerGroup {
    const group = this.#groups.get(stored.ticker);
    if (group === undefined) throw new Error(`trigger index lost the group of ${stored.key}`);
    return group;
  }
}

function compareByKey(a: Trigger, b: Trigger): number {
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}

/** Sorts `out[start..]` by key in place; keys within one collect are distinct, so the order is total. */
function sortByKeyFrom(out: Trigger[], start: number): void {
  const end = out.length;
  if (end - start <= INSERTION_SORT_MAX) {
    for (let index = start + 1; index < end; index++) {
      const item = out[index] as Trigger;
      let hole = index;
      while (hole > start && (out[hole - 1] as Trigger).key > item.key) {
        out[hole] = out[hole - 1] as Trigger;
        hole--;
      }
      out[hole] = item;
    }
    return;
  }
  const fired = out.slice(start).sort(compareByKey);
  for (let index = 0; index < fired.length; index++) out[start + index] = fired[index] as Trigger;
}
