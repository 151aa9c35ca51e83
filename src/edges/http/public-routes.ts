/**
 * The public StocksTrader API under /api/v1, exactly as the 0.12.1 reference documents it.
 * Every route requires a bearer token; every account id is checked against the token's user.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import * as Api from '../../contract/public-api.ts';
import { parsePrice, parseQuantity, parseTimestamp } from '../../application/parse-input.ts';
import type { TradingService, ListQuery } from '../../application/trading-service.ts';
import type { IdentityService } from '../../application/identity-service.ts';
import {
  accountStateToWire,
  accountToWire,
  conditionsToWire,
  dealToWire,
  instrumentShortToWire,
  orderToWire,
  quoteToWire,
} from './wire-format.ts';
import { sendError } from './error-handling.ts';
import type { AuthFailureThrottle } from './auth-failures.ts';

declare module 'fastify' {
  interface FastifyRequest {
    userId: string;
  }
}

export interface PublicRouteDeps {
  trading: TradingService;
  identity: IdentityService;
  authFailures: AuthFailureThrottle;
}

const errors = { 400: Api.ErrorResponse, 401: Api.ErrorResponse };
const security = [{ bearerAuth: [] }];

export function bearerToken(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (typeof header !== 'string') return undefined;
  const match = /^Bearer\s+(\S{1,512})\s*$/i.exec(header);
  return match?.[1];
}

export async function publicRoutes(scope: FastifyInstance, deps: PublicRouteDeps): Promise<void> {
  const app = scope.withTypeProvider<TypeBoxTypeProvider>();
  const { trading, identity, authFailures } = deps;

  app.decorateRequest('userId', '');
  app.addHook('onRequest', (request, reply, done) => {
    const token = bearerToken(request);
    if (!token) {
      sendError(reply, 401, 'missing bearer token: send Authorization: Bearer <token>', {
        error: 'unauthorized',
      });
      return;
    }
    // Most requests carry a token seen moments ago: those are admitted at once, with no promise
    // and no closure (every closure made per request costs: the dev loader names each one).
    const remembered = identity.rememberedUser(token);
    if (remembered) {
      request.userId = remembered;
      done();
      return;
    }
    if (!authFailures.admit(request, reply)) return;
    identity.authenticate(token).then((userId) => {
      if (userId) {
        authFailures.succeeded(request);
        request.userId = userId;
        done();
        return;
      }
      const msg = identity.isAdminToken(token)
        ? 'the admin token is not valid for the public API'
        : 'invalid or revoked token';
      sendError(reply, 401, msg, { error: 'unauthorized' });
    }, done);
  });

  app.post(
    '/logout',
    {
      schema: {
        summary: 'Logout',
        tags: ['Authorization'],
        security,
        response: { 200: Api.SuccessResponse, ...errors },
      },
    },
    async (request) => {
      const token = bearerToken(request);
      if (token) await identity.revokeToken(token);
      return { code: 'ok' as const };
    },
  );

  app.get(
    '/instruments',
    {
      schema: {
        summary: 'Instruments common info (deprecated)',
        tags: ['Instruments'],
        security,
        response: { 200: Api.Ok(Type.Array(Api.InstrumentShort)), ...errors },
      },
    },
    async () => ({ code: 'ok' as const, data: trading.instruments().map(instrumentShortToWire) }),
  );

  app.get(
    '/accounts',
    {
      schema: {
        summary: 'Accounts',
        tags: ['Account'],
        security,
        response: { 200: Api.Ok(Type.Array(Api.Account)), ...errors },
      },
    },
    async (request) => ({ code: 'ok' as const, data: trading.accounts(request.userId).map(accountToWire) }),
  );

  app.get(
    '/accounts/:account_id',
    {
      schema: {
        summary: 'Account State',
        tags: ['Account'],
        security,
        params: Api.AccountParams,
        response: { 200: Api.Ok(Api.AccountState), ...errors },
      },
    },
    async (request) => ({
      code: 'ok' as const,
      data: accountStateToWire(trading.accountState(request.userId, request.params.account_id)),
    }),
  );

  app.get(
    '/accounts/:account_id/instruments',
    {
      schema: {
        summary: 'Instruments with full details for a specific account',
        tags: ['Instruments'],
        security,
        params: Api.AccountParams,
        response: { 200: Api.Ok(Type.Array(Api.InstrumentForAccount)), ...errors },
      },
    },
    async (request) => ({
      code: 'ok' as const,
      data: trading
        .accountInstruments(request.userId, request.params.account_id)
        .map(({ instrument, conditions }) => ({
          ...instrumentShortToWire(instrument),
          ...conditionsToWire(conditions),
        })),
    }),
  );

  app.get(
    '/accounts/:account_id/instruments/:ticker',
    {
      schema: {
        summary: 'Instrument trading info (deprecated)',
        tags: ['Instruments'],
        security,
        params: Api.InstrumentParams,
        response: { 200: Api.Ok(Api.InstrumentConditions), ...errors },
      },
    },
    async (request) => {
      const { conditions } = trading.accountInstrument(
        request.userId,
        request.params.account_id,
        request.params.ticker,
      );
      return { code: 'ok' as const, data: conditionsToWire(conditions) };
    },
  );

  app.get(
    '/accounts/:account_id/instruments/:ticker/quote',
    {
      schema: {
        summary: 'Get quotes data',
        tags: ['Quotes'],
        security,
        params: Api.InstrumentParams,
        response: { 200: Api.Ok(Api.Quote), ...errors },
      },
    },
    async (request) => {
      const { quote } = trading.quote(request.userId, request.params.account_id, request.params.ticker);
      return { code: 'ok' as const, data: quoteToWire(quote) };
    },
  );

  app.get(
    '/accounts/:account_id/orders',
    {
      schema: {
        summary: 'Orders',
        tags: ['Account'],
        security,
        params: Api.AccountParams,
        querystring: Api.OrdersQuery,
        response: { 200: Api.Ok(Type.Array(Api.Order)), ...errors },
      },
    },
    async (request) => {
      const { status, ...rest } = request.query;
      const query: ListQuery = {
        ...listQuery(rest),
        ...(status === undefined ? {} : { statuses: [status] }),
      };
      const orders = await trading.listOrders(request.userId, request.params.account_id, query);
      return { code: 'ok' as const, data: orders.map(orderToWire) };
    },
  );

  app.get(
    '/accounts/:account_id/deals',
    {
      schema: {
        summary: 'Deals',
        tags: ['Account'],
        security,
        params: Api.AccountParams,
        querystring: Api.DealsQuery,
        response: { 200: Api.Ok(Type.Array(Api.Deal)), ...errors },
      },
    },
    async (request) => {
      const { status, ...rest } = request.query;
      const query: ListQuery = {
        ...listQuery(rest),
        ...(status === undefined ? {} : { statuses: [status] }),
      };
      const deals = await trading.listDeals(request.userId, request.params.account_id, query);
      return { code: 'ok' as const, data: deals.map(dealToWire) };
    },
  );

  app.post(
    '/accounts/:account_id/orders',
    {
      schema: {
        summary: 'Place Order',
        tags: ['Trading'],
        security,
        params: Api.AccountParams,
        body: Api.PlaceOrderBody,
        response: { 200: Api.Ok(Api.PlaceOrderData), ...errors },
      },
    },
    async (request) => {
      const body = request.body;
      const orderId = await trading.placeOrder(request.userId, request.params.account_id, {
        ticker: body.ticker,
        side: body.side,
        type: body.type,
        volume: parseQuantity('volume', body.volume),
        // A market order fills at the quote, so a price sent with one (the RTrader client sends a
        // price on every order) means nothing and is ignored; the schema still refuses a non-number.
        price: body.price === undefined || body.type === 'market' ? null : parsePrice('price', body.price),
        expiration: body.expiration === undefined ? 0 : parseTimestamp('expiration', body.expiration),
        stopLoss: optionalLevel('stop_loss', body.stop_loss),
        takeProfit: optionalLevel('take_profit', body.take_profit),
      });
      return { code: 'ok' as const, data: { order_id: orderId } };
    },
  );

  app.put(
    '/accounts/:account_id/orders/:order_id',
    {
      schema: {
        summary: 'Modify Order',
        tags: ['Trading'],
        security,
        params: Api.OrderParams,
        body: Api.ModifyOrderBody,
        response: { 200: Api.SuccessResponse, ...errors },
      },
    },
    async (request) => {
      const body = request.body;
      await trading.modifyOrder(request.userId, request.params.account_id, request.params.order_id, {
        ...(body.volume === undefined ? {} : { volume: parseQuantity('volume', body.volume) }),
        ...(body.price === undefined ? {} : { price: parsePrice('price', body.price) }),
        ...(body.expiration === undefined
          ? {}
          : { expiration: parseTimestamp('expiration', body.expiration) }),
        ...(body.stop_loss === undefined ? {} : { stopLoss: parsePrice('stop_loss', body.stop_loss, true) }),
        ...(body.take_profit === undefined
          ? {}
          : { takeProfit: parsePrice('take_profit', body.take_profit, true) }),
      });
      return { code: 'ok' as const };
    },
  );

  app.delete(
    '/accounts/:account_id/orders/:order_id',
    {
      schema: {
        summary: 'Cancel Order',
        tags: ['Trading'],
        security,
        params: Api.OrderParams,
        response: { 200: Api.SuccessResponse, ...errors },
      },
    },
    async (request) => {
      await trading.cancelOrder(request.userId, request.params.account_id, request.params.order_id);
      return { code: 'ok' as const };
    },
  );

  app.put(
    '/accounts/:account_id/deals/:deal_id',
    {
      schema: {
        summary: 'Modify Deal',
        tags: ['Trading'],
        security,
        params: Api.DealParams,
        body: Api.ModifyDealBody,
        response: { 200: Api.SuccessResponse, ...errors },
      },
    },
    async (request) => {
      const body = request.body;
      await trading.modifyDeal(request.userId, request.params.account_id, request.params.deal_id, {
        ...(body.stop_loss === undefined ? {} : { stopLoss: parsePrice('stop_loss', body.stop_loss, true) }),
        ...(body.take_profit === undefined
          ? {}
          : { takeProfit: parsePrice('take_profit', body.take_profit, true) }),
      });
      return { code: 'ok' as const };
    },
  );

  app.delete(
    '/accounts/:account_id/deals/:deal_id',
    {
      schema: {
        summary: 'Close Deal',
        tags: ['Trading'],
        security,
        params: Api.DealParams,
        response: { 200: Api.SuccessResponse, ...errors },
      },
    },
    async (request) => {
      await trading.closeDeal(request.userId, request.params.account_id, request.params.deal_id);
      return { code: 'ok' as const };
    },
  );
}

/** SL/TP on a new order: absent or 0 means none. */
function optionalLevel(field: string, value: number | undefined): number | null {
  if (value === undefined) return null;
  const level = parsePrice(field, value, true);
  return level === 0 ? null : level;
}

function listQuery(query: {
  history_from?: number;
  history_to?: number;
  skip?: number;
  limit?: number;
}): ListQuery {
  const result: ListQuery = {};
  if (query.history_from !== undefined) result.from = parseTimestamp('history_from', query.history_from);
  if (query.history_to !== undefined) result.to = parseTimestamp('history_to', query.history_to);
  if (query.skip !== undefined) result.skip = query.skip;
  if (query.limit !== undefined) result.limit = query.limit;
  return result;
}
