/**
 * The route table of the REST extensions for users under /ext/v1: the same bearer tokens as the
 * public API (401 without one), the same envelopes (400 with a `msg`). Not part of the 0.12.1
 * reference; docs/compatibility.md lists every extension.
 */
import { Type } from '@sinclair/typebox';
import * as Api from './public-api.ts';
import * as Ext from './ext-api.ts';
import { route } from './route-spec.ts';

export const EXT_PREFIX = '/ext/v1';

const errors = { 400: Api.ErrorResponse, 401: Api.ErrorResponse };
const security = [{ bearerAuth: [] }];

export const ExtRoutes = {
  candles: route('GET', '/instruments/:ticker/candles', {
    summary: 'Candles for charts (extension): bid OHLC per interval, oldest first',
    tags: ['Extensions'],
    security,
    params: Ext.CandleParams,
    querystring: Ext.CandlesQuery,
    response: { 200: Api.Ok(Type.Array(Ext.Candle)), ...errors },
  }),
};
