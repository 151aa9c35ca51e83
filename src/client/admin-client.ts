/**
 * Typed client for the admin API (/admin/v1). The CLI and the test-suite drive servers with it.
 *
 * @example
 * const admin = new AdminClient({ baseUrl: 'http://127.0.0.1:8080', token: adminToken });
 * const userId = await admin.createUser('alice');
 * const { token } = await admin.issueToken(userId);
 */
import type {
  AdminAccount,
  AdminQuote,
  ClockData,
  FeedStatusData,
  FeedStepBody,
  FeedStepData,
  CreateAccountBody,
  Fill,
  IssueTokenData,
  LedgerEntry,
  PatchAccountBody,
  PutClockBody,
  PutInstrumentBody,
  PutOverridesBody,
  PutQuoteBody,
} from '../contract/admin-api.ts';
import type { AccountState } from '../contract/public-api.ts';
import { Transport, type TransportOptions } from './http.ts';

const enc = encodeURIComponent;

export class AdminClient {
  readonly #http: Transport;

  constructor(options: TransportOptions) {
    this.#http = new Transport(options);
  }

  async createUser(name: string): Promise<string> {
    const data = await this.#http.request<{ user_id: string }>('POST', '/admin/v1/users', { json: { name } });
    return data.user_id;
  }

  issueToken(userId: string): Promise<IssueTokenData> {
    return this.#http.request('POST', `/admin/v1/users/${enc(userId)}/tokens`, { json: {} });
  }

  async revokeToken(token: string): Promise<void> {
    await this.#http.request('POST', '/admin/v1/tokens/revoke', { json: { token } });
  }

  async revokeTokenById(userId: string, tokenId: string): Promise<void> {
    await this.#http.request('DELETE', `/admin/v1/users/${enc(userId)}/tokens/${enc(tokenId)}`);
  }

  async createAccount(account: CreateAccountBody): Promise<string> {
    const data = await this.#http.request<{ id: string }>('POST', '/admin/v1/accounts', { json: account });
    return data.id;
  }

  account(accountId: string): Promise<{ account: AdminAccount; state: AccountState }> {
    return this.#http.request('GET', `/admin/v1/accounts/${enc(accountId)}`);
  }

  async updateAccount(accountId: string, changes: PatchAccountBody): Promise<void> {
    await this.#http.request('PATCH', `/admin/v1/accounts/${enc(accountId)}`, { json: changes });
  }

  /** Deposits (positive) or withdraws (negative); returns the new balance. */
  async adjustBalance(accountId: string, amount: number, comment?: string): Promise<number> {
    const data = await this.#http.request<{ balance: number }>(
      'POST',
      `/admin/v1/accounts/${enc(accountId)}/balance`,
      {
        json: comment === undefined ? { amount } : { amount, comment },
      },
    );
    return data.balance;
  }

  /**
   * Puts an account back to its opening state: no orders, deals or history, the opening balance
   * (or `balance`, which becomes the new opening balance). Returns the balance.
   */
  async resetAccount(accountId: string, balance?: number): Promise<number> {
    const data = await this.#http.request<{ balance: number }>(
      'POST',
      `/admin/v1/accounts/${enc(accountId)}/reset`,
      { json: balance === undefined ? {} : { balance } },
    );
    return data.balance;
  }

  /** Puts every account back to its opening state; users, tokens and instruments stay. Returns how many. */
  async reset(): Promise<number> {
    const data = await this.#http.request<{ accounts: number }>('POST', '/admin/v1/reset', { json: {} });
    return data.accounts;
  }

  ledger(accountId: string, page: { skip?: number; limit?: number } = {}): Promise<LedgerEntry[]> {
    return this.#http.request('GET', `/admin/v1/accounts/${enc(accountId)}/ledger`, { query: page });
  }

  fills(accountId: string, page: { skip?: number; limit?: number } = {}): Promise<Fill[]> {
    return this.#http.request('GET', `/admin/v1/accounts/${enc(accountId)}/fills`, { query: page });
  }

  async putInstrument(ticker: string, fields: PutInstrumentBody): Promise<void> {
    await this.#http.request('PUT', `/admin/v1/instruments/${enc(ticker)}`, { json: fields });
  }

  async putOverrides(accountId: string, ticker: string, overrides: PutOverridesBody): Promise<void> {
    await this.#http.request('PUT', `/admin/v1/accounts/${enc(accountId)}/instruments/${enc(ticker)}`, {
      json: overrides,
    });
  }

  /** Makes a quote current; every trigger it crosses has fired when this resolves. */
  setQuote(ticker: string, quote: PutQuoteBody): Promise<AdminQuote> {
    return this.#http.request('PUT', `/admin/v1/quotes/${enc(ticker)}`, { json: quote });
  }

  getQuote(ticker: string): Promise<AdminQuote> {
    return this.#http.request('GET', `/admin/v1/quotes/${enc(ticker)}`);
  }

  /** The newest quotes of an instrument, oldest first. */
  ticks(ticker: string, limit?: number): Promise<AdminQuote[]> {
    return this.#http.request('GET', `/admin/v1/quotes/${enc(ticker)}/ticks`, { query: { limit } });
  }

  feed(): Promise<FeedStatusData> {
    return this.#http.request('GET', '/admin/v1/feed');
  }

  pauseFeed(): Promise<FeedStatusData> {
    return this.#http.request('POST', '/admin/v1/feed/pause', { json: {} });
  }

  resumeFeed(): Promise<FeedStatusData> {
    return this.#http.request('POST', '/admin/v1/feed/resume', { json: {} });
  }

  /**
   * Delivers the next quotes (or seconds of data time) of a paused replay; it stays paused. Resolves
   * once they are applied and durable, so every trigger they cross has fired.
   *
   * @example
   * const status = await admin.stepFeed({ quotes: 10 }); // or { seconds: 60 }
   * console.log(status.delivered, status.detail.data_time);
   */
  stepFeed(step: FeedStepBody): Promise<FeedStepData> {
    return this.#http.request('POST', '/admin/v1/feed/step', { json: step });
  }

  clock(): Promise<ClockData> {
    return this.#http.request('GET', '/admin/v1/clock');
  }

  setClock(body: PutClockBody): Promise<ClockData> {
    return this.#http.request('PUT', '/admin/v1/clock', { json: body });
  }

  advanceClock(seconds: number): Promise<ClockData> {
    return this.#http.request('POST', '/admin/v1/clock/advance', { json: { seconds } });
  }
}
