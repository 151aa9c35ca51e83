/** Requests the HTTP parser or the URL decoder refuses before any route runs. */
import fc from 'fast-check';
import { ADMIN_TOKEN } from '../test-server.ts';
import { printable, type HostileRequest } from './raw-http.ts';
import { assemble } from './requests.ts';
import { controlString } from './values.ts';

/**
 * Garbage the HTTP parser or the URL decoder refuses: malformed percent-encoding in the path,
 * method tokens it does not know, control characters in headers, raw spaces or non-ASCII in the
 * target, broken chunked framing, heads over 16 KiB.
 */
export function belowRouterArb(): fc.Arbitrary<HostileRequest> {
  const badEscape = fc.constantFrom(
    '%',
    '%Z',
    '%ZZ',
    '%E0%A4%A',
    '%FF',
    '%ED%A0%80',
    '%C0%AF',
    '%%',
    '%u0041',
    '%0',
  );
  const prefix = fc.constantFrom(
    '/api/v1/accounts/',
    '/api/v1/',
    '/admin/v1/quotes/',
    '/admin/v1/accounts/',
    '/',
  );
  const auth = fc.constantFrom(`Bearer ${ADMIN_TOKEN}`, 'Bearer x', undefined);
  return fc.oneof(
    fc
      .tuple(prefix, badEscape, fc.constantFrom('', '/orders', '/deals/1', '?limit=1'), auth)
      .map(([head, junk, tail, header]) =>
        assemble('bad percent-encoding', 'GET', head + junk + tail, header, {}),
      ),
    fc
      .tuple(fc.constantFrom('FOO', 'get', 'G3T', 'PRI', 'X-Y', 'GETT', 'DELETEX'), prefix, auth)
      .map(([method, path, header]) => assemble('unknown method token', method, path, header, {})),
    fc
      .tuple(
        controlString.filter((text) => /[^\t]/.test(text)),
        auth,
      )
      .map(([junk, header]) =>
        printable({
          label: 'control character in a header',
          method: 'GET',
          target: '/api/v1/accounts',
          headers: [['Authorization', `${header ?? 'Bearer'} ${junk}x`]],
        }),
      ),
    fc
      .tuple(
        fc.constantFrom(
          '/api/v1/accounts /x',
          '/api/v1/accounts/😀',
          'api/v1/accounts',
          '/api/v1/\u00e9',
          '//',
        ),
        auth,
      )
      .map(([target, header]) => assemble('raw target', 'GET', target, header, {})),
    fc
      .tuple(
        fc.constantFrom(
          'zz\r\nxx\r\n',
          '5\r\n{"nam\r\n8\r\ne":"ab"}\r\n0\r\n\r\n',
          '3\r\nabcdef\r\n0\r\n\r\n',
          '-1\r\n\r\n',
          '2\r\nabc\r\n0\r\n\r\n',
          '0\r\n\r\n',
        ),
        fc.boolean(),
      )
      .map(([body, withLength]) =>
        printable({
          label: 'chunked framing',
          method: 'POST',
          target: '/admin/v1/users',
          headers: [
            ['Authorization', `Bearer ${ADMIN_TOKEN}`],
            ['Content-Type', 'application/json'],
            ['Transfer-Encoding', 'chunked'],
            ...(withLength ? [['Content-Length', String(body.length)] as [string, string]] : []),
          ],
          body: Buffer.from(body),
          framing: 'raw',
        }),
      ),
    fc
      .tuple(fc.integer({ min: 17_000, max: 40_000 }), fc.constantFrom('header', 'target'))
      .map(([size, where]) =>
        where === 'header'
          ? assemble('oversized head', 'GET', '/api/v1/accounts', `Bearer ${'x'.repeat(size)}`, {})
          : assemble('oversized head', 'GET', `/api/v1/accounts?q=${'y'.repeat(size)}`, 'Bearer x', {}),
      ),
  );
}
