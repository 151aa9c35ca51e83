/**
 * Every endpoint of the public and admin APIs as a generator spec, its paths taken from the
 * contract's route tables; and the hostile and nearly valid requests built from a spec.
 */
import fc from 'fast-check';
import { PublicRoutes as P } from '../../../src/contract/public-routes.ts';
import { AdminRoutes as A } from '../../../src/contract/admin-routes.ts';
import { ExtRoutes as E } from '../../../src/contract/ext-routes.ts';
import { StreamRoutes as S } from '../../../src/contract/stream-routes.ts';
import type { PathParams, RouteSpec } from '../../../src/contract/route-spec.ts';
import { ADMIN_TOKEN } from '../test-server.ts';
import { QUERY_JUNK, bodyShape, encodeBody, encodeForm, encodeJson, encodeQuery } from './encoding.ts';
import { authArb, hostileId, idArb, tickerArb, type Api } from './ids-and-auth.ts';
import type { HostileRequest } from './raw-http.ts';
import { adm, ext, pub, stream } from './paths.ts';
import { EXTRA_HEADERS, assemble } from './requests.ts';
import { fieldsArb, good, hostileValue, js, type Fields, type Value } from './values.ts';
import { MARKET, TICKERS, livePick, type World } from './world.ts';

export interface EndpointSpec {
  name: string;
  method: string;
  api: Api;
  path: fc.Arbitrary<string>;
  query?: Record<string, fc.Arbitrary<Value>>;
  body?: Record<string, fc.Arbitrary<Value>>;
  /** The token the route wants (defaults to the fuzz user's or the admin's). */
  token?: fc.Arbitrary<string>;
  /** Body fields a clean request always carries. */
  required?: string[];
  /** A coherent body for clean requests, where independent fields would rarely make sense together. */
  cleanBody?: fc.Arbitrary<Fields>;
}

/** A coherent order: prices on the right side of the starting quotes, SL/TP on the right side of those. */
const cleanOrderBody: fc.Arbitrary<Fields> = fc
  .record({
    ticker: fc.constantFrom(...Object.keys(MARKET)),
    side: fc.constantFrom('buy', 'sell'),
    type: fc.constantFrom('market', 'market', 'limit', 'stop'),
    volume: fc.nat(),
    offset: fc.integer({ min: 1, max: 20 }),
    stopLoss: fc.boolean(),
    takeProfit: fc.boolean(),
    expiration: fc.option(fc.integer({ min: 60, max: 86_400 })),
  })
  .map((draft): Fields => {
    const market = MARKET[draft.ticker] ?? { bid: 1, ask: 1, step: 1, volumes: [1] };
    const buy = draft.side === 'buy';
    const round = (value: number): number => Number(value.toFixed(5));
    const fields: Fields = [
      ['ticker', js(draft.ticker)],
      ['side', js(draft.side)],
      ['type', js(draft.type)],
      ['volume', js(market.volumes[draft.volume % market.volumes.length])],
    ];
    let reference = buy ? market.bid : market.ask;
    if (draft.type !== 'market') {
      const below = (draft.type === 'limit') === buy;
      const base = buy ? market.ask : market.bid;
      reference = round(base + (below ? -1 : 1) * draft.offset * market.step);
      fields.push(['price', js(reference)]);
      if (draft.expiration !== null)
        fields.push(['expiration', js(Math.floor(Date.now() / 1000) + draft.expiration)]);
    }
    const away = 30 * market.step;
    if (draft.stopLoss) fields.push(['stop_loss', js(round(reference + (buy ? -away : away)))]);
    if (draft.takeProfit) fields.push(['take_profit', js(round(reference + (buy ? away : -away)))]);
    return fields;
  });

/** Clean field sets: required fields always, others half the time, all with valid-looking values. */
function cleanFieldsArb(
  spec: Record<string, fc.Arbitrary<Value>>,
  required: readonly string[],
): fc.Arbitrary<Fields> {
  const parts = Object.entries(spec).map(([key, valid]) =>
    (required.includes(key)
      ? valid.map((value) => [value])
      : fc.option(valid).map((value) => (value === null ? [] : [value]))
    ).map((values): Fields => values.map((value) => [key, value])),
  );
  return fc.tuple(...parts).map((lists) => lists.flat());
}

/**
 * A nearly valid request: the right token, a well-formed JSON or form body with a matching
 * content type, valid-looking values, and at most one hostile value. These get past the schema
 * and into the business rules, where the deeper bugs live.
 */
export function cleanEndpointArb(spec: EndpointSpec, token: string): fc.Arbitrary<HostileRequest> {
  return fc
    .record({
      path: spec.path,
      fields: spec.cleanBody ?? cleanFieldsArb(spec.body ?? {}, spec.required ?? []),
      query: cleanFieldsArb(spec.query ?? {}, []),
      json: fc.boolean(),
      typed: fc.oneof(
        { weight: 5, arbitrary: fc.constant(true) },
        { weight: 1, arbitrary: fc.constant(false) },
      ),
      mutation: fc.option(fc.tuple(fc.nat(), hostileValue, fc.boolean()), { freq: 2 }),
    })
    .map(({ path, fields, query, json, typed, mutation }) => {
      const body = spec.body === undefined ? undefined : [...fields];
      if (mutation !== null) {
        const [index, value, inQuery] = mutation;
        const target = inQuery || body === undefined ? query : body;
        const slot = target[index % Math.max(1, target.length)];
        if (slot) target[index % target.length] = [slot[0], value];
        else target.push([Object.keys((inQuery ? spec.query : spec.body) ?? {})[0] ?? 'x', value]);
      }
      const encoded =
        body === undefined
          ? {}
          : json
            ? { body: Buffer.from(encodeJson(body)), ...(typed ? { contentType: 'application/json' } : {}) }
            : {
                body: Buffer.from(encodeForm(body)),
                ...(typed ? { contentType: 'application/x-www-form-urlencoded' } : {}),
              };
      return assemble(
        spec.name,
        spec.method,
        path + encodeQuery(query, undefined),
        `Bearer ${token}`,
        encoded,
      );
    });
}

export function endpointArb(world: World, spec: EndpointSpec): fc.Arbitrary<HostileRequest> {
  const tokenArb = spec.token ?? fc.constant(spec.api === 'admin' ? ADMIN_TOKEN : world.fuzz.token);
  return fc
    .record({
      path: spec.path,
      auth: tokenArb.chain((token) => authArb(world, spec.api, token)),
      query: fieldsArb(spec.query ?? {}),
      queryJunk: fc.option(fc.constantFrom(...QUERY_JUNK), { freq: 5 }),
      fields: fieldsArb(spec.body ?? {}),
      shape: bodyShape,
      extra: EXTRA_HEADERS,
      bodyless: fc.boolean(),
    })
    .map(({ path, auth, query, queryJunk, fields, shape, extra, bodyless }) =>
      assemble(
        spec.name,
        spec.method,
        path + encodeQuery(query, queryJunk ?? undefined),
        auth,
        // Routes without a body schema get a body now and then; routes with one nearly always.
        spec.body === undefined && bodyless ? {} : encodeBody(fields, shape),
        extra,
      ),
    );
}

/**
 * Every endpoint (clock mutations and logout aside: they have their own phases). In `clean` mode
 * ids name real things (mostly the fuzz account's, which then owns them), otherwise anything goes.
 */
export function endpoints(world: World, now: number, mode: 'clean' | 'hostile'): EndpointSpec[] {
  // Ids are global sequences: any small number may name one of the fuzz account's orders or deals.
  const sequential = (width: number) =>
    fc.integer({ min: 1, max: 3000 }).map((id) => String(id).padStart(width, '0'));
  const account =
    mode === 'clean'
      ? fc.oneof(
          { weight: 8, arbitrary: fc.constant(world.fuzz.accountId) },
          { weight: 1, arbitrary: fc.constantFrom(world.victim.accountId, world.other.accountId) },
        )
      : idArb([world.fuzz.accountId, world.fuzz.accountId, world.victim.accountId, world.other.accountId]);
  const order =
    mode === 'clean'
      ? fc.oneof(
          { weight: 3, arbitrary: livePick(world.live.orders) },
          { weight: 1, arbitrary: sequential(9) },
        )
      : idArb([...world.fuzzIds.orders, world.victimIds.filledOrder, world.otherIds.order]);
  const deal =
    mode === 'clean'
      ? fc.oneof(
          { weight: 3, arbitrary: livePick(world.live.deals) },
          { weight: 1, arbitrary: sequential(6) },
        )
      : idArb([...world.fuzzIds.deals, world.victimIds.closedDeal, world.otherIds.deal]);
  const ticker = mode === 'clean' ? fc.constantFrom(...TICKERS) : tickerArb();
  const bystander = fc.constantFrom(world.victim.accountId, world.other.accountId);
  const a = <R extends RouteSpec>(route: R, rest: fc.Arbitrary<Record<string, string>> = fc.constant({})) =>
    fc.tuple(account, rest).map(([id, more]) => pub(route, { ...more, account_id: id } as PathParams<R>));
  const price = good(100, 100.02, 99.5, 101, 150, 99.999, 1.1, 1.10005, 150.123, 0, '100.5', 200.01);
  const level = good(0, 80, 90, 95, 105, 110, 120, 1.05, 1.2, 150.001, '95');
  const volume = good(1, 2, 10, 0.01, 0.1, 1.5, 100_000, 100_001, '1', '0.01');
  const stamp = good(0, now, now + 3600, now + 86_400 * 365, 1, 1e11, '0', `${now + 60}`);
  const page = {
    skip: good(0, 1, 5, 1000, Number.MAX_SAFE_INTEGER, '2'),
    limit: good(1, 2, 100, 500, 501, 1e6, Number.MAX_SAFE_INTEGER, '3'),
  };
  const history = {
    status: good('active', 'in_execution', 'filled', 'rejected', 'canceled', 'open', 'ACTIVE'),
    history_from: stamp,
    history_to: stamp,
    ...page,
  };
  const userId = fc.oneof(
    fc.constantFrom(world.fuzz.userId, world.other.userId, world.throwawayUserId),
    hostileId(),
  );
  // Revoking tokens by id only ever aims at the throwaway user, so the fuzz never locks itself out.
  const safeUserId = fc.oneof(fc.constant(world.throwawayUserId), hostileId());
  const instrumentFields = {
    description: good('fuzzed', ''),
    contract_size: good(1, 100_000, 0.5),
    units: good('Share(s)', 'Lot(s)'),
    min_volume: good(1, 0.01, 2),
    max_volume: good(100_000, 100, 1),
    volume_step: good(1, 0.01, 3),
    min_tick: good(0.01, 0.00001, 0.05),
    leverage: good(0.05, 0.01, 1, 0.2),
    trade_mode: good('full', 'buy_only', 'sell_only', 'close_only', 'disabled'),
    quote_currency: good('USD', 'EUR', 'JPY', 'XXX'),
    calendar: good('always', 'fx', 'us_equities'),
    volatility: good(0, 0.2, 10),
    spread_ticks: good(1, 2, 10_000),
    reference_price: good(100, 1.1, 0.01),
    trigger_source: good('last', 'bid_ask'),
  };
  const overrideFields = {
    min_volume: instrumentFields.min_volume,
    max_volume: instrumentFields.max_volume,
    volume_step: instrumentFields.volume_step,
    min_tick: instrumentFields.min_tick,
    leverage: instrumentFields.leverage,
    trade_mode: instrumentFields.trade_mode,
  };
  return [
    { name: 'instruments', method: 'GET', api: 'public', path: fc.constant(pub(P.instruments, {})) },
    { name: 'accounts', method: 'GET', api: 'public', path: fc.constant(pub(P.accounts, {})) },
    { name: 'account state', method: 'GET', api: 'public', path: a(P.accountState) },
    { name: 'account instruments', method: 'GET', api: 'public', path: a(P.accountInstruments) },
    {
      name: 'instrument',
      method: 'GET',
      api: 'public',
      path: a(
        P.accountInstrument,
        ticker.map((t) => ({ ticker: t })),
      ),
    },
    {
      name: 'quote',
      method: 'GET',
      api: 'public',
      path: a(
        P.quote,
        ticker.map((t) => ({ ticker: t })),
      ),
    },
    { name: 'orders GET', method: 'GET', api: 'public', path: a(P.orders), query: history },
    {
      name: 'orders POST',
      method: 'POST',
      api: 'public',
      required: ['ticker', 'side', 'type', 'volume'],
      cleanBody: cleanOrderBody,
      path: a(P.placeOrder),
      body: {
        ticker: fc.oneof(good(...TICKERS), ticker.map(js)),
        side: good('buy', 'sell'),
        type: good('market', 'limit', 'stop'),
        volume,
        price,
        expiration: stamp,
        stop_loss: level,
        take_profit: level,
      },
    },
    {
      name: 'order PUT',
      method: 'PUT',
      api: 'public',
      path: a(
        P.modifyOrder,
        order.map((id) => ({ order_id: id })),
      ),
      body: { volume, price, expiration: stamp, stop_loss: level, take_profit: level },
      // One change that fits any pending order: clear SL/TP, a later expiry, a smaller size.
      cleanBody: fc
        .constantFrom<Fields>(
          [['stop_loss', js(0)]],
          [['take_profit', js(0)]],
          [['expiration', js(now + 7200)]],
          [['expiration', js(0)]],
          [['volume', js(1)]],
          [
            ['stop_loss', js(0)],
            ['take_profit', js(0)],
          ],
        )
        .map((fields) => [...fields]),
    },
    {
      name: 'order DELETE',
      method: 'DELETE',
      api: 'public',
      path: a(
        P.cancelOrder,
        order.map((id) => ({ order_id: id })),
      ),
    },
    { name: 'deals GET', method: 'GET', api: 'public', path: a(P.deals), query: history },
    {
      name: 'candles',
      method: 'GET',
      api: 'public',
      path: ticker.map((t) => ext(E.candles, { ticker: t })),
      query: {
        interval: good('1m', '5m', '15m', '1h', '1d', '1m', '2m', '1M'),
        from: stamp,
        to: stamp,
        limit: good(1, 100, 1000, 1001, 0, '10'),
      },
    },
    // A stream that opens is answered with its event-stream head (the fuzz reads no further).
    {
      name: 'account events stream',
      method: 'GET',
      api: 'public',
      path: account.map((id) => stream(S.accountEvents, { account_id: id })),
      query: { since: good(0, 1, 5, 999_999_999_999_999, 1e16, '-1', '') },
    },
    {
      name: 'quotes stream',
      method: 'GET',
      api: 'public',
      path: fc.constant(stream(S.quotes, {})),
      query: { tickers: good(TICKERS[0] ?? 'AAPL.nq', TICKERS.join(','), '', ',', 'NOPE.xx', 'aapl.nq') },
    },
    // Without an Upgrade header: the envelope says a WebSocket is needed.
    { name: 'websocket', method: 'GET', api: 'public', path: fc.constant(stream(S.webSocket, {})) },
    {
      name: 'deal PUT',
      method: 'PUT',
      api: 'public',
      path: a(
        P.modifyDeal,
        deal.map((id) => ({ deal_id: id })),
      ),
      body: { stop_loss: level, take_profit: level },
      cleanBody: fc
        .constantFrom<Fields>(
          [['stop_loss', js(0)]],
          [['take_profit', js(0)]],
          [
            ['stop_loss', js(0)],
            ['take_profit', js(0)],
          ],
        )
        .map((fields) => [...fields]),
    },
    {
      name: 'deal DELETE',
      method: 'DELETE',
      api: 'public',
      path: a(
        P.closeDeal,
        deal.map((id) => ({ deal_id: id })),
      ),
    },
    {
      name: 'admin users POST',
      method: 'POST',
      api: 'admin',
      required: ['name'],
      path: fc.constant(adm(A.createUser, {})),
      body: { name: good('fuzz-user', 'x'.repeat(200), 'x'.repeat(201)) },
    },
    {
      name: 'admin tokens POST',
      method: 'POST',
      api: 'admin',
      path: fc
        .oneof(fc.constant(world.throwawayUserId), userId)
        .map((id) => adm(A.issueToken, { user_id: id })),
    },
    {
      name: 'admin token DELETE',
      method: 'DELETE',
      api: 'admin',
      path: fc
        .tuple(safeUserId, fc.oneof(fc.integer({ min: 1, max: 400 }).map(String), hostileId()))
        .map(([user, token]) => adm(A.revokeTokenById, { user_id: user, token_id: token })),
    },
    {
      name: 'admin tokens revoke',
      method: 'POST',
      api: 'admin',
      required: ['token'],
      path: fc.constant(adm(A.revokeToken, {})),
      body: { token: good(...world.throwawayTokens, world.revokedToken, 'no-such-token', 'x'.repeat(201)) },
    },
    {
      name: 'admin accounts POST',
      method: 'POST',
      api: 'admin',
      required: ['user_id', 'name', 'type', 'system', 'currency'],
      path: fc.constant(adm(A.createAccount, {})),
      body: {
        user_id: good(world.throwawayUserId, world.fuzz.userId, '999999', '0'),
        name: good('fuzz account', ''),
        type: good('demo', 'real'),
        system: good('netting', 'hedging'),
        currency: good('USD', 'EUR', 'JPY', 'XXX', 'usd'),
        balance: good(0, 1000, 0.01, -1, 0.001),
      },
    },
    {
      name: 'admin account GET',
      method: 'GET',
      api: 'admin',
      path: account.map((id) => adm(A.account, { account_id: id })),
    },
    {
      name: 'admin account PATCH',
      method: 'PATCH',
      api: 'admin',
      // Statuses change on the bystanders only, so the fuzz account keeps trading.
      path: (mode === 'clean' ? bystander : idArb([world.victim.accountId, world.other.accountId])).map(
        (id) => adm(A.updateAccount, { account_id: id }),
      ),
      body: { name: good('renamed', ''), status: good('enabled', 'enabled', 'disabled', 'no_new_deals') },
    },
    {
      name: 'admin balance',
      method: 'POST',
      api: 'admin',
      required: ['amount'],
      path: account.map((id) => adm(A.adjustBalance, { account_id: id })),
      body: { amount: good(1, -1, 0.01, 1000, -1e9, 0, 0.001), comment: good('fuzz', '') },
    },
    {
      name: 'admin account reset',
      method: 'POST',
      api: 'admin',
      // Resets wipe the bystanders only: the fuzz account keeps its orders and deals to work on.
      path: (mode === 'clean' ? bystander : idArb([world.victim.accountId, world.other.accountId])).map(
        (id) => adm(A.resetAccount, { account_id: id }),
      ),
      body: { balance: good(0, 1000, 0.01, 250_000.5, -1, 0.001, 1e13) },
    },
    {
      name: 'admin ledger',
      method: 'GET',
      api: 'admin',
      path: account.map((id) => adm(A.ledger, { account_id: id })),
      query: page,
    },
    {
      name: 'admin fills',
      method: 'GET',
      api: 'admin',
      path: account.map((id) => adm(A.fills, { account_id: id })),
      query: page,
    },
    {
      name: 'admin instrument PUT',
      method: 'PUT',
      api: 'admin',
      // Clean requests reshape only instruments of their own, not the ones the fuzz account trades.
      path: (mode === 'clean'
        ? fc.constantFrom('FUZZ1', 'FUZZ2')
        : fc.oneof(ticker, fc.constantFrom('FUZZ1', 'FUZZ2'))
      ).map((t) => adm(A.putInstrument, { ticker: t })),
      body: instrumentFields,
    },
    {
      name: 'admin overrides PUT',
      method: 'PUT',
      api: 'admin',
      path: fc
        .tuple(mode === 'clean' ? bystander : account, ticker)
        .map(([id, t]) => adm(A.putOverrides, { account_id: id, ticker: t })),
      body: overrideFields,
    },
    {
      name: 'admin quote PUT',
      method: 'PUT',
      api: 'admin',
      required: ['bid', 'ask'],
      path: ticker.map((t) => adm(A.setQuote, { ticker: t })),
      body: {
        bid: good(99.98, 100, 100.5, 1.1, 1.10005, 149.5, 0.01),
        ask: good(100, 100.02, 100.5, 1.1001, 1.10015, 150, 0.01),
        last: good(100.01, 1.1, 0.01),
      },
    },
    {
      name: 'admin quote GET',
      method: 'GET',
      api: 'admin',
      path: ticker.map((t) => adm(A.quote, { ticker: t })),
    },
    {
      name: 'admin ticks',
      method: 'GET',
      api: 'admin',
      path: ticker.map((t) => adm(A.ticks, { ticker: t })),
      query: { limit: page.limit },
    },
    { name: 'admin feed', method: 'GET', api: 'admin', path: fc.constant(adm(A.feed, {})) },
    {
      name: 'admin feed control',
      method: 'POST',
      api: 'admin',
      path: fc.constantFrom(adm(A.pauseFeed, {}), adm(A.resumeFeed, {})),
    },
    {
      name: 'admin feed step',
      method: 'POST',
      api: 'admin',
      path: fc.constant(adm(A.stepFeed, {})),
      body: { quotes: good(1, 10, 100_000), seconds: good(0.001, 1, 60, 86_400) },
    },
    { name: 'admin clock GET', method: 'GET', api: 'admin', path: fc.constant(adm(A.clock, {})) },
  ];
}
