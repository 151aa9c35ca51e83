/**
 * The route table of the admin API under /admin/v1: JSON in and out with the public envelope,
 * guarded by the admin token.
 */
import { Type } from '@sinclair/typebox';
import * as Admin from './admin-api.ts';
import { AccountParams, ErrorResponse, Ok, SuccessResponse } from './public-api.ts';
import { route } from './route-spec.ts';

export const ADMIN_PREFIX = '/admin/v1';

const errors = { 400: ErrorResponse, 401: ErrorResponse };
const security = [{ adminAuth: [] }];
const tags = ['Admin'];

export const AdminRoutes = {
  createUser: route('POST', '/users', {
    tags,
    security,
    summary: 'Create a user',
    body: Admin.CreateUserBody,
    response: { 200: Ok(Admin.CreateUserData), ...errors },
  }),
  issueToken: route('POST', '/users/:user_id/tokens', {
    tags,
    security,
    summary: 'Issue a bearer token',
    params: Admin.UserIdParams,
    response: { 200: Ok(Admin.IssueTokenData), ...errors },
  }),
  revokeTokenById: route('DELETE', '/users/:user_id/tokens/:token_id', {
    tags,
    security,
    summary: 'Revoke a token by id',
    params: Admin.TokenParams,
    response: { 200: SuccessResponse, ...errors },
  }),
  revokeToken: route('POST', '/tokens/revoke', {
    tags,
    security,
    summary: 'Revoke a token',
    body: Admin.RevokeTokenBody,
    response: { 200: SuccessResponse, ...errors },
  }),
  createAccount: route('POST', '/accounts', {
    tags,
    security,
    summary: 'Create an account',
    body: Admin.CreateAccountBody,
    response: { 200: Ok(Admin.CreateAccountData), ...errors },
  }),
  account: route('GET', '/accounts/:account_id', {
    tags,
    security,
    summary: 'Account details and state',
    params: AccountParams,
    response: { 200: Ok(Type.Object({ account: Admin.AdminAccount, state: Type.Unknown() })), ...errors },
  }),
  updateAccount: route('PATCH', '/accounts/:account_id', {
    tags,
    security,
    summary: 'Rename or change status',
    params: AccountParams,
    body: Admin.PatchAccountBody,
    response: { 200: SuccessResponse, ...errors },
  }),
  adjustBalance: route('POST', '/accounts/:account_id/balance', {
    tags,
    security,
    summary: 'Deposit or withdraw',
    params: AccountParams,
    body: Admin.BalanceBody,
    response: { 200: Ok(Admin.BalanceData), ...errors },
  }),
  resetAccount: route('POST', '/accounts/:account_id/reset', {
    tags,
    security,
    summary: 'Reset an account to its opening state (optionally with a new opening balance)',
    params: AccountParams,
    body: Admin.ResetAccountBody,
    response: { 200: Ok(Admin.BalanceData), ...errors },
  }),
  reset: route('POST', '/reset', {
    tags,
    security,
    summary: 'Reset every account to its opening state; users, tokens and instruments stay',
    body: Type.Object({}),
    response: { 200: Ok(Admin.ResetData), ...errors },
  }),
  ledger: route('GET', '/accounts/:account_id/ledger', {
    tags,
    security,
    summary: 'Deposits and withdrawals',
    params: AccountParams,
    querystring: Admin.PageQuery,
    response: { 200: Ok(Type.Array(Admin.LedgerEntry)), ...errors },
  }),
  fills: route('GET', '/accounts/:account_id/fills', {
    tags,
    security,
    summary: 'Explained fills',
    params: AccountParams,
    querystring: Admin.PageQuery,
    response: { 200: Ok(Type.Array(Admin.Fill)), ...errors },
  }),
  putInstrument: route('PUT', '/instruments/:ticker', {
    tags,
    security,
    summary: 'Create or update an instrument',
    params: Admin.TickerParams,
    body: Admin.PutInstrumentBody,
    response: { 200: SuccessResponse, ...errors },
  }),
  putOverrides: route('PUT', '/accounts/:account_id/instruments/:ticker', {
    tags,
    security,
    summary: 'Override trading conditions for one account',
    params: Type.Object({
      account_id: AccountParams.properties.account_id,
      ticker: Admin.TickerParams.properties.ticker,
    }),
    body: Admin.PutOverridesBody,
    response: { 200: SuccessResponse, ...errors },
  }),
  setQuote: route('PUT', '/quotes/:ticker', {
    tags,
    security,
    summary: 'Set the current quote; crossed triggers fire before the reply',
    params: Admin.TickerParams,
    body: Admin.PutQuoteBody,
    response: { 200: Ok(Admin.AdminQuote), ...errors },
  }),
  quote: route('GET', '/quotes/:ticker', {
    tags,
    security,
    summary: 'Current quote',
    params: Admin.TickerParams,
    response: { 200: Ok(Admin.AdminQuote), ...errors },
  }),
  ticks: route('GET', '/quotes/:ticker/ticks', {
    tags,
    security,
    summary: 'Recent quotes of an instrument, oldest first (bounded history)',
    params: Admin.TickerParams,
    querystring: Admin.TicksQuery,
    response: { 200: Ok(Type.Array(Admin.AdminQuote)), ...errors },
  }),
  feed: route('GET', '/feed', {
    tags,
    security,
    summary: 'Market data feed status',
    response: { 200: Ok(Admin.FeedStatusData), ...errors },
  }),
  pauseFeed: route('POST', '/feed/pause', {
    tags,
    security,
    summary: 'Pause the feed',
    response: { 200: Ok(Admin.FeedStatusData), ...errors },
  }),
  resumeFeed: route('POST', '/feed/resume', {
    tags,
    security,
    summary: 'Resume the feed',
    response: { 200: Ok(Admin.FeedStatusData), ...errors },
  }),
  stepFeed: route('POST', '/feed/step', {
    tags,
    security,
    summary: 'Deliver the next quotes or seconds of a paused replay; replies once they are applied',
    body: Admin.FeedStepBody,
    response: { 200: Ok(Admin.FeedStepData), ...errors },
  }),
  clock: route('GET', '/clock', {
    tags,
    security,
    summary: 'Server clock',
    response: { 200: Ok(Admin.ClockData), ...errors },
  }),
  setClock: route('PUT', '/clock', {
    tags,
    security,
    summary: 'Set the clock: real, manual (frozen) or running (from a time, at a speed)',
    body: Admin.PutClockBody,
    response: { 200: Ok(Admin.ClockData), ...errors },
  }),
  advanceClock: route('POST', '/clock/advance', {
    tags,
    security,
    summary: 'Advance a manual or running clock',
    body: Admin.AdvanceClockBody,
    response: { 200: Ok(Admin.ClockData), ...errors },
  }),
};
