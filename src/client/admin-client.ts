/**
 * Typed client for the admin API (/admin/v1). The CLI and the test-suite drive servers with it.
 * Paths and answer types come from the contract's route table.
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
import { ADMIN_PREFIX, AdminRoutes as Routes } from '../contract/admin-routes.ts';
import type { AccountState } from '../contract/public-api.ts';
import type { PathParams, RouteSpec } from '../contract/route-spec.ts';
import { Transport, type RequestOptions, type TransportOptions } from './http.ts';

export class AdminClient {
  readonly #http: Transport;

  constructor(options: TransportOptions) {
    this.#http = new Transport(options);
  }

  #call<R extends RouteSpec>(route: R, params: PathParams<R>, options?: RequestOptions) {
    return this.#http.call(ADMIN_PREFIX, route, params, options);
  }

  async createUser(name: string): Promise<string> {
    const data = await this.#call(Routes.createUser, {}, { json: { name } });
    return data.user_id;
  }

  issueToken(userId: string): Promise<IssueTokenData> {
    return this.#call(Routes.issueToken, { user_id: userId }, { json: {} });
  }

  async revokeToken(token: string): Promise<void> {
    await this.#call(Routes.revokeToken, {}, { json: { token } });
  }

  async revokeTokenById(userId: string, tokenId: string): Promise<void> {
    await this.#call(Routes.revokeTokenById, { user_id: userId, token_id: tokenId });
  }

  async createAccount(account: CreateAccountBody): Promise<string> {
    const data = await this.#call(Routes.createAccount, {}, { json: account });
    return data.id;
  }

  async account(accountId: string): Promise<{ account: AdminAccount; state: AccountState }> {
    const { account, state } = await this.#call(Routes.account, { account_id: accountId });
    // The route's schema leaves the state open; it is the public API's account state.
    return { account, state: state as AccountState };
  }

  async updateAccount(accountId: string, changes: PatchAccountBody): Promise<void> {
    await this.#call(Routes.updateAccount, { account_id: accountId }, { json: changes });
  }

  /** Deposits (positive) or withdraws (negative); returns the new balance. */
  async adjustBalance(accountId: string, amount: number, comment?: string): Promise<number> {
    const data = await this.#call(
      Routes.adjustBalance,
      { account_id: accountId },
      { json: comment === undefined ? { amount } : { amount, comment } },
    );
    return data.balance;
  }

  /**
   * Puts an account back to its opening state: no orders, deals or history, the opening balance
   * (or `balance`, which becomes the new opening balance). Returns the balance.
   */
  async resetAccount(accountId: string, balance?: number): Promise<number> {
    const data = await this.#call(
      Routes.resetAccount,
      { account_id: accountId },
      { json: balance === undefined ? {} : { balance } },
    );
    return data.balance;
  }

  /** Puts every account back to its opening state; users, tokens and instruments stay. Returns how many. */
  async reset(): Promise<number> {
    const data = await this.#call(Routes.reset, {}, { json: {} });
    return data.accounts;
  }

  ledger(accountId: string, page: { skip?: number; limit?: number } = {}): Promise<LedgerEntry[]> {
    return this.#call(Routes.ledger, { account_id: accountId }, { query: page });
  }

  fills(accountId: string, page: { skip?: number; limit?: number } = {}): Promise<Fill[]> {
    return this.#call(Routes.fills, { account_id: accountId }, { query: page });
  }

  async putInstrument(ticker: string, fields: PutInstrumentBody): Promise<void> {
    await this.#call(Routes.putInstrument, { ticker }, { json: fields });
  }

  async putOverrides(accountId: string, ticker: string, overrides: PutOverridesBody): Promise<void> {
    await this.#call(Routes.putOverrides, { account_id: accountId, ticker }, { json: overrides });
  }

  /** Makes a quote current; every trigger it crosses has fired when this resolves. */
  setQuote(ticker: string, quote: PutQuoteBody): Promise<AdminQuote> {
    return this.#call(Routes.setQuote, { ticker }, { json: quote });
  }

  getQuote(ticker: string): Promise<AdminQuote> {
    return this.#call(Routes.quote, { ticker });
  }

  /** The newest quotes of an instrument, oldest first. */
  ticks(ticker: string, limit?: number): Promise<AdminQuote[]> {
    return this.#call(Routes.ticks, { ticker }, { query: { limit } });
  }

  feed(): Promise<FeedStatusData> {
    return this.#call(Routes.feed, {});
  }

  pauseFeed(): Promise<FeedStatusData> {
    return this.#call(Routes.pauseFeed, {}, { json: {} });
  }

  resumeFeed(): Promise<FeedStatusData> {
    return this.#call(Routes.resumeFeed, {}, { json: {} });
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
    return this.#call(Routes.stepFeed, {}, { json: step });
  }

  clock(): Promise<ClockData> {
    return this.#call(Routes.clock, {});
  }

  setClock(body: PutClockBody): Promise<ClockData> {
    return this.#call(Routes.setClock, {}, { json: body });
  }

  advanceClock(seconds: number): Promise<ClockData> {
    return this.#call(Routes.advanceClock, {}, { json: { seconds } });
  }
}
