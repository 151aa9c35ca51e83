/**
 * The bodies of the state-unchanged burst: a valid-looking base per mutation, and poisons that each
 * make it invalid. Every poisoned body must be refused (by the schema, the parsers or the engine).
 *
 * The bases assume the victim's fixture (see `createWorld`): quotes AAPL.nq 99.98/100 and MSFT.nq
 * 199.98/200, an active buy limit at 190 on MSFT.nq and an open long of AAPL.nq.
 */
import fc from 'fast-check';
import { js, type Fields, type Value } from './values.ts';

export type Body = Record<string, Value>;
type Poison = (body: Body) => void;

/**
 * Values no numeric field accepts in any encoding (JSON or form). Careful: "-0", "+1", "01", "1.",
 * '" 1 "' or '"1.5"' are valid numbers once a form or a JSON string is coerced, and -1 is a valid
 * withdrawal, so none of them is here.
 */
const BAD_RAW = [
  'NaN',
  'Infinity',
  '-Infinity',
  '1e309',
  '-1e309',
  '0x10',
  '1e',
  '--1',
  'undefined',
  '"NaN"',
  '"Infinity"',
  '"1e309"',
  '[]',
  '{}',
  '[1,2]',
  '{"$gt":0}',
  'true',
  'null',
  '0.000000000000000000000000000001',
  '123456789012345678901234567890',
];
export const badNumber: fc.Arbitrary<Value> = fc.oneof(
  fc.constantFrom(...BAD_RAW).map((text): Value => ({ raw: text })),
  fc.constantFrom(NaN, Infinity, -Infinity, 1e-9, 5e-324, -5e-324, 1e15, Number.MAX_VALUE, 2 ** 64).map(js),
  fc
    .constantFrom('abc', '', ' ', 'NaN', '1,5', '1e309', '\u0000', true, false, null, [1, 2], { a: 1 })
    .map(js),
);

/** A poison that sets `field` to the value it is made from. */
const set =
  (field: string) =>
  (value: Value): Poison =>
  (body) => {
    body[field] = value;
  };
/** A poison that sets `field` to a JS value. */
const setJs =
  (field: string) =>
  (value: unknown): Poison =>
    set(field)(js(value));
/** A poison that removes fields. */
const drop =
  (...fields: string[]): Poison =>
  (body) => {
    for (const field of fields) Reflect.deleteProperty(body, field);
  };

const typeOf = (body: Body): unknown => (body.type as { js?: unknown }).js;
const isBuy = (body: Body): boolean => (body.side as { js?: unknown }).js === 'buy';

/** Applies one to three poisons to a copy of the base. */
export function poisoned(base: fc.Arbitrary<Body>, poisons: fc.Arbitrary<Poison>): fc.Arbitrary<Fields> {
  return fc.tuple(base, fc.array(poisons, { minLength: 1, maxLength: 3 })).map(([draft, chosen]) => {
    const body = { ...draft };
    for (const poison of chosen) poison(body);
    return Object.entries(body);
  });
}

/** A body of the optional fields the draft gives (null leaves a field out). */
function present(draft: Record<string, unknown>): Body {
  const body: Body = {};
  for (const [key, value] of Object.entries(draft)) if (value !== null) body[key] = js(value);
  return body;
}

/** A valid-looking order on AAPL.nq (ask 100) or MSFT.nq (ask 200), before poisoning. */
export const orderBase: fc.Arbitrary<Body> = fc
  .record({
    ticker: fc.constantFrom('AAPL.nq', 'MSFT.nq'),
    side: fc.constantFrom('buy', 'sell'),
    type: fc.constantFrom('market', 'limit', 'stop'),
    volume: fc.constantFrom(1, 2, 3),
    sl: fc.boolean(),
    tp: fc.boolean(),
    expiry: fc.boolean(),
  })
  .map((draft): Body => {
    const body: Body = {
      ticker: js(draft.ticker),
      side: js(draft.side),
      type: js(draft.type),
      volume: js(draft.volume),
    };
    const ask = draft.ticker === 'AAPL.nq' ? 100 : 200;
    const buy = draft.side === 'buy';
    if (draft.type !== 'market') {
      const below = (draft.type === 'limit') === buy;
      body.price = js(below ? ask - 10 : ask + 10);
      if (draft.expiry) body.expiration = js(4_000_000_000);
    }
    if (draft.sl) body.stop_loss = js(buy ? ask - 30 : ask + 30);
    if (draft.tp) body.take_profit = js(buy ? ask + 30 : ask - 30);
    return body;
  });

/** Poisons of a new order that the schema or the parsers refuse. */
const orderPoison: fc.Arbitrary<Poison> = fc.oneof(
  badNumber.map(set('volume')),
  fc.constantFrom(0, -1, 0.5, 1.5, 1e-7, 100_001, 100_000, '0', '1.0000001').map(setJs('volume')),
  fc.constant(drop('volume')),
  fc.constantFrom('BUY', 'hold', '', 'buy ', 'sell\u0000', 1, null).map(setJs('side')),
  fc.constantFrom('stop_loss', 'take_profit', 'stop_out', 'MARKET', 'limit ', '', 0).map(setJs('type')),
  fc
    .constantFrom('NOPE', 'aapl.nq', '', 'A'.repeat(33), '__proto__', "AAPL.nq' OR 1=1", '\u202eqn.LPAA', 7)
    .map(setJs('ticker')),
  fc.constant(drop('ticker')),
  // A price: not a number on market orders (which ignore any number); off the grid, missing or on
  // the wrong side otherwise.
  fc.constantFrom('off-grid', 'wrong-side', 'missing', 'bad').chain((kind) =>
    badNumber.map((value): Poison => (body) => {
      const type = typeOf(body);
      if (type === 'market') body.price = kind === 'bad' ? { raw: 'NaN' } : js('150.5x');
      else if (kind === 'off-grid') body.price = js(90.005);
      else if (kind === 'wrong-side') body.price = js((type === 'limit') === isBuy(body) ? 250 : 50);
      else if (kind === 'missing') delete body.price;
      else body.price = value;
    }),
  ),
  fc.constantFrom(-1, 1000, 1e12, 'x', 1.5e11).map((value): Poison => (body) => {
    // A market order refuses any expiration but 0; a pending one refuses the past.
    body.expiration = js(typeOf(body) === 'market' && value === 1000 ? 4_000_000_000 : value);
  }),
  fc.constantFrom('wrong-side', 'off-grid', 'negative').map((kind): Poison => (body) => {
    const buy = isBuy(body);
    body.stop_loss = js(kind === 'wrong-side' ? (buy ? 250 : 10) : kind === 'off-grid' ? 50.005 : -5);
  }),
  fc.constantFrom('wrong-side', 'off-grid', 'bad').chain((kind) =>
    badNumber.map((value): Poison => (body) => {
      const buy = isBuy(body);
      body.take_profit =
        kind === 'wrong-side' ? js(buy ? 10 : 250) : kind === 'off-grid' ? js(300.001) : value;
    }),
  ),
);

/**
 * Poisons that pass the schema and the parsers and only the engine refuses (a business rejection,
 * which records a rejected order): half-applied changes would hide here if anywhere.
 */
const businessOrderPoison: fc.Arbitrary<Poison> = fc.oneof(
  fc.constantFrom(0.5, 1.5, 100_001, 100_000).map(setJs('volume')),
  fc.constantFrom('off-grid', 'wrong-side', 'missing').map((kind): Poison => (body) => {
    const type = typeOf(body);
    // A market order ignores its price, but not an expiration.
    if (type === 'market') body.expiration = js(4_000_000_000);
    else if (kind === 'off-grid') body.price = js(90.005);
    else if (kind === 'wrong-side') body.price = js((type === 'limit') === isBuy(body) ? 250 : 50);
    else delete body.price;
  }),
  fc.constant<Poison>((body) => {
    body.expiration = js(typeOf(body) === 'market' ? 4_000_000_000 : 1000);
  }),
  fc.constantFrom('wrong-side', 'off-grid').map((kind): Poison => (body) => {
    body.stop_loss = js(kind === 'wrong-side' ? (isBuy(body) ? 250 : 10) : 50.005);
  }),
  fc.constantFrom('wrong-side', 'off-grid').map((kind): Poison => (body) => {
    body.take_profit = js(kind === 'wrong-side' ? (isBuy(body) ? 10 : 250) : 300.001);
  }),
);

/** A poisoned new order: business rejections a little more often than schema ones. */
export const badOrder = poisoned(
  orderBase,
  fc.oneof({ weight: 2, arbitrary: orderPoison }, { weight: 3, arbitrary: businessOrderPoison }),
);

/** A valid change of the active order (a buy limit at 190 on MSFT.nq). */
export const modifyOrderBase: fc.Arbitrary<Body> = fc
  .record({
    volume: fc.option(fc.constantFrom(1, 2, 5)),
    price: fc.option(fc.constantFrom(185, 189.5, 190)),
    stop_loss: fc.option(fc.constantFrom(0, 170, 180)),
    take_profit: fc.option(fc.constantFrom(0, 220)),
  })
  .map(present);

export const badOrderChange = poisoned(
  modifyOrderBase,
  fc.oneof(
    fc.constantFrom(0, -1, 0.5, 1.5, 100_001, 1e-7).map(setJs('volume')),
    badNumber.map(set('volume')),
    // The active order is a buy limit at 190 on MSFT.nq (ask 200): ≥ ask is the wrong side.
    fc.constantFrom(0, -1, 190.005, 200, 250, 1e-9).map(setJs('price')),
    badNumber.map(set('price')),
    fc.constantFrom(-1, 1000, 1e12, 'x').map(setJs('expiration')),
    fc.constantFrom(195, 250, 180.001, -1).map(setJs('stop_loss')),
    fc.constantFrom(10, 150, 210.005, -1).map(setJs('take_profit')),
    fc.constant(drop('volume', 'price', 'expiration', 'stop_loss', 'take_profit')),
  ),
);

/** A valid change of the open deal (a long of AAPL.nq). */
export const modifyDealBase: fc.Arbitrary<Body> = fc
  .record({
    stop_loss: fc.option(fc.constantFrom(0, 80, 85)),
    take_profit: fc.option(fc.constantFrom(0, 130)),
  })
  .map(present);

export const badDealChange = poisoned(
  modifyDealBase,
  // The open deal is a long of AAPL.nq (bid 99.98): SL must stay below, TP above.
  fc.oneof(
    fc.constantFrom(99.98, 100, 250, 95.005, -1, 1e-9).map(setJs('stop_loss')),
    fc.constantFrom(99.98, 10, 120.005, -1, 1e-9).map(setJs('take_profit')),
    badNumber.map(set('stop_loss')),
    badNumber.map(set('take_profit')),
    fc.constant(drop('stop_loss', 'take_profit')),
  ),
);
