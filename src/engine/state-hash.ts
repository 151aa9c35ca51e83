/**
 * A stable digest of engine state, in the manner of exchange-core's `stateHash()`: two engines fed
 * the same inputs end with equal hashes, so a test can prove that a replay reproduced a run exactly.
 *
 * Invariants:
 * - The digest is taken over a canonical text form. Maps and sets are listed sorted by key, and
 *   plain objects by property name, so insertion order never changes the hash; arrays keep their
 *   order because it is meaningful (an order's deal list).
 * - The hash is 64-bit FNV-1a over UTF-16 code units: stable and fast, not cryptographic.
 */

const FNV_OFFSET = 0xcbf29ce484222325n;
const FNV_PRIME = 0x100000001b3n;
const MASK_64 = 0xffffffffffffffffn;

/** Canonical text of plain data: objects, arrays, maps, sets, strings, numbers, booleans, null. */
export function canonicalText(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'number':
    case 'boolean':
      return String(value);
    case 'bigint':
      return `${value}n`;
    case 'object':
      break;
    default:
      throw new Error(`canonicalText cannot encode a ${typeof value}`);
  }
  if (Array.isArray(value)) return `[${value.map(canonicalText).join(',')}]`;
  if (value instanceof Map) {
    const entries = [...value.entries()].map(([key, item]) => [canonicalText(key), canonicalText(item)]);
    entries.sort(([a = ''], [b = '']) => (a < b ? -1 : a > b ? 1 : 0));
    return `Map{${entries.map(([key, item]) => `${key}=>${item}`).join(',')}}`;
  }
  if (value instanceof Set) {
    const items = [...value].map(canonicalText).sort();
    return `Set{${items.join(',')}}`;
  }
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record).sort();
  return `{${keys.map((key) => `${JSON.stringify(key)}:${canonicalText(record[key])}`).join(',')}}`;
}

/** 64-bit FNV-1a of a text, as 16 hex digits. */
export function fnv1a64(text: string): string {
  let hash = FNV_OFFSET;
  for (let index = 0; index < text.length; index++) {
    hash ^= BigInt(text.charCodeAt(index));
    hash = (hash * FNV_PRIME) & MASK_64;
  }
  return hash.toString(16).padStart(16, '0');
}

/** Digest of plain data: `fnv1a64(canonicalText(value))`. */
export function hashState(value: unknown): string {
  return fnv1a64(canonicalText(value));
}
