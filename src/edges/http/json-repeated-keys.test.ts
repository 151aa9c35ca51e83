import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { firstRepeatedKey } from './json-repeated-keys.ts';

/** A JSON value whose objects are member lists, so a key may repeat (JSON.stringify cannot write that). */
type Tree =
  | { kind: 'scalar'; value: unknown }
  | { kind: 'array'; items: Tree[] }
  | { kind: 'object'; members: { key: string; spelling: 'plain' | 'escaped'; value: Tree }[] };

/** Keys from a tiny alphabet repeat often; the characters are the ones that could fool a scanner. */
const keyArb = fc.oneof(
  fc.constantFrom('volume', 'price', 'a', '', 'ä', '😀'),
  fc.string({ unit: fc.constantFrom('a', '"', '\\', ':', ',', '{', '}', '[', ']', ' ', '\n'), maxLength: 3 }),
);
const scalarArb = fc.oneof(
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.boolean(),
  fc.constant(null),
  keyArb,
  fc.string({ maxLength: 6 }),
);

const { tree } = fc.letrec<{ tree: Tree; object: Tree; array: Tree }>((tie) => ({
  tree: fc.oneof(
    { maxDepth: 4, depthIdentifier: 'json' },
    scalarArb.map((value): Tree => ({ kind: 'scalar', value })),
    tie('object'),
    tie('array'),
  ),
  array: fc.array(tie('tree'), { maxLength: 4 }).map((items): Tree => ({ kind: 'array', items })),
  object: fc
    .array(fc.record({ key: keyArb, spelling: fc.constantFrom('plain', 'escaped'), value: tie('tree') }), {
      maxLength: 5,
    })
    .map((members): Tree => ({
      kind: 'object',
      members: members as Extract<Tree, { kind: 'object' }>['members'],
    })),
}));

/** Every character as a \u escape: the same key, spelled so that only decoding shows it. */
function escapedKey(key: string): string {
  let out = '"';
  for (let at = 0; at < key.length; at++) out += `\\u${key.charCodeAt(at).toString(16).padStart(4, '0')}`;
  return out + '"';
}

/** Writes the tree with random-looking whitespace; notes the first key that repeats, in text order. */
function write(node: Tree, space: string, found: { key?: string }): string {
  if (node.kind === 'scalar') return JSON.stringify(node.value) ?? 'null';
  if (node.kind === 'array')
    return `[${space}${node.items.map((item) => write(item, space, found)).join(`${space},`)}]`;
  const seen = new Set<string>();
  const members = node.members.map(({ key, spelling, value }) => {
    if (seen.has(key) && found.key === undefined) found.key = key;
    seen.add(key);
    const name = spelling === 'plain' ? JSON.stringify(key) : escapedKey(key);
    return `${space}${name}${space}:${space}${write(value, space, found)}${space}`;
  });
  return `{${space}${members.join(',')}}`;
}

describe('firstRepeatedKey', () => {
  it('finds the first key repeated within one object, however spelled or nested', () => {
    assert.equal(firstRepeatedKey('{"volume":1,"volume":2}'), 'volume');
    assert.equal(firstRepeatedKey('{"volume":1,"\\u0076olume":2}'), 'volume');
    assert.equal(firstRepeatedKey('{"a":{"b":1,"b":2},"a":3}'), 'b');
    assert.equal(firstRepeatedKey('[{"x":1},{"x":2}]'), undefined);
    assert.equal(firstRepeatedKey('{"a":"a","b":["a","a"],"c":{"a":1}}'), undefined);
    assert.equal(firstRepeatedKey('{"k\\"":1,"k\\\\":2,"k\\"" : 3}'), 'k"');
    assert.equal(firstRepeatedKey('{"a":"\\"a\\":1,","a":2}'), 'a');
    assert.equal(firstRepeatedKey('"just a string"'), undefined);
    assert.equal(firstRepeatedKey('{}'), undefined);
  });

  it('agrees with the generated truth on any JSON text, repeated keys or not', () => {
    fc.assert(
      fc.property(tree, fc.constantFrom('', ' ', '\n\t', '\r\n  '), (node, space) => {
        const found: { key?: string } = {};
        const text = write(node, space, found);
        JSON.parse(text); // the scanner's precondition: valid JSON
        assert.equal(firstRepeatedKey(text), found.key);
      }),
      { numRuns: 20_000 },
    );
  });

  it('finds nothing in what JSON.stringify writes', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        assert.equal(firstRepeatedKey(JSON.stringify(value)), undefined);
      }),
      { numRuns: 5_000 },
    );
  });

  it("ends, and throws nothing but a key's decoding error, on text that is not JSON", () => {
    fc.assert(
      fc.property(
        fc.string({ unit: fc.constantFrom('{', '}', '[', ']', '"', '\\', ',', ':', 'a', ' ') }),
        (text) => {
          try {
            firstRepeatedKey(text);
          } catch (error) {
            // Decoding a key spelled with a broken escape may fail like JSON.parse; nothing else may.
            assert.ok(error instanceof SyntaxError, String(error));
          }
        },
      ),
      { numRuns: 5_000 },
    );
  });
});
