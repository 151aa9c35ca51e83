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
import { Transport, type RequestOptions, type TransportOptions } from './http.ts';

export { StocksTraderError } from './http.ts';

export class StocksTraderClient {
  readonly #http: Transport;

  constructor(options: TransportOptions) {
    this.#http = new Transport(options);
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
