/** Assembling a request from its parts, with header values the HTTP parser accepts. */
import fc from 'fast-check';
import { printable, type HostileRequest } from './raw-http.ts';
import { anyString } from './values.ts';

/**
 * Header values may carry any byte the HTTP parser accepts (printable ASCII, tab, and UTF-8
 * bytes as obs-text); control characters are refused by the parser itself (see the todo below).
 */
export function headerSafe(text: string): string {
  let out = '';
  for (const char of text) {
    const code = char.charCodeAt(0);
    out += (code < 0x20 && code !== 0x09) || code === 0x7f ? '?' : char;
  }
  return out;
}

export const EXTRA_HEADERS = fc.array(
  fc.oneof(
    fc.constant<[string, string]>(['Expect', '100-continue']),
    fc.constant<[string, string]>(['Accept', 'text/html']),
    fc.constant<[string, string]>(['Accept-Encoding', 'gzip, br']),
    fc.constant<[string, string]>(['Content-Encoding', 'gzip']),
    fc.constant<[string, string]>(['X-HTTP-Method-Override', 'DELETE']),
    fc.constant<[string, string]>(['X-Forwarded-For', '1.2.3.4, ::1, garbage']),
    anyString.map((text): [string, string] => ['X-Request-Id', headerSafe(text).slice(0, 2000)]),
    anyString.map((text): [string, string] => ['X-Fuzz', headerSafe(text).slice(0, 2000)]),
  ),
  { maxLength: 2 },
);

/** A request from its parts; header values are made parser-safe, the rest is sent as is. */
export function assemble(
  label: string,
  method: string,
  target: string,
  auth: string | undefined,
  encoded: { body?: Buffer; contentType?: string },
  extra: [string, string][] = [],
): HostileRequest {
  const headers: [string, string][] = [];
  if (auth !== undefined) headers.push(['Authorization', headerSafe(auth)]);
  if (encoded.contentType !== undefined) headers.push(['Content-Type', headerSafe(encoded.contentType)]);
  headers.push(...extra);
  return printable({
    method,
    target,
    headers,
    ...(encoded.body === undefined ? {} : { body: encoded.body }),
    label,
  });
}
