/**
 * Typed client for the public StocksTrader REST API. Types come from the shared wire contract;
 * the SDK imports no server code.
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
  PlaceOrderData,
  Quote,
} from '../contract/public-api.ts';
import { Transport, type TransportOptions } from './http.ts';

export { StocksTraderError } from './http.ts';

const enc = encodeURIComponent;

export class StocksTraderClient {
  readonly #http: Transport;

  constructor(options: TransportOptions) {
    this.#http = new Transport(options);
  }

  /** Lists the caller's accounts. */
  accounts(): Promise<Account[]> {
    return this.#http.request('GET', '/api/v1/accounts');
  }

  /** Cash and margin state of one account. */
  accountState(accountId: string): Promise<AccountState> {
    return this.#http.request('GET', `/api/v1/accounts/${enc(accountId)}`);
  }

  /** @deprecated Use {@link accountInstruments}. */
  instruments(): Promise<InstrumentShort[]> {
    return this.#http.request('GET', '/api/v1/instruments');
  }

  accountInstruments(accountId: string): Promise<InstrumentForAccount[]> {
    return this.#http.request('GET', `/api/v1/accounts/${enc(accountId)}/instruments`);
  }

  /** @deprecated Use {@link accountInstruments}. */
  instrument(accountId: string, ticker: string): Promise<InstrumentConditions> {
    return this.#http.request('GET', `/api/v1/accounts/${enc(accountId)}/instruments/${enc(ticker)}`);
  }

  quote(accountId: string, ticker: string): Promise<Quote> {
    return this.#http.request('GET', `/api/v1/accounts/${enc(accountId)}/instruments/${enc(ticker)}/quote`);
  }

  /** Current orders, or a history search when a query is given. */
  orders(accountId: string, query: OrdersQuery = {}): Promise<Order[]> {
    return this.#http.request('GET', `/api/v1/accounts/${enc(accountId)}/orders`, { query: { ...query } });
  }

  /** Open deals, or a history search when a query is given. */
  deals(accountId: string, query: DealsQuery = {}): Promise<Deal[]> {
    return this.#http.request('GET', `/api/v1/accounts/${enc(accountId)}/deals`, { query: { ...query } });
  }

  /** Places an order and returns its id. */
  async placeOrder(accountId: string, order: PlaceOrderBody): Promise<string> {
    const data = await this.#http.request<PlaceOrderData>(
      'POST',
      `/api/v1/accounts/${enc(accountId)}/orders`,
      { form: { ...order } },
    );
    return data.order_id;
  }

  async modifyOrder(accountId: string, orderId: string, changes: ModifyOrderBody): Promise<void> {
    await this.#http.request('PUT', `/api/v1/accounts/${enc(accountId)}/orders/${enc(orderId)}`, {
      form: { ...changes },
    });
  }

  async cancelOrder(accountId: string, orderId: string): Promise<void> {
    await this.#http.request('DELETE', `/api/v1/accounts/${enc(accountId)}/orders/${enc(orderId)}`);
  }

  /** Sets, moves or clears (with 0) a deal's stop loss and take profit. */
  async modifyDeal(accountId: string, dealId: string, changes: ModifyDealBody): Promise<void> {
    await this.#http.request('PUT', `/api/v1/accounts/${enc(accountId)}/deals/${enc(dealId)}`, {
      form: { ...changes },
    });
  }

  /** Closes an open deal at market. */
  async closeDeal(accountId: string, dealId: string): Promise<void> {
    await this.#http.request('DELETE', `/api/v1/accounts/${enc(accountId)}/deals/${enc(dealId)}`);
  }

  /** Revokes the token this client uses. */
  async logout(): Promise<void> {
    await this.#http.request('POST', '/api/v1/logout');
  }
}
