/**
 * Field values: valid ones, nasty numbers, nasty strings, wrong types, repeated parameters, deep
 * nesting; and field sets built from them.
 */
import fc from 'fast-check';

/** A field value: a JS value (serialised properly) or raw text pasted as is into JSON or a form. */
export type Value = { js: unknown } | { raw: string };
export type Fields = [string, Value][];

export const js = (value: unknown): Value => ({ js: value });
export const good = (...values: unknown[]): fc.Arbitrary<Value> => fc.constantFrom(...values).map(js);

const LONE_SURROGATES = ['\ud800', '\udfff', 'a\ud800b', '\udc00\ud800', '\ud83d'];
const HOSTILE_STRINGS = [
  '',
  ' ',
  '\u0000',
  '\u0000AAPL.nq',
  'AAPL.nq\u0000',
  '\u0001\u0002\u0003\u001f\u007f',
  '\r\n',
  '\t',
  '\u202eqn.LPAA',
  '\u200f\u200e\u2066',
  '\ufeff',
  '\u00a0',
  '😀',
  '👨‍👩‍👧‍👦',
  'Ａ１',
  "' OR '1'='1",
  "1' OR 1=1 --",
  '1; DROP TABLE orders; --',
  "Robert'); DROP TABLE accounts;--",
  '" OR ""="',
  '1 UNION SELECT token FROM tokens',
  '%',
  '%00',
  '%ZZ',
  '../../etc/passwd',
  '..%2f..%2f',
  '%2e%2e%2f',
  '..\\..\\',
  '${jndi:ldap://x/a}',
  '<script>alert(1)</script>',
  '{{7*7}}',
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
  'NaN',
  'Infinity',
  '-Infinity',
  '1e309',
  '0x10',
  '1_000',
  '١٢٣',
  'null',
  'undefined',
  'true',
  '[object Object]',
  'x'.repeat(256),
  'y'.repeat(5000),
  ...LONE_SURROGATES,
];
const NASTY_NUMBERS = [
  NaN,
  Infinity,
  -Infinity,
  -0,
  0,
  1e15,
  -1e15,
  5e-324,
  -5e-324,
  Number.MAX_VALUE,
  Number.MAX_SAFE_INTEGER,
  Number.MAX_SAFE_INTEGER + 2,
  Number.MIN_SAFE_INTEGER,
  1e21,
  1e-7,
  1e-9,
  0.1 + 0.2,
  100.30000000000001,
  -1,
  0.5,
  1.5,
  99_999_999.99,
  89_999_999_999_999.98,
  1e11,
  1e11 + 1,
  2 ** 31,
  2 ** 32,
  2 ** 64,
];
/** Raw JSON/form text: invalid JSON literals, numbers JS cannot hold, strings that look like numbers. */
const RAW_TOKENS = [
  'NaN',
  'Infinity',
  '-Infinity',
  '1e309',
  '-1e309',
  '-0',
  '1e15',
  '5e-324',
  '0.000000000000000000000000000001',
  '123456789012345678901234567890',
  '0x10',
  '+1',
  '.5',
  '1.',
  '01',
  '1e',
  '--1',
  'undefined',
  '"1.5"',
  '"NaN"',
  '"Infinity"',
  '"1e309"',
  '" 1 "',
  '"\\u0000"',
  '"\\ud800"',
  '[]',
  '{}',
  '[1,2]',
  '{"$gt":0}',
  'null',
  'true',
];

const loneSurrogateString = fc.string({
  unit: fc.integer({ min: 0xd800, max: 0xdfff }).map((code) => String.fromCharCode(code)),
  maxLength: 4,
});
export const controlString = fc.string({
  unit: fc.integer({ min: 0, max: 0x1f }).map((code) => String.fromCharCode(code)),
  maxLength: 6,
});
export const anyString: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...HOSTILE_STRINGS) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 30 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 30 }) },
  { weight: 1, arbitrary: fc.string({ maxLength: 300 }) },
  { weight: 1, arbitrary: loneSurrogateString },
  { weight: 1, arbitrary: controlString },
);

/** An object or array nested `depth` levels deep. */
function nested(depth: number, kind: 'object' | 'array'): unknown {
  let value: unknown = 1;
  for (let level = 0; level < depth; level++) value = kind === 'object' ? { a: value } : [value];
  return value;
}

export const hostileValue: fc.Arbitrary<Value> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...NASTY_NUMBERS).map(js) },
  { weight: 2, arbitrary: fc.double().map(js) },
  { weight: 1, arbitrary: fc.integer().map(js) },
  { weight: 3, arbitrary: fc.constantFrom(...RAW_TOKENS).map((text): Value => ({ raw: text })) },
  { weight: 4, arbitrary: anyString.map(js) },
  { weight: 1, arbitrary: fc.boolean().map(js) },
  { weight: 1, arbitrary: fc.constant(js(null)) },
  // Arrays are repeated parameters in a form or query.
  {
    weight: 2,
    arbitrary: fc.array(fc.oneof(fc.double(), anyString, fc.integer()), { maxLength: 4 }).map(js),
  },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }).map(js) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.integer({ min: 10, max: 4000 }), fc.constantFrom('object' as const, 'array' as const))
      .map(([depth, kind]) => js(nested(depth, kind))),
  },
);

/** Field sets: each known field absent, valid or hostile; plus stray and repeated keys. */
export function fieldsArb(spec: Record<string, fc.Arbitrary<Value>>): fc.Arbitrary<Fields> {
  const known = Object.entries(spec).map(([key, valid]) =>
    fc
      .oneof(
        { weight: 2, arbitrary: fc.constant(undefined) },
        { weight: 6, arbitrary: valid },
        { weight: 2, arbitrary: hostileValue },
      )
      .map((value): Fields => (value === undefined ? [] : [[key, value]])),
  );
  const strayKey = fc.oneof(
    fc.constantFrom(
      '__proto__',
      'constructor',
      'prototype',
      'x',
      '',
      ' ',
      'a[b]',
      'a.b',
      '$where',
      ...Object.keys(spec),
    ),
    anyString,
  );
  return fc
    .tuple(fc.tuple(...known), fc.array(fc.tuple(strayKey, hostileValue), { maxLength: 2 }), fc.boolean())
    .map(([parts, stray, shuffle]) => {
      const fields = [...parts.flat(), ...stray];
      return shuffle ? fields.reverse() : fields;
    });
}
