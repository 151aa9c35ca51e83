/**
 * Typed client for the public StocksTrader REST API. Paths and types come from the shared wire
 * contract's route table; the SDK imports no server code.
 *
 * @example
 * const client = new StocksTraderClient({ baseUrl: 'http://127.0.0.1:8080', token });
 * const [account] = await client.accounts();
 * const orderId = await client.placeOrder(account.id, { ticker: 'AAPL.nq', side: 'buy', type: 'market', volume: 1 });
 */
import type {
  Account,
  AccountState,
  Deal,
  DealsQuery,
  InstrumentConditions,
  InstrumentForAccount,
  InstrumentShort,
  ModifyDealBody,
  ModifyOrderBody,
  Order,
  OrdersQuery,
  PlaceOrderBody,
  Quote,
} from '../contract/public-api.ts';
import { PUBLIC_PREFIX, PublicRoutes as Routes } from '../contract/public-routes.ts';
import type { Candle, CandlesQuery } from '../contract/ext-api.ts';
import { EXT_PREFIX, ExtRoutes } from '../contract/ext-routes.ts';
import type { PathParams, RouteSpec } from '../contract/route-spec.ts';
import type { QuoteMessage } from '../contract/stream-api.ts';
import { reconnectingStream, type StreamOptions } from './event-stream.ts';
import { Transport, type RequestOptions, type TransportOptions } from './http.ts';
import { accountEventsDecoder, quotesDecoder, type AccountStreamItem } from './stream-decoders.ts';

export { StocksTraderError } from './http.ts';
export type { Reconnect, StreamOptions } from './event-stream.ts';
export type { AccountStreamItem } from './stream-decoders.ts';

export interface AccountEventsOptions extends StreamOptions {
  /** Start after this event id (0: the whole log kept); without it, with the next new event. */
  since?: number;
}

export class StocksTraderClient {
  readonly #http: Transport;
  readonly #options: TransportOptions;

  constructor(options: TransportOptions) {
    this.#http = new Transport(options);
    this.#options = options;
  }

  /**
   * An account's events as they are committed (extension, `GET /stream/v1/accounts/{id}/events`,
   * docs/streaming.md), in id order, each once. The iterator reconnects on its own after a lost
   * connection or a server restart, with back-off, resuming after the last id it saw, so the
   * consumer sees no gap and no duplicate. It throws {@link StocksTraderError} when the server
   * refuses the stream (401, 400 `account_not_found`, a bad `since`): that is not retried.
   *
   * Besides events it yields a `reset` item when the events asked for are no longer kept (or the
   * account was reset): the consumer then reads the account's state, orders and deals through the
   * REST API, and the iteration goes on with the events after `reset.last_id`.
   *
   * Leaving the loop, or aborting `options.signal`, closes the connection; an abort ends the loop
   * without an error.
   *
   * @example
   * for await (const item of client.events(accountId, { since: lastSeenId })) {
   *   if (item.type === 'reset') await reloadFromRest();
   *   else if (item.type === 'order_filled') console.log(item.order.id, item.order.filled_price);
   *   lastSeenId = item.type === 'reset' ? item.last_id : item.id;
   * }
   */
  events(
    accountId: string,
    options: AccountEventsOptions = {},
  ): AsyncGenerator<AccountStreamItem, void, undefined> {
    return reconnectingStream(this.#options, accountEventsDecoder(accountId, options.since), options);
  }

  /**
   * The quotes of some tickers (extension, `GET /stream/v1/quotes`): first each ticker's current
   * quote, then its new ones, conflated (a slow consumer gets the latest, never a backlog). After a
   * reconnection each ticker's current quote comes again. An unknown ticker, or more than 200, is
   * a {@link StocksTraderError} (400), thrown, not retried.
   *
   * @example
   * const stop = new AbortController();
   * for await (const quote of client.quotes(['AAPL.nq', 'EURUSD'], { signal: stop.signal })) {
   *   console.log(quote.ticker, quote.bid_price, quote.ask_price);
   * }
   */
  quotes(
    tickers: readonly string[],
    options: StreamOptions = {},
  ): AsyncGenerator<QuoteMessage, void, undefined> {
    return reconnectingStream(this.#options, quotesDecoder(tickers), options);
  }

  #call<R extends RouteSpec>(route: R, params: PathParams<R>, options?: RequestOptions) {
    return this.#http.call(PUBLIC_PREFIX, route, params, options);
  }

  /**
   * Candles for charts (extension, `GET /ext/v1/instruments/{ticker}/candles`): bid OHLC, oldest
   * first; with `from`, the first `limit` from it, otherwise the newest `limit` up to `to`.
   *
   * @example
   * const candles = await client.candles('EURUSD', { interval: '5m', limit: 288 }); // the last day
   */
  candles(ticker: string, query: CandlesQuery): Promise<Candle[]> {
    return this.#http.call(EXT_PREFIX, ExtRoutes.candles, { ticker }, { query });
  }

  /** Lists the caller's accounts. */
  accounts(): Promise<Account[]> {
    return this.#call(Routes.accounts, {});
  }

  /** Cash and margin state of one account. */
  accountState(accountId: string): Promise<AccountState> {
    return this.#call(Routes.accountState, { account_id: accountId });
  }

  /** @deprecated Use {@link accountInstruments}. */
  instruments(): Promise<InstrumentShort[]> {
    return this.#call(Routes.instruments, {});
  }

  accountInstruments(accountId: string): Promise<InstrumentForAccount[]> {
    return this.#call(Routes.accountInstruments, { account_id: accountId });
  }

  /** @deprecated Use {@link accountInstruments}. */
  instrument(accountId: string, ticker: string): Promise<InstrumentConditions> {
    return this.#call(Routes.accountInstrument, { account_id: accountId, ticker });
  }

  quote(accountId: string, ticker: string): Promise<Quote> {
    return this.#call(Routes.quote, { account_id: accountId, ticker });
  }

  /** Current orders, or a history search when a query is given. */
  orders(accountId: string, query: OrdersQuery = {}): Promise<Order[]> {
    return this.#call(Routes.orders, { account_id: accountId }, { query: { ...query } });
  }

  /** Open deals, or a history search when a query is given. */
  deals(accountId: string, query: DealsQuery = {}): Promise<Deal[]> {
    return this.#call(Routes.deals, { account_id: accountId }, { query: { ...query } });
  }

  /** Places an order and returns its id. */
  async placeOrder(accountId: string, order: PlaceOrderBody): Promise<string> {
    const data = await this.#call(Routes.placeOrder, { account_id: accountId }, { form: { ...order } });
    return data.order_id;
  }

  async modifyOrder(accountId: string, orderId: string, changes: ModifyOrderBody): Promise<void> {
    await this.#call(
      Routes.modifyOrder,
      { account_id: accountId, order_id: orderId },
      { form: { ...changes } },
    );
  }

  async cancelOrder(accountId: string, orderId: string): Promise<void> {
    await this.#call(Routes.cancelOrder, { account_id: accountId, order_id: orderId });
  }

  /** Sets, moves or clears (with 0) a deal's stop loss and take profit. */
  async modifyDeal(accountId: string, dealId: string, changes: ModifyDealBody): Promise<void> {
    await this.#call(Routes.modifyDeal, { account_id: accountId, deal_id: dealId }, { form: { ...changes } });
  }

  /** Closes an open deal at market. */
  async closeDeal(accountId: string, dealId: string): Promise<void> {
    await this.#call(Routes.closeDeal, { account_id: accountId, deal_id: dealId });
  }

  /** Revokes the token this client uses. */
  async logout(): Promise<void> {
    await this.#call(Routes.logout, {});
  }
}
