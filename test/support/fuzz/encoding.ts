/**
 * Encoding field sets as JSON, forms and queries, and bodies of every other shape a client might
 * send (none, empty, text, multipart, binary, broken JSON) under any content type.
 */
import fc from 'fast-check';
import { anyString, type Fields, type Value } from './values.ts';

const UNRESERVED = /[A-Za-z0-9\-._~]/;
/** Percent-encodes the UTF-8 bytes of a string (lone surrogates become U+FFFD). */
export function pct(text: string): string {
  let out = '';
  for (const char of text) {
    if (UNRESERVED.test(char)) out += char;
    else
      for (const byte of Buffer.from(char, 'utf8'))
        out += '%' + byte.toString(16).toUpperCase().padStart(2, '0');
  }
  return out;
}

function formTexts(value: Value): string[] {
  if ('raw' in value) return [value.raw];
  const item = value.js;
  if (Array.isArray(item)) return item.length === 0 ? [''] : item.map((entry) => scalarText(entry));
  return [scalarText(item)];
}

function scalarText(item: unknown): string {
  if (typeof item === 'number') return Object.is(item, -0) ? '-0' : String(item);
  if (typeof item === 'string') return item;
  if (item === null || item === undefined) return '';
  if (typeof item === 'object') return JSON.stringify(item) ?? '';
  return String(item);
}

export function encodeForm(fields: Fields): string {
  return fields
    .flatMap(([key, value]) => formTexts(value).map((text) => `${pct(key)}=${pct(text)}`))
    .join('&');
}

export function encodeJson(fields: Fields): string {
  const members = fields.map(
    ([key, value]) =>
      `${JSON.stringify(key)}:${'raw' in value ? value.raw : (JSON.stringify(value.js) ?? 'null')}`,
  );
  return `{${members.join(',')}}`;
}

const BODY_KINDS = [
  'json',
  'json',
  'json',
  'form',
  'form',
  'form',
  'none',
  'empty',
  'text',
  'multipart',
  'binary',
  'json-array',
  'json-scalar',
  'json-broken',
] as const;

const CONTENT_TYPES = [
  'application/json',
  'application/json',
  'application/x-www-form-urlencoded',
  'application/x-www-form-urlencoded',
  undefined,
  'text/plain',
  'application/json; charset=utf-8',
  'application/x-www-form-urlencoded; charset=latin1',
  'APPLICATION/JSON',
  'multipart/form-data; boundary=----x',
  'application/xml',
  'application/octet-stream',
  '*/*',
  'application/json, text/plain',
  ';;;==',
  'text/html; charset=utf-16',
  'application/vnd.api+json',
];

export const bodyShape = fc.record({
  kind: fc.constantFrom(...BODY_KINDS),
  contentType: fc.oneof(
    { weight: 9, arbitrary: fc.constantFrom(...CONTENT_TYPES) },
    { weight: 1, arbitrary: fc.string({ unit: 'grapheme-ascii', maxLength: 60 }) },
  ),
  junk: fc.oneof(
    anyString,
    fc.uint8Array({ maxLength: 200 }).map((bytes) => Buffer.from(bytes).toString('latin1')),
  ),
  binary: fc.uint8Array({ maxLength: 300 }),
});

export function encodeBody(
  fields: Fields,
  shape: typeof bodyShape extends fc.Arbitrary<infer T> ? T : never,
): { body?: Buffer; contentType?: string } {
  const contentType = shape.contentType;
  const withType = (body: Buffer): { body: Buffer; contentType?: string } =>
    contentType === undefined ? { body } : { body, contentType };
  switch (shape.kind) {
    case 'json':
      return withType(Buffer.from(encodeJson(fields), 'utf8'));
    case 'form':
      return withType(Buffer.from(encodeForm(fields), 'utf8'));
    case 'none':
      return contentType === undefined ? {} : { contentType };
    case 'empty':
      return withType(Buffer.alloc(0));
    case 'text':
      return withType(Buffer.from(shape.junk, 'utf8'));
    case 'multipart':
      return withType(
        Buffer.from(
          `------x\r\nContent-Disposition: form-data; name="${fields[0]?.[0] ?? 'ticker'}"\r\n\r\n${shape.junk}\r\n------x--\r\n`,
          'utf8',
        ),
      );
    case 'binary':
      return withType(Buffer.from(shape.binary));
    case 'json-array':
      return withType(Buffer.from(`[${encodeJson(fields)}]`, 'utf8'));
    case 'json-scalar':
      return withType(Buffer.from(JSON.stringify(shape.junk) ?? '""', 'utf8'));
    case 'json-broken':
      return withType(Buffer.from(encodeJson(fields).slice(0, -1) + ',', 'utf8'));
  }
}

export function encodeQuery(fields: Fields, junk: string | undefined): string {
  const text = encodeForm(fields) + (junk ?? '');
  return text === '' ? '' : `?${text}`;
}

export const QUERY_JUNK = [
  '',
  '&',
  '&&&',
  '%',
  '%FF',
  '%ED%A0%80',
  '%C0%AF',
  '&=',
  '&==&',
  '#frag',
  '&a',
  '&%00=%00',
];
