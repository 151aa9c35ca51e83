/**
 * Invalid-only mutations against the victim (the state-unchanged burst): every request is one the
 * server must refuse, so the victim's state may change only by the `rejected` orders that business
 * rejections record (`RECORDED_REJECTIONS`).
 */
import fc from 'fast-check';
import { PublicRoutes as P } from '../../../src/contract/public-routes.ts';
import { AdminRoutes as A } from '../../../src/contract/admin-routes.ts';
import { ADMIN_TOKEN } from '../test-server.ts';
import {
  badDealChange,
  badNumber,
  badOrder,
  badOrderChange,
  modifyDealBase,
  modifyOrderBase,
  orderBase,
} from './burst-bodies.ts';
import { encodeForm, encodeJson } from './encoding.ts';
import { idArb, idVariants } from './ids-and-auth.ts';
import { adm, pub } from './paths.ts';
import { printable, type HostileRequest } from './raw-http.ts';
import { js, type Fields } from './values.ts';
import type { World } from './world.ts';

/** Rejection codes of a new order that the engine records as a `rejected` order. */
export const RECORDED_REJECTIONS = new Set([
  'account_status',
  'invalid_volume',
  'invalid_price',
  'invalid_expiration',
  'invalid_stop_loss',
  'invalid_take_profit',
  'trade_mode',
  'market_closed',
  'no_quote',
  'stale_quote',
  'no_conversion_rate',
  'insufficient_margin',
]);

type Auth = fc.Arbitrary<string | undefined>;
interface Aim {
  method: string;
  target: string;
  fields?: Fields;
  /** An Authorization header that replaces the generated one. */
  auth?: string;
}

const encodingArb = fc.record({
  kind: fc.constantFrom<'json' | 'form'>('json', 'form'),
  contentType: fc.constantFrom(
    'application/json',
    'application/x-www-form-urlencoded',
    undefined,
    'text/plain',
    'application/json; charset=utf-8',
  ),
});

/** Requests at what `aims` gives, with a header from `auth`; a body, JSON or form, where it has fields. */
function aimed(label: string, auth: Auth, aims: fc.Arbitrary<Aim>): fc.Arbitrary<HostileRequest> {
  return fc.tuple(auth, aims, encodingArb).map(([generated, aim, encoding]) => {
    const { method, target, fields } = aim;
    const header = aim.auth ?? generated;
    const headers: [string, string][] = [];
    if (header !== undefined) headers.push(['Authorization', header]);
    let body: Buffer | undefined;
    if (fields !== undefined) {
      body = Buffer.from(encoding.kind === 'json' ? encodeJson(fields) : encodeForm(fields), 'utf8');
      if (encoding.contentType !== undefined) headers.push(['Content-Type', encoding.contentType]);
    }
    return printable({ method, target, headers, ...(body === undefined ? {} : { body }), label });
  });
}

/** Requests with one method; the target and the fields may be fixed or generated. */
function mutation(
  label: string,
  method: string,
  target: string | fc.Arbitrary<string>,
  auth: Auth,
  fields?: fc.Arbitrary<Fields>,
): fc.Arbitrary<HostileRequest> {
  const targets = typeof target === 'string' ? fc.constant(target) : target;
  const aims =
    fields === undefined
      ? targets.map((path): Aim => ({ method, target: path }))
      : fc.tuple(targets, fields).map(([path, body]): Aim => ({ method, target: path, fields: body }));
  return aimed(label, auth, aims);
}

/** The fields of a new account, with the ones given replaced or added. */
function accountFields(userId: string, changes: Record<string, unknown>): Fields {
  const draft = { user_id: userId, name: 'x', type: 'demo', system: 'netting', currency: 'USD', ...changes };
  return Object.entries(draft).map(([key, value]) => [key, js(value)]);
}

export function invalidBurstArb(world: World): fc.Arbitrary<HostileRequest> {
  const victim = world.victim;
  const ids = world.victimIds;
  const account_id = victim.accountId;
  const acct = pub(P.accountState, { account_id });
  const order = (order_id: string): string => pub(P.modifyOrder, { account_id, order_id });
  const deal = (deal_id: string): string => pub(P.modifyDeal, { account_id, deal_id });
  // Auth aimed at the victim: its own token mostly; otherwise garbage, the admin token or a stranger's.
  const victimAuth = fc.oneof(
    { weight: 8, arbitrary: fc.constant<string | undefined>(`Bearer ${victim.token}`) },
    {
      weight: 2,
      arbitrary: fc.constantFrom<string | undefined>(
        undefined,
        'Bearer',
        `Bearer ${ADMIN_TOKEN}`,
        `Bearer ${world.revokedToken}`,
        `Bearer ${victim.token}x`,
        `bearer  ${'z'.repeat(3000)}`,
      ),
    },
    { weight: 1, arbitrary: fc.constant<string | undefined>(`Bearer ${world.other.token}`) },
  );
  const adminAuth = fc.oneof(
    { weight: 8, arbitrary: fc.constant<string | undefined>(`Bearer ${ADMIN_TOKEN}`) },
    {
      weight: 1,
      arbitrary: fc.constantFrom<string | undefined>(undefined, `Bearer ${victim.token}`, 'Bearer x'),
    },
  );
  // Without the stranger's token: a valid order sent with it to the stranger's own account would fill.
  const victimOnlyAuth = victimAuth.filter((auth) => auth !== `Bearer ${world.other.token}`);
  const badIdAuthOnly = fc.constantFrom<string | undefined>(
    undefined,
    `Bearer ${ADMIN_TOKEN}`,
    `Bearer ${world.other.token}`,
    'Bearer x',
  );

  // Ids are read as numbers ("2" and "00000002" name the same order), so compare numerically.
  const names = (id: string, target: string): boolean =>
    /^[0-9]{1,15}$/.test(id) && Number(id) === Number(target);
  const notActiveOrder = idArb([ids.filledOrder, ids.rejectedOrder, world.otherIds.order]).filter(
    (id) => !names(id, ids.activeOrder),
  );
  const notOpenDeal = idArb([ids.closedDeal, world.otherIds.deal]).filter((id) => !names(id, ids.openDeal));
  const entries = <T extends object>(base: fc.Arbitrary<T>): fc.Arbitrary<Fields> =>
    base.map((body) => Object.entries(body) as Fields);

  const balance = adm(A.adjustBalance, { account_id });
  const reset = adm(A.resetAccount, { account_id });
  const cases: { weight: number; arbitrary: fc.Arbitrary<HostileRequest> }[] = [
    {
      weight: 8,
      arbitrary: mutation(
        'burst: place order',
        'POST',
        pub(P.placeOrder, { account_id }),
        victimAuth,
        badOrder,
      ),
    },
    {
      weight: 3,
      arbitrary: mutation(
        'burst: modify active order',
        'PUT',
        fc.constantFrom(...idVariants(ids.activeOrder)).map(order),
        victimAuth,
        badOrderChange,
      ),
    },
    {
      weight: 2,
      arbitrary: mutation(
        'burst: modify other order',
        'PUT',
        notActiveOrder.map(order),
        victimAuth,
        entries(modifyOrderBase),
      ),
    },
    {
      weight: 2,
      arbitrary: mutation('burst: cancel other order', 'DELETE', notActiveOrder.map(order), victimAuth),
    },
    {
      weight: 1,
      arbitrary: mutation(
        'burst: cancel active order, wrong auth',
        'DELETE',
        order(ids.activeOrder),
        badIdAuthOnly,
      ),
    },
    {
      weight: 3,
      arbitrary: mutation('burst: modify open deal', 'PUT', deal(ids.openDeal), victimAuth, badDealChange),
    },
    {
      weight: 2,
      arbitrary: mutation(
        'burst: modify other deal',
        'PUT',
        notOpenDeal.map(deal),
        victimAuth,
        entries(modifyDealBase),
      ),
    },
    {
      weight: 2,
      arbitrary: mutation('burst: close other deal', 'DELETE', notOpenDeal.map(deal), victimAuth),
    },
    {
      weight: 1,
      arbitrary: mutation('burst: close open deal, wrong auth', 'DELETE', deal(ids.openDeal), badIdAuthOnly),
    },
    {
      weight: 1,
      arbitrary: aimed(
        'burst: wrong route',
        victimOnlyAuth,
        fc
          .tuple(
            fc.constantFrom(
              ['PATCH', acct],
              ['DELETE', acct],
              ['PUT', `${acct}/orders`],
              ['POST', `${acct}/deals`],
              ['DELETE', `${acct}/orders`],
              ['POST', `${acct}/orders/${ids.activeOrder}`],
              ['PATCH', `${acct}/deals/${ids.openDeal}`],
              ['POST', `${acct}/..%2f${world.other.accountId}/orders`],
              ['POST', pub(P.placeOrder, { account_id: world.other.accountId })],
            ),
            entries(orderBase),
          )
          .map(([[method, target], fields]): Aim => ({ method, target, fields })),
      ),
    },
    {
      weight: 3,
      arbitrary: mutation(
        'burst: balance',
        'POST',
        balance,
        adminAuth,
        fc
          .tuple(
            fc.oneof(fc.constantFrom(0, 0.001, -1e9, -1e13, 1e14, -100_000_000, '0', '').map(js), badNumber),
            fc.option(fc.constantFrom('', 'fuzz', 'x'.repeat(501))),
          )
          .map(([amount, comment]): Fields =>
            comment === null
              ? [['amount', amount]]
              : [
                  ['amount', amount],
                  ['comment', js(comment)],
                ],
          ),
      ),
    },
    {
      weight: 2,
      arbitrary: mutation(
        'burst: reset with a bad balance',
        'POST',
        reset,
        adminAuth,
        fc
          .oneof(fc.constantFrom(-1, -0.01, 0.001, 1e13, 1e14, '', 'lots').map(js), badNumber)
          .map((value): Fields => [['balance', value]]),
      ),
    },
    {
      weight: 1,
      arbitrary: mutation(
        'burst: reset, wrong auth',
        'POST',
        fc.constantFrom(reset, adm(A.reset, {})),
        fc.constantFrom<string | undefined>(
          undefined,
          `Bearer ${victim.token}`,
          `Bearer ${world.other.token}`,
          'Bearer x',
        ),
      ),
    },
    {
      weight: 1,
      arbitrary: mutation(
        'burst: balance with a comment too long',
        'POST',
        balance,
        adminAuth,
        fc.string({ maxLength: 10 }).map((comment): Fields => [
          ['amount', js(10)],
          ['comment', js(comment.padEnd(501, 'c'))],
        ]),
      ),
    },
    {
      weight: 2,
      arbitrary: mutation(
        'burst: patch account',
        'PATCH',
        adm(A.updateAccount, { account_id }),
        adminAuth,
        fc.oneof(
          fc.constant<Fields>([]),
          fc.constantFrom('', 'x'.repeat(201), 'a\u0001b', 'line\nbreak', null).map((name): Fields => [
            ['name', js(name)],
            ['status', js('disabled')],
          ]),
          fc.constantFrom('ENABLED', 'closed', '', 1, null, 'disabled ').map((status): Fields => [
            ['name', js('renamed')],
            ['status', js(status)],
          ]),
        ),
      ),
    },
    {
      weight: 2,
      arbitrary: aimed(
        'burst: overrides',
        adminAuth,
        fc
          .tuple(
            fc.constantFrom('AAPL.nq', 'MSFT.nq', 'NOPE'),
            fc.constantFrom<Fields>(
              [['min_volume', js(0)]],
              [
                ['leverage', js(2)],
                ['trade_mode', js('disabled')],
              ],
              [['leverage', js(0)]],
              [
                ['trade_mode', js('closed')],
                ['min_volume', js(2)],
              ],
              [['min_tick', js(1e-9)]],
              [
                ['volume_step', js(1e-7)],
                ['max_volume', js(10)],
              ],
              [['max_volume', js(-1)]],
              [['min_volume', { raw: 'NaN' }]],
            ),
          )
          .map(([ticker, fields]): Aim => ({
            method: 'PUT',
            target: adm(A.putOverrides, { account_id, ticker }),
            // An unknown ticker makes even a clean body fail; a known one needs the poisoned fields.
            fields: ticker === 'NOPE' ? [['trade_mode', js('disabled')]] : fields,
          })),
      ),
    },
    {
      weight: 2,
      arbitrary: mutation(
        'burst: instrument',
        'PUT',
        fc.constantFrom('AAPL.nq', 'MSFT.nq').map((ticker) => adm(A.putInstrument, { ticker })),
        adminAuth,
        fc.constantFrom<Fields>(
          [['leverage', js(0)]],
          [
            ['leverage', js(2)],
            ['description', js('changed')],
          ],
          [['contract_size', js(-1)]],
          [['min_tick', js(0)]],
          [['spread_ticks', js(1.5)]],
          [['volatility', js(11)]],
          [['calendar', js('moon')]],
          [['trigger_source', js('bid')]],
          [['quote_currency', js('usd')]],
          [['trade_mode', js('closed')]],
          [['reference_price', js(100.005)]],
          [
            ['min_volume', js(3)],
            ['volume_step', js(2)],
          ],
          [['min_volume', js(200_000)]],
          [['description', js('d'.repeat(201))]],
          [['units', js('u'.repeat(51))]],
        ),
      ),
    },
    {
      weight: 2,
      arbitrary: mutation(
        'burst: quote',
        'PUT',
        // Both tick at 0.01: the off-grid quotes below are off-grid for them (not for EURUSD).
        fc.constantFrom('AAPL.nq', 'MSFT.nq').map((ticker) => adm(A.setQuote, { ticker })),
        adminAuth,
        fc.constantFrom<Fields>(
          [
            ['bid', js(101)],
            ['ask', js(100)],
          ],
          [
            ['bid', js(0)],
            ['ask', js(100)],
          ],
          [['bid', js(100)]],
          [['ask', js(100)]],
          [
            ['bid', js(100.005)],
            ['ask', js(100.01)],
          ],
          [
            ['bid', js(-1)],
            ['ask', js(1)],
          ],
          [
            ['bid', { raw: 'NaN' }],
            ['ask', js(1)],
          ],
          [
            ['bid', js('1e309')],
            ['ask', js('1e309')],
          ],
          [
            ['bid', js(99)],
            ['ask', js(100)],
            ['last', js(0)],
          ],
          [
            ['bid', js(1e-9)],
            ['ask', js(1e-9)],
          ],
        ),
      ),
    },
    {
      weight: 2,
      arbitrary: aimed(
        'burst: admin create/revoke',
        adminAuth,
        fc.constantFrom<Aim>(
          { method: 'POST', target: adm(A.createUser, {}), fields: [['name', js('')]] },
          { method: 'POST', target: adm(A.createUser, {}), fields: [['name', js('n'.repeat(201))]] },
          { method: 'POST', target: adm(A.createUser, {}), fields: [['name', js('tab\there')]] },
          { method: 'POST', target: adm(A.issueToken, { user_id: '999999999' }), fields: [] },
          { method: 'POST', target: adm(A.issueToken, { user_id: 'abc' }), fields: [] },
          {
            method: 'DELETE',
            target: adm(A.revokeTokenById, { user_id: '999999999', token_id: '1' }),
            fields: [],
          },
          { method: 'POST', target: adm(A.revokeToken, {}), fields: [['token', js('no-such-token')]] },
          { method: 'POST', target: adm(A.revokeToken, {}), fields: [['token', js('')]] },
          { method: 'POST', target: adm(A.createAccount, {}), fields: accountFields('999999999', {}) },
          {
            method: 'POST',
            target: adm(A.createAccount, {}),
            fields: accountFields(victim.userId, { currency: 'usd' }),
          },
          {
            method: 'POST',
            target: adm(A.createAccount, {}),
            fields: accountFields(victim.userId, { balance: -1 }),
          },
          {
            method: 'POST',
            target: adm(A.createAccount, {}),
            fields: accountFields(victim.userId, { type: 'paper' }),
          },
          // Logout is only ever sent with tokens that are not valid, so it revokes nothing.
          { method: 'POST', target: pub(P.logout, {}), fields: [], auth: 'Bearer not-a-token' },
        ),
      ),
    },
  ];
  return fc.oneof(...cases);
}
