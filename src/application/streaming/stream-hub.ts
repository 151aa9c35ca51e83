/**
 * The stream hub: hands committed account events and applied quotes to the subscriptions of this
 * process (account-subscription.ts, quote-subscription.ts).
 *
 * Invariants:
 * - `publish` is called only once the events' commit is durable (CommitPipeline, ClusterSync),
 *   per account in id order. Events of changes another process made reach this one as a `poke`
 *   (the cluster's account-change notification), and the subscriptions read them from storage.
 * - Nothing is done for an account or ticker nobody subscribes to: with no subscriber at all,
 *   `publish` and `quotes` return after one size check, and the commit path allocates nothing
 *   for them.
 */
import type { EngineEvent } from '../../engine/engine.ts';
import type { Quote } from '../../engine/model.ts';
import type { EventStore } from '../storage.ts';
import { AccountSubscription } from './account-subscription.ts';
import { QuoteSubscription } from './quote-subscription.ts';
import type { StreamSink } from './stream-sink.ts';

export interface StreamHubOptions {
  store: EventStore;
  /** Resolves once every commit submitted so far is durable. */
  durable: () => Promise<void>;
  /** The current quote of a ticker, sent first to a new quote subscription. */
  currentQuote: (ticker: string) => Quote | undefined;
}

export class StreamHub {
  readonly #options: StreamHubOptions;
  readonly #accounts = new Map<string, Set<AccountSubscription>>();
  readonly #tickers = new Map<string, Set<QuoteSubscription>>();

  constructor(options: StreamHubOptions) {
    this.#options = options;
  }

  /**
   * Subscribes to an account (whose ownership the caller has checked) from `since`, or from its
   * latest event. Resolves once caught up; `onError` hears of a storage read that failed later.
   */
  async subscribeAccount(
    accountId: string,
    since: number | undefined,
    sink: StreamSink,
    onError: (error: unknown) => void,
  ): Promise<AccountSubscription> {
    const subscription = new AccountSubscription({
      accountId,
      since,
      sink,
      store: this.#options.store,
      durable: this.#options.durable,
      onError,
    });
    let subscribers = this.#accounts.get(accountId);
    if (!subscribers) this.#accounts.set(accountId, (subscribers = new Set()));
    subscribers.add(subscription);
    try {
      await subscription.start();
    } catch (error) {
      this.unsubscribeAccount(subscription);
      throw error;
    }
    return subscription;
  }

  unsubscribeAccount(subscription: AccountSubscription): void {
    subscription.stop();
    const subscribers = this.#accounts.get(subscription.accountId);
    subscribers?.delete(subscription);
    if (subscribers?.size === 0) this.#accounts.delete(subscription.accountId);
  }

  /** Subscribes to known tickers: each one's current quote first, then its updates. */
  subscribeQuotes(tickers: readonly string[], sink: StreamSink): QuoteSubscription {
    const subscription = new QuoteSubscription(tickers, sink);
    for (const ticker of subscription.tickers) {
      let subscribers = this.#tickers.get(ticker);
      if (!subscribers) this.#tickers.set(ticker, (subscribers = new Set()));
      subscribers.add(subscription);
      const quote = this.#options.currentQuote(ticker);
      if (quote) subscription.offer(quote);
    }
    return subscription;
  }

  unsubscribeQuotes(subscription: QuoteSubscription): void {
    subscription.stop();
    for (const ticker of subscription.tickers) {
      const subscribers = this.#tickers.get(ticker);
      subscribers?.delete(subscription);
      if (subscribers?.size === 0) this.#tickers.delete(ticker);
    }
  }

  /** Whether anyone subscribes to any account: events need publishing only then. */
  hasAccountSubscribers(): boolean {
    return this.#accounts.size > 0;
  }

  /** Durable events, in id order per account. */
  publish(events: readonly EngineEvent[]): void {
    if (this.#accounts.size === 0 || events.length === 0) return;
    let start = 0;
    // Each run of one account's events is handed over in one call (a quote batch may interleave
    // accounts; each account's events stay in id order).
    for (let index = 1; index <= events.length; index += 1) {
      const accountId = events[start]?.accountId;
      if (index < events.length && events[index]?.accountId === accountId) continue;
      const subscribers = accountId === undefined ? undefined : this.#accounts.get(accountId);
      if (subscribers) {
        const run = events.slice(start, index);
        for (const subscription of subscribers) subscription.offer(run);
      }
      start = index;
    }
  }

  /** Another process may have written events of the account. */
  poke(accountId: string): void {
    const subscribers = this.#accounts.get(accountId);
    if (subscribers) for (const subscription of subscribers) subscription.poke();
  }

  /** Notifications may have been missed: every subscription reads storage again. */
  pokeAll(): void {
    for (const accountId of this.#accounts.keys()) this.poke(accountId);
  }

  /** The accounts were reset: their subscribers are told to resynchronise. */
  accountsReset(accountIds: readonly string[], onError: (error: unknown) => void): void {
    for (const accountId of accountIds) {
      const subscribers = this.#accounts.get(accountId);
      if (subscribers) for (const subscription of subscribers) subscription.resetNotice().catch(onError);
    }
  }

  /** Applied quotes: each subscribed ticker's latest is passed on (conflated per subscription). */
  quotes(quotes: readonly Quote[]): void {
    if (this.#tickers.size === 0) return;
    for (const quote of quotes) {
      const subscribers = this.#tickers.get(quote.ticker);
      if (subscribers) for (const subscription of subscribers) subscription.offer(quote);
    }
  }

  /** Open subscriptions, for metrics and tests. */
  get subscriptionCount(): number {
    let count = 0;
    for (const subscribers of this.#accounts.values()) count += subscribers.size;
    const quoteSubscriptions = new Set<QuoteSubscription>();
    for (const subscribers of this.#tickers.values()) for (const s of subscribers) quoteSubscriptions.add(s);
    return count + quoteSubscriptions.size;
  }
}
