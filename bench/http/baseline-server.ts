/**
 * The same-run baseline: a bare Fastify app on the same routes that does no work. It answers each
 * route with a response body captured from the real server in the same run (same JSON shapes and
 * sizes), serialised per request as Fastify does by default, so the ratio against it isolates what
 * our validation, authentication, engine and durable storage cost.
 *
 * Usage: node --import tsx bench/http/baseline-server.ts <port> <file with CannedResponses as JSON>
 */
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import Fastify from 'fastify';

export interface CannedResponses {
  quote: unknown;
  account: unknown;
  orders: unknown;
  deals: unknown;
  placed: unknown;
  ok: unknown;
}

export async function startBaseline(port: number, canned: CannedResponses): Promise<() => Promise<void>> {
  const app = Fastify({ logger: false });
  // Accept the form bodies clients send, without parsing them: the baseline does no work.
  app.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string' },
    (_request, body, done) => done(null, body),
  );
  const base = '/api/v1/accounts/:account_id';
  app.get(`${base}/instruments/:ticker/quote`, async () => canned.quote);
  app.get(base, async () => canned.account);
  app.get(`${base}/orders`, async () => canned.orders);
  app.get(`${base}/deals`, async () => canned.deals);
  app.post(`${base}/orders`, async () => canned.placed);
  app.delete(`${base}/orders/:order_id`, async () => canned.ok);
  app.delete(`${base}/deals/:deal_id`, async () => canned.ok);
  await app.listen({ port, host: '127.0.0.1' });
  return () => app.close();
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const canned = JSON.parse(readFileSync(process.argv[3] ?? '', 'utf8')) as CannedResponses;
  await startBaseline(Number(process.argv[2]), canned);
  process.stdout.write('ready\n');
  process.on('SIGTERM', () => process.exit(0));
}
