/**
 * The route table of the public API under /api/v1 (spec 0.12.1): every route requires a bearer
 * token, and every error answers with the error envelope (400 or 401).
 */
import { Type } from '@sinclair/typebox';
import * as Api from './public-api.ts';
import { route } from './route-spec.ts';

export const PUBLIC_PREFIX = '/api/v1';

const errors = { 400: Api.ErrorResponse, 401: Api.ErrorResponse };
const security = [{ bearerAuth: [] }];

export const PublicRoutes = {
  logout: route('POST', '/logout', {
    summary: 'Logout',
    tags: ['Authorization'],
    security,
    response: { 200: Api.SuccessResponse, ...errors },
  }),
  instruments: route('GET', '/instruments', {
    summary: 'Instruments common info (deprecated)',
    tags: ['Instruments'],
    security,
    response: { 200: Api.Ok(Type.Array(Api.InstrumentShort)), ...errors },
  }),
  accounts: route('GET', '/accounts', {
    summary: 'Accounts',
    tags: ['Account'],
    security,
    response: { 200: Api.Ok(Type.Array(Api.Account)), ...errors },
  }),
  accountState: route('GET', '/accounts/:account_id', {
    summary: 'Account State',
    tags: ['Account'],
    security,
    params: Api.AccountParams,
    response: { 200: Api.Ok(Api.AccountState), ...errors },
  }),
  accountInstruments: route('GET', '/accounts/:account_id/instruments', {
    summary: 'Instruments with full details for a specific account',
    tags: ['Instruments'],
    security,
    params: Api.AccountParams,
    response: { 200: Api.Ok(Type.Array(Api.InstrumentForAccount)), ...errors },
  }),
  accountInstrument: route('GET', '/accounts/:account_id/instruments/:ticker', {
    summary: 'Instrument trading info (deprecated)',
    tags: ['Instruments'],
    security,
    params: Api.InstrumentParams,
    response: { 200: Api.Ok(Api.InstrumentConditions), ...errors },
  }),
  quote: route('GET', '/accounts/:account_id/instruments/:ticker/quote', {
    summary: 'Get quotes data',
    tags: ['Quotes'],
    security,
    params: Api.InstrumentParams,
    response: { 200: Api.Ok(Api.Quote), ...errors },
  }),
  orders: route('GET', '/accounts/:account_id/orders', {
    summary: 'Orders',
    tags: ['Account'],
    security,
    params: Api.AccountParams,
    querystring: Api.OrdersQuery,
    response: { 200: Api.Ok(Type.Array(Api.Order)), ...errors },
  }),
  deals: route('GET', '/accounts/:account_id/deals', {
    summary: 'Deals',
    tags: ['Account'],
    security,
    params: Api.AccountParams,
    querystring: Api.DealsQuery,
    response: { 200: Api.Ok(Type.Array(Api.Deal)), ...errors },
  }),
  placeOrder: route('POST', '/accounts/:account_id/orders', {
    summary: 'Place Order',
    tags: ['Trading'],
    security,
    params: Api.AccountParams,
    body: Api.PlaceOrderBody,
    response: { 200: Api.Ok(Api.PlaceOrderData), ...errors },
  }),
  modifyOrder: route('PUT', '/accounts/:account_id/orders/:order_id', {
    summary: 'Modify Order',
    tags: ['Trading'],
    security,
    params: Api.OrderParams,
    body: Api.ModifyOrderBody,
    response: { 200: Api.SuccessResponse, ...errors },
  }),
  cancelOrder: route('DELETE', '/accounts/:account_id/orders/:order_id', {
    summary: 'Cancel Order',
    tags: ['Trading'],
    security,
    params: Api.OrderParams,
    response: { 200: Api.SuccessResponse, ...errors },
  }),
  modifyDeal: route('PUT', '/accounts/:account_id/deals/:deal_id', {
    summary: 'Modify Deal',
    tags: ['Trading'],
    security,
    params: Api.DealParams,
    body: Api.ModifyDealBody,
    response: { 200: Api.SuccessResponse, ...errors },
  }),
  closeDeal: route('DELETE', '/accounts/:account_id/deals/:deal_id', {
    summary: 'Close Deal',
    tags: ['Trading'],
    security,
    params: Api.DealParams,
    response: { 200: Api.SuccessResponse, ...errors },
  }),
};
