/** Random methods on random paths. No `logout` and no clock mutation: those have their own phases. */
import fc from 'fast-check';
import { ADMIN_TOKEN } from '../test-server.ts';
import { QUERY_JUNK, bodyShape, encodeBody, encodeQuery } from './encoding.ts';
import { authArb, hostileId, type Api } from './ids-and-auth.ts';
import type { HostileRequest } from './raw-http.ts';
import { assemble } from './requests.ts';
import { fieldsArb, good } from './values.ts';
import type { World } from './world.ts';

/** Random methods on random paths. No `logout` and no clock mutation: those have their own phases. */
export function randomRouteArb(world: World): fc.Arbitrary<HostileRequest> {
  const segment = fc.oneof(
    {
      weight: 6,
      arbitrary: fc.constantFrom(
        'api',
        'v1',
        'v2',
        'admin',
        'accounts',
        'orders',
        'deals',
        'instruments',
        'quote',
        'quotes',
        'ticks',
        'users',
        'tokens',
        'revoke',
        'balance',
        'ledger',
        'fills',
        'feed',
        'clock',
        world.fuzz.accountId,
        world.victim.accountId,
        'AAPL.nq',
        'EURUSD',
        '1',
        '000000001',
      ),
    },
    {
      weight: 2,
      arbitrary: fc.constantFrom('', '.', '..', '%2e', '%2e%2e', '%2f', '%00', '%5c', ';', 'a;b=c', '~', '*'),
    },
    { weight: 2, arbitrary: hostileId() },
  );
  const prefix = fc.constantFrom(
    '/api/v1',
    '/api/v1',
    '/admin/v1',
    '/admin/v1',
    '',
    '/api',
    '/admin',
    '/api/v2',
    '/API/V1',
  );
  const method = fc.constantFrom(
    'GET',
    'POST',
    'PUT',
    'DELETE',
    'PATCH',
    'HEAD',
    'OPTIONS',
    'TRACE',
    'PROPFIND',
    'SEARCH',
    'MKCOL',
    'LOCK',
    'COPY',
    'PURGE',
    'REPORT',
    'QUERY',
  );
  const genericFields = fieldsArb({
    ticker: good('AAPL.nq'),
    side: good('buy'),
    volume: good(1),
    name: good('x'),
    stop_loss: good(90),
    amount: good(1),
  });
  return fc
    .record({
      method,
      prefix,
      segments: fc.array(segment, { maxLength: 6 }),
      slash: fc.boolean(),
      api: fc.constantFrom<Api>('public', 'admin'),
      query: fieldsArb({ limit: good(1), skip: good(0) }),
      queryJunk: fc.option(fc.constantFrom(...QUERY_JUNK), { freq: 4 }),
      fields: genericFields,
      shape: bodyShape,
      bodyless: fc.boolean(),
    })
    .chain((draft) =>
      authArb(world, draft.api, draft.api === 'admin' ? ADMIN_TOKEN : world.fuzz.token).map((auth) => {
        const path = `${draft.prefix}/${draft.segments.join('/')}${draft.slash ? '/' : ''}`;
        return assemble(
          'random route',
          draft.method,
          path + encodeQuery(draft.query, draft.queryJunk ?? undefined),
          auth,
          draft.bodyless ? {} : encodeBody(draft.fields, draft.shape),
        );
      }),
    );
}
