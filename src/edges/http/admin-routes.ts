/**
 * The admin API under /admin/v1: the control plane for operators, tests and demos.
 * JSON in and out with the public envelope; guarded by the admin token, which only works here.
 */
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import * as Admin from '../../contract/admin-api.ts';
import { AccountParams, ErrorResponse, Ok, SuccessResponse } from '../../contract/public-api.ts';
import { AppError, invalid } from '../../application/errors.ts';
import type { IdentityService } from '../../application/identity-service.ts';
import { parseMoney, parsePrice, parseQuantity } from '../../application/parse-input.ts';
import type { TradingService } from '../../application/trading-service.ts';
import type { ClockControl } from '../../application/clock-control.ts';
import type { ConditionOverrides, Instrument, Quote } from '../../engine/model.ts';
import type { Feed, FeedStatus } from '../../application/ports.ts';
import {
  accountStateToWire,
  adminAccountToWire,
  fillToWire,
  ledgerToWire,
  money,
  price,
} from './wire-format.ts';
import { bearerToken } from './public-routes.ts';
import { sendError } from './error-handling.ts';
import type { AuthFailureThrottle } from './auth-failures.ts';

export interface AdminRouteDeps {
  trading: TradingService;
  identity: IdentityService;
  clock: ClockControl;
  /** The running feed; undefined for the manual feed. */
  feed: Feed | undefined;
  authFailures: AuthFailureThrottle;
}

const errors = { 400: ErrorResponse, 401: ErrorResponse };
const security = [{ adminAuth: [] }];
const tags = ['Admin'];

export async function adminRoutes(scope: FastifyInstance, deps: AdminRouteDeps): Promise<void> {
  const app = scope.withTypeProvider<TypeBoxTypeProvider>();
  const { trading, identity, clock, feed, authFailures } = deps;

  app.addHook('onRequest', (request, reply, done) => {
    const token = bearerToken(request);
    if (token && !authFailures.admit(request, reply)) return;
    if (!token || !identity.isAdminToken(token)) {
      sendError(reply, 401, 'admin token required: send Authorization: Bearer <admin token>', {
        error: 'unauthorized',
      });
      return;
    }
    authFailures.succeeded(request);
    done();
  });

  app.post(
    '/users',
    {
      schema: {
        tags,
        security,
        summary: 'Create a user',
        body: Admin.CreateUserBody,
        response: { 200: Ok(Admin.CreateUserData), ...errors },
      },
    },
    async (request) => ({
      code: 'ok' as const,
      data: { user_id: await identity.createUser(request.body.name) },
    }),
  );

  app.post(
    '/users/:user_id/tokens',
    {
      schema: {
        tags,
        security,
        summary: 'Issue a bearer token',
        params: Admin.UserIdParams,
        response: { 200: Ok(Admin.IssueTokenData), ...errors },
      },
    },
    async (request) => {
      const { token, tokenId } = await identity.issueToken(request.params.user_id);
      return { code: 'ok' as const, data: { token, token_id: tokenId } };
    },
  );

  app.delete(
    '/users/:user_id/tokens/:token_id',
    {
      schema: {
        tags,
        security,
        summary: 'Revoke a token by id',
        params: Admin.TokenParams,
        response: { 200: SuccessResponse, ...errors },
      },
    },
    async (request) => {
      await identity.revokeTokenById(request.params.user_id, request.params.token_id);
      return { code: 'ok' as const };
    },
  );

  app.post(
    '/tokens/revoke',
    {
      schema: {
        tags,
        security,
        summary: 'Revoke a token',
        body: Admin.RevokeTokenBody,
        response: { 200: SuccessResponse, ...errors },
      },
    },
    async (request) => {
      await identity.revokeToken(request.body.token);
      return { code: 'ok' as const };
    },
  );

  app.post(
    '/accounts',
    {
      schema: {
        tags,
        security,
        summary: 'Create an account',
        body: Admin.CreateAccountBody,
        response: { 200: Ok(Admin.CreateAccountData), ...errors },
      },
    },
    async (request) => {
      const body = request.body;
      const account = await trading.createAccount({
        userId: body.user_id,
        name: body.name,
        type: body.type,
        system: body.system,
        currency: body.currency,
        balance: body.balance === undefined ? 0 : parseMoney('balance', body.balance),
      });
      return { code: 'ok' as const, data: { id: account.id } };
    },
  );

  app.get(
    '/accounts/:account_id',
    {
      schema: {
        tags,
        security,
        summary: 'Account details and state',
        params: AccountParams,
        response: { 200: Ok(Type.Object({ account: Admin.AdminAccount, state: Type.Unknown() })), ...errors },
      },
    },
    async (request) => {
      const book = trading.requireBook(null, request.params.account_id);
      const state = accountStateToWire(trading.accountState(null, book.account.id));
      return { code: 'ok' as const, data: { account: adminAccountToWire(book.account), state } };
    },
  );

  app.patch(
    '/accounts/:account_id',
    {
      schema: {
        tags,
        security,
        summary: 'Rename or change status',
        params: AccountParams,
        body: Admin.PatchAccountBody,
        response: { 200: SuccessResponse, ...errors },
      },
    },
    async (request) => {
      const { name, status } = request.body;
      if (name === undefined && status === undefined) throw invalid('nothing to change: give name or status');
      await trading.updateAccount(request.params.account_id, {
        ...(name === undefined ? {} : { name }),
        ...(status === undefined ? {} : { status }),
      });
      return { code: 'ok' as const };
    },
  );

  app.post(
    '/accounts/:account_id/balance',
    {
      schema: {
        tags,
        security,
        summary: 'Deposit or withdraw',
        params: AccountParams,
        body: Admin.BalanceBody,
        response: { 200: Ok(Admin.BalanceData), ...errors },
      },
    },
    async (request) => {
      const amount = parseMoney('amount', request.body.amount);
      const comment = request.body.comment ?? (amount >= 0 ? 'deposit' : 'withdrawal');
      const balance = await trading.adjustBalance(request.params.account_id, amount, comment);
      return { code: 'ok' as const, data: { balance: balance / 100 } };
    },
  );

  app.post(
    '/accounts/:account_id/reset',
    {
      schema: {
        tags,
        security,
        summary: 'Reset an account to its opening state (optionally with a new opening balance)',
        params: AccountParams,
        body: Admin.ResetAccountBody,
        response: { 200: Ok(Admin.BalanceData), ...errors },
      },
    },
    async (request) => {
      const { balance } = request.body;
      const reset = await trading.resetAccount(
        request.params.account_id,
        balance === undefined ? undefined : parseMoney('balance', balance),
      );
      return { code: 'ok' as const, data: { balance: money(reset) } };
    },
  );

  app.post(
    '/reset',
    {
      schema: {
        tags,
        security,
        summary: 'Reset every account to its opening state; users, tokens and instruments stay',
        body: Type.Object({}),
        response: { 200: Ok(Admin.ResetData), ...errors },
      },
    },
    async () => ({ code: 'ok' as const, data: { accounts: await trading.resetAllAccounts() } }),
  );

  app.get(
    '/accounts/:account_id/ledger',
    {
      schema: {
        tags,
        security,
        summary: 'Deposits and withdrawals',
        params: AccountParams,
        querystring: Admin.PageQuery,
        response: { 200: Ok(Type.Array(Admin.LedgerEntry)), ...errors },
      },
    },
    async (request) => {
      const entries = await trading.listLedger(request.params.account_id, page(request.query));
      return { code: 'ok' as const, data: entries.map(ledgerToWire) };
    },
  );

  app.get(
    '/accounts/:account_id/fills',
    {
      schema: {
        tags,
        security,
        summary: 'Explained fills',
        params: AccountParams,
        querystring: Admin.PageQuery,
        response: { 200: Ok(Type.Array(Admin.Fill)), ...errors },
      },
    },
    async (request) => {
      const fills = await trading.listFills(request.params.account_id, page(request.query));
      return { code: 'ok' as const, data: fills.map(fillToWire) };
    },
  );

  app.put(
    '/instruments/:ticker',
    {
      schema: {
        tags,
        security,
        summary: 'Create or update an instrument',
        params: Admin.TickerParams,
        body: Admin.PutInstrumentBody,
        response: { 200: SuccessResponse, ...errors },
      },
    },
    async (request) => {
      await trading.putInstrument(
        instrumentFrom(request.params.ticker, request.body, trading.engine.instrument(request.params.ticker)),
      );
      return { code: 'ok' as const };
    },
  );

  app.put(
    '/accounts/:account_id/instruments/:ticker',
    {
      schema: {
        tags,
        security,
        summary: 'Override trading conditions for one account',
        params: Type.Object({
          account_id: AccountParams.properties.account_id,
          ticker: Admin.TickerParams.properties.ticker,
        }),
        body: Admin.PutOverridesBody,
        response: { 200: SuccessResponse, ...errors },
      },
    },
    async (request) => {
      await trading.putOverrides(
        request.params.account_id,
        request.params.ticker,
        overridesFrom(request.body),
      );
      return { code: 'ok' as const };
    },
  );

  app.put(
    '/quotes/:ticker',
    {
      schema: {
        tags,
        security,
        summary: 'Set the current quote; crossed triggers fire before the reply',
        params: Admin.TickerParams,
        body: Admin.PutQuoteBody,
        response: { 200: Ok(Admin.AdminQuote), ...errors },
      },
    },
    async (request) => {
      const instrument = trading.requireInstrument(request.params.ticker);
      const body = request.body;
      const quote: Quote = {
        ticker: instrument.ticker,
        bid: onGrid('bid', parsePrice('bid', body.bid), instrument),
        ask: onGrid('ask', parsePrice('ask', body.ask), instrument),
        time: trading.now(),
      };
      if (quote.bid > quote.ask) throw invalid('bid must not be above ask');
      if (body.last !== undefined) {
        quote.last = onGrid('last', parsePrice('last', body.last), instrument);
        quote.lastTime = quote.time;
      }
      await trading.ingestQuotes([quote]);
      return { code: 'ok' as const, data: adminQuote(quote) };
    },
  );

  app.get(
    '/quotes/:ticker',
    {
      schema: {
        tags,
        security,
        summary: 'Current quote',
        params: Admin.TickerParams,
        response: { 200: Ok(Admin.AdminQuote), ...errors },
      },
    },
    async (request) => {
      const instrument = trading.requireInstrument(request.params.ticker);
      const quote = trading.engine.currentQuote(instrument.ticker);
      if (!quote) throw new AppError('no_quote', `no quote for ${instrument.ticker}`);
      return { code: 'ok' as const, data: adminQuote(quote) };
    },
  );

  app.get(
    '/quotes/:ticker/ticks',
    {
      schema: {
        tags,
        security,
        summary: 'Recent quotes of an instrument, oldest first (bounded history)',
        params: Admin.TickerParams,
        querystring: Admin.TicksQuery,
        response: { 200: Ok(Type.Array(Admin.AdminQuote)), ...errors },
      },
    },
    async (request) => {
      const limit = Math.min(request.query.limit ?? 100, 1000);
      return { code: 'ok' as const, data: trading.recentTicks(request.params.ticker, limit).map(adminQuote) };
    },
  );

  const feedStatus = (): FeedStatus => feed?.status() ?? { name: 'manual', state: 'running', detail: {} };
  app.get(
    '/feed',
    {
      schema: {
        tags,
        security,
        summary: 'Market data feed status',
        response: { 200: Ok(Admin.FeedStatusData), ...errors },
      },
    },
    async () => ({ code: 'ok' as const, data: feedStatus() }),
  );
  for (const action of ['pause', 'resume'] as const) {
    app.post(
      `/feed/${action}`,
      {
        schema: {
          tags,
          security,
          summary: `${action === 'pause' ? 'Pause' : 'Resume'} the feed`,
          response: { 200: Ok(Admin.FeedStatusData), ...errors },
        },
      },
      async () => {
        const control = feed?.[action];
        if (!feed || !control) throw invalid(`the ${feedStatus().name} feed cannot ${action}`);
        control.call(feed);
        return { code: 'ok' as const, data: feedStatus() };
      },
    );
  }

  app.post(
    '/feed/step',
    {
      schema: {
        tags,
        security,
        summary: 'Deliver the next quotes or seconds of a paused replay; replies once they are applied',
        body: Admin.FeedStepBody,
        response: { 200: Ok(Admin.FeedStepData), ...errors },
      },
    },
    async (request) => {
      const { quotes, seconds } = request.body;
      if ((quotes === undefined) === (seconds === undefined)) {
        throw invalid('give either quotes (how many quotes) or seconds (how much data time) to step');
      }
      if (seconds !== undefined && Math.round(seconds * 1000) < 1) {
        throw invalid('seconds must be at least 0.001: the replay steps in whole milliseconds');
      }
      const step = feed?.step;
      if (!feed || !step) {
        throw new AppError('feed_state', `the ${feedStatus().name} feed cannot step: only a replay can`);
      }
      const outcome = await step.call(feed, quotes === undefined ? { seconds: seconds ?? 0 } : { quotes });
      if ('refused' in outcome) throw new AppError('feed_state', outcome.refused);
      // Expirations and stop-outs run at the clock the step moved to, before the reply.
      await trading.tick();
      return { code: 'ok' as const, data: { ...feedStatus(), delivered: outcome.delivered } };
    },
  );

  app.get(
    '/clock',
    {
      schema: { tags, security, summary: 'Server clock', response: { 200: Ok(Admin.ClockData), ...errors } },
    },
    async () => ({ code: 'ok' as const, data: clock.view() }),
  );

  app.put(
    '/clock',
    {
      schema: {
        tags,
        security,
        summary: 'Set the clock: real, manual (frozen) or running (from a time, at a speed)',
        body: Admin.PutClockBody,
        response: { 200: Ok(Admin.ClockData), ...errors },
      },
    },
    async (request) => {
      const { mode, now, speed } = request.body;
      if (mode !== 'running' && speed !== undefined) throw invalid('speed is only for mode running');
      if (mode === 'real' && now !== undefined)
        throw invalid('now is not allowed for mode real: real time is now');
      const nowMs = now === undefined ? {} : { nowMs: now * 1000 };
      await clock.set(
        mode === 'real'
          ? { mode }
          : mode === 'manual'
            ? { mode, ...nowMs }
            : { mode, ...nowMs, ...(speed === undefined ? {} : { speed }) },
      );
      return { code: 'ok' as const, data: clock.view() };
    },
  );

  app.post(
    '/clock/advance',
    {
      schema: {
        tags,
        security,
        summary: 'Advance a manual or running clock',
        body: Admin.AdvanceClockBody,
        response: { 200: Ok(Admin.ClockData), ...errors },
      },
    },
    async (request) => {
      await clock.advance(Math.round(request.body.seconds * 1000));
      return { code: 'ok' as const, data: clock.view() };
    },
  );
}

function page(query: { skip?: number; limit?: number }): { skip: number; limit: number } {
  return { skip: query.skip ?? 0, limit: Math.min(query.limit ?? 100, 500) };
}

function adminQuote(quote: Quote): Admin.AdminQuote {
  const wire: Admin.AdminQuote = {
    ticker: quote.ticker,
    bid: price(quote.bid),
    ask: price(quote.ask),
    time: quote.time,
  };
  if (quote.last !== undefined) wire.last = price(quote.last);
  return wire;
}

function onGrid(field: string, value: number, instrument: Instrument): number {
  if (value % instrument.minTick !== 0) {
    throw invalid(
      `${field} ${price(value)} is not on the min_tick grid ${price(instrument.minTick)} of ${instrument.ticker}`,
    );
  }
  return value;
}

function overridesFrom(body: Admin.PutOverridesBody): ConditionOverrides {
  const overrides: ConditionOverrides = {};
  if (body.min_volume !== undefined) overrides.minVolume = parseQuantity('min_volume', body.min_volume);
  if (body.max_volume !== undefined) overrides.maxVolume = parseQuantity('max_volume', body.max_volume);
  if (body.volume_step !== undefined) overrides.volumeStep = parseQuantity('volume_step', body.volume_step);
  if (body.min_tick !== undefined) overrides.minTick = parsePrice('min_tick', body.min_tick);
  if (body.leverage !== undefined) overrides.leverage = parseQuantity('leverage', body.leverage);
  if (body.trade_mode !== undefined) overrides.tradeMode = body.trade_mode;
  return overrides;
}

/** Merges an upsert body into the existing instrument, or builds a new one (which needs every condition). */
function instrumentFrom(
  ticker: string,
  body: Admin.PutInstrumentBody,
  existing: Instrument | undefined,
): Instrument {
  const required = [
    'contract_size',
    'min_volume',
    'max_volume',
    'volume_step',
    'min_tick',
    'leverage',
    'quote_currency',
  ] as const;
  if (!existing) {
    const missing = required.filter((field) => body[field] === undefined);
    if (missing.length > 0) throw invalid(`a new instrument needs ${missing.join(', ')}`);
  }
  const base: Instrument = existing ?? {
    ticker,
    description: ticker,
    contractSize: 0,
    units: 'Share(s)',
    minVolume: 0,
    maxVolume: 0,
    volumeStep: 0,
    minTick: 0,
    leverage: 0,
    tradeMode: 'full',
    quoteCurrency: 'USD',
    calendar: 'always',
    volatility: 0.2,
    spreadTicks: 2,
    referencePrice: 0,
  };
  const next: Instrument = { ...base, ...overridesFrom(body) };
  if (body.description !== undefined) next.description = body.description;
  if (body.units !== undefined) next.units = body.units;
  if (body.contract_size !== undefined)
    next.contractSize = parseQuantity('contract_size', body.contract_size);
  if (body.quote_currency !== undefined) next.quoteCurrency = body.quote_currency;
  if (body.calendar !== undefined) next.calendar = body.calendar;
  if (body.volatility !== undefined) next.volatility = body.volatility;
  if (body.spread_ticks !== undefined) next.spreadTicks = body.spread_ticks;
  if (body.reference_price !== undefined)
    next.referencePrice = parsePrice('reference_price', body.reference_price);
  if (next.minVolume > next.maxVolume) throw invalid('min_volume must not exceed max_volume');
  if (next.minVolume % next.volumeStep !== 0) throw invalid('min_volume must be a multiple of volume_step');
  if (next.leverage > 1_000_000) throw invalid('leverage is a margin ratio and must be at most 1');
  if (next.referencePrice === 0) next.referencePrice = next.minTick * 10_000;
  if (next.referencePrice % next.minTick !== 0) throw invalid('reference_price must be on the min_tick grid');
  return next;
}
