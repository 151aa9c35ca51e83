/** Ids, tickers and Authorization headers: mostly real ones, otherwise anything a path or header can carry. */
import fc from 'fast-check';
import { ADMIN_TOKEN } from '../test-server.ts';
import { pct } from './encoding.ts';
import { anyString } from './values.ts';
import { TICKERS, type World } from './world.ts';

export function idVariants(id: string): string[] {
  return [id, String(Number(id)), `0${id}`];
}

export function hostileId(): fc.Arbitrary<string> {
  return fc.oneof(
    fc.constantFrom(
      '0',
      '00000000',
      '99999999',
      '999999999',
      '999999999999999',
      '1'.repeat(16),
      '9'.repeat(40),
      'abc',
      '-1',
      '1.5',
      '1e3',
      '+1',
      '%20%31',
      '0x1',
      '..',
      '.',
      '%2e%2e',
      '..%2f..',
      '..%2f..%2fadmin%2fv1%2fclock',
      '%2e%2e%2f%2e%2e',
      '%00',
      '1%00',
      '%2f',
      '%5c..%5c',
      "1'%20OR%20'1'%3D'1",
      '1%3B%20DROP%20TABLE%20orders',
      '%E2%80%AE1',
      '%F0%9F%98%80',
      'null',
      'undefined',
      '__proto__',
      'constructor',
    ),
    fc.nat().map(String),
    fc.bigInt({ min: 0n, max: 10n ** 30n }).map(String),
    anyString.map(pct),
  );
}

export function idArb(known: readonly string[]): fc.Arbitrary<string> {
  const variants = known.flatMap(idVariants);
  return variants.length === 0
    ? hostileId()
    : fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...variants) }, { weight: 2, arbitrary: hostileId() });
}

export function tickerArb(): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 5, arbitrary: fc.constantFrom(...TICKERS) },
    {
      weight: 2,
      arbitrary: fc.constantFrom(
        'aapl.nq',
        'AAPL',
        'NOPE',
        'XAUUSD',
        'A'.repeat(32),
        'A'.repeat(33),
        '..',
        '.',
        '-',
      ),
    },
    { weight: 2, arbitrary: anyString.map(pct) },
  );
}

export type Api = 'public' | 'admin';

/** Authorization headers: mostly the right kind, otherwise missing, garbage, wrong kind, huge. */
export function authArb(world: World, api: Api, rightToken: string): fc.Arbitrary<string | undefined> {
  const wrongKind = api === 'public' ? ADMIN_TOKEN : world.fuzz.token;
  return fc.oneof(
    { weight: 14, arbitrary: fc.constant(`Bearer ${rightToken}`) },
    { weight: 1, arbitrary: fc.constant(undefined) },
    { weight: 1, arbitrary: fc.constant(`Bearer ${wrongKind}`) },
    { weight: 1, arbitrary: fc.constant(`Bearer ${world.revokedToken}`) },
    { weight: 1, arbitrary: fc.constant(`Bearer ${world.other.token}`) },
    {
      weight: 2,
      arbitrary: fc.constantFrom(
        'Bearer',
        'Bearer ',
        'Bearer  ',
        `bearer ${rightToken}`,
        `BEARER ${rightToken}`,
        `Bearer ${rightToken} extra`,
        `Bearer ${rightToken}x`,
        `Bearer ${rightToken.slice(0, -1)}`,
        `Token ${rightToken}`,
        `Basic ${Buffer.from(`admin:${rightToken}`).toString('base64')}`,
        rightToken,
        'Bearer null',
        'Bearer undefined',
        "Bearer ' OR '1'='1",
        'Bearer 😀\u202e\u200f',
        'Bearer \ufeff',
        `Bearer ${ADMIN_TOKEN}${ADMIN_TOKEN}`,
      ),
    },
    { weight: 1, arbitrary: anyString.map((text) => `Bearer ${text}`) },
    {
      weight: 1,
      arbitrary: fc
        .tuple(fc.integer({ min: 500, max: 12_000 }), fc.constantFrom('x', 'é', '😀'))
        .map(([length, char]) => `Bearer ${char.repeat(length)}`),
    },
  );
}
