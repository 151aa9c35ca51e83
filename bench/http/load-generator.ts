/**
 * The load generator: runs one autocannon scenario against a server and prints its result as one
 * JSON line. It is started as a separate process by http.bench.ts so that generating load never
 * shares a process (or an event loop) with the server under test.
 *
 * Usage: node --import tsx bench/http/load-generator.ts '<LoadRequest as JSON>'
 */
import { Agent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { pathToFileURL } from 'node:url';
import autocannon, { type Request } from 'autocannon';

export const SCENARIOS = [
  'quote',
  'account',
  'orders',
  'market',
  'market-spread',
  'market-close',
  'limit-cancel',
] as const;
export type Scenario = (typeof SCENARIOS)[number];

export interface LoadRequest {
  url: string;
  token: string;
  scenario: Scenario;
  connections: number;
  durationSeconds: number;
  /** Paced market orders at this many per second (see runPaced); absent means as fast as possible. */
  rate?: number;
  /** The account read from and traded in; `market-close` takes one free account per cycle from `pool`. */
  account: string;
  pool: string[];
}

export interface LoadResult {
  requestsPerSecond: number;
  /** Completed request sequences per second (one per request for single-request scenarios). */
  cyclesPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  requests: number;
  non2xx: number;
  /** Refused requests by status, each with the first body seen, so a bench names its refusals. */
  refusals: Record<string, { count: number; sample: string }>;
  errors: number;
}

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

interface Context {
  account?: string | undefined;
  orderId?: string | undefined;
  dealId?: string | undefined;
}

function scenarioRequests(load: LoadRequest): Request[] {
  const base = `/api/v1/accounts/${load.account}`;
  switch (load.scenario) {
    case 'quote':
      return [{ method: 'GET', path: `${base}/instruments/AAPL.nq/quote` }];
    case 'account':
      return [{ method: 'GET', path: base }];
    case 'orders':
      return [{ method: 'GET', path: `${base}/orders` }];
    case 'market': {
      // A netting account: alternate buys and sells per connection, so every order fills and the
      // position stays small. Each request is one durable market order.
      let flip = 0;
      return [
        {
          method: 'POST',
          path: `${base}/orders`,
          headers: FORM,
          setupRequest: (request) => {
            flip += 1;
            return {
              ...request,
              body: `ticker=AAPL.nq&side=${flip % 2 ? 'buy' : 'sell'}&type=market&volume=1`,
            };
          },
        },
      ];
    }
    case 'market-spread': {
      // Market orders spread over the pool's accounts in turn, buys and sells alternating per
      // account: the load a server with many active accounts sees.
      let next = 0;
      return [
        {
          method: 'POST',
          headers: FORM,
          setupRequest: (request) => {
            const account = load.pool[next % load.pool.length];
            const side = Math.floor(next / load.pool.length) % 2 ? 'sell' : 'buy';
            next += 1;
            return {
              ...request,
              path: `/api/v1/accounts/${account}/orders`,
              body: `ticker=AAPL.nq&side=${side}&type=market&volume=1`,
            };
          },
        },
      ];
    }
    case 'market-close': {
      // Open a deal with a market order, find it as a client would, close it. Each cycle owns a
      // hedging account from the pool, so the deal list holds exactly its deal.
      const free = [...load.pool];
      return [
        {
          method: 'POST',
          headers: FORM,
          body: 'ticker=AAPL.nq&side=buy&type=market&volume=1',
          setupRequest: (request, context: Context) => {
            const account = free.pop();
            if (!account) throw new Error('account pool exhausted: more connections than accounts');
            context.account = account;
            return { ...request, path: `/api/v1/accounts/${account}/orders` };
          },
        },
        {
          method: 'GET',
          setupRequest: (request, context: Context) => ({
            ...request,
            path: `/api/v1/accounts/${context.account}/deals`,
          }),
          onResponse: (_status, body, context: Context) => {
            const deals = (JSON.parse(body) as { data?: { id: string }[] }).data ?? [];
            context.dealId = deals[0]?.id;
          },
        },
        {
          method: 'DELETE',
          setupRequest: (request, context: Context) => ({
            ...request,
            path: `/api/v1/accounts/${context.account}/deals/${context.dealId}`,
          }),
          onResponse: (_status, _body, context: Context) => {
            if (context.account) free.push(context.account);
          },
        },
      ];
    }
    case 'limit-cancel':
      return [
        {
          method: 'POST',
          path: `${base}/orders`,
          headers: FORM,
          body: 'ticker=AAPL.nq&side=buy&type=limit&volume=1&price=50',
          onResponse: (_status, body, context: Context) => {
            context.orderId = (JSON.parse(body) as { data?: { order_id: string } }).data?.order_id;
          },
        },
        {
          method: 'DELETE',
          setupRequest: (request, context: Context) => ({
            ...request,
            path: `${base}/orders/${context.orderId}`,
          }),
        },
      ];
  }
}

/**
 * Market orders at a fixed rate, with latency measured from each request's scheduled start (so a
 * stall is charged to every request it delays, not hidden: no coordinated omission) at
 * microsecond resolution (autocannon's histogram counts whole milliseconds).
 */
async function runPaced(load: LoadRequest & { rate: number }): Promise<LoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: load.connections });
  const target = new URL(`${load.url}/api/v1/accounts/${load.account}/orders`);
  const total = Math.round(load.rate * load.durationSeconds);
  const latencies: number[] = [];
  let non2xx = 0;
  const refusals: LoadResult['refusals'] = {};
  let errors = 0;
  const send = (index: number, scheduled: number): Promise<void> =>
    new Promise((resolve) => {
      const body = `ticker=AAPL.nq&side=${index % 2 ? 'sell' : 'buy'}&type=market&volume=1`;
      const request = httpRequest(
        target,
        {
          method: 'POST',
          agent,
          headers: {
            ...FORM,
            authorization: `Bearer ${load.token}`,
            'content-length': Buffer.byteLength(body),
          },
        },
        (response) => {
          const status = response.statusCode ?? 0;
          let text = '';
          response.on('data', (chunk: Buffer) => {
            if (status >= 300) text += chunk.toString();
          });
          response.on('end', () => {
            latencies.push(performance.now() - scheduled);
            if (status >= 300) {
              non2xx += 1;
              const seen = (refusals[String(status)] ??= { count: 0, sample: text.slice(0, 300) });
              seen.count += 1;
            }
            resolve();
          });
        },
      );
      request.on('error', () => {
        errors += 1;
        resolve();
      });
      request.end(body);
    });
  const inFlight: Promise<void>[] = [];
  const start = performance.now();
  let sent = 0;
  while (sent < total) {
    const due = Math.min(total, Math.floor(((performance.now() - start) / 1000) * load.rate) + 1);
    for (; sent < due; sent += 1) inFlight.push(send(sent, start + (sent / load.rate) * 1000));
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  await Promise.all(inFlight);
  const elapsed = (performance.now() - start) / 1000;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const percentile = (p: number): number =>
    latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? NaN;
  return {
    requestsPerSecond: latencies.length / elapsed,
    cyclesPerSecond: latencies.length / elapsed,
    p50Ms: percentile(0.5),
    p99Ms: percentile(0.99),
    requests: latencies.length,
    non2xx,
    refusals,
    errors,
  };
}

export async function runLoad(load: LoadRequest): Promise<LoadResult> {
  if (load.rate !== undefined) return runPaced({ ...load, rate: load.rate });
  const refusals: LoadResult['refusals'] = {};
  const requests: Request[] = scenarioRequests(load).map((request) => {
    const inner = request.onResponse;
    return {
      ...request,
      onResponse: (
        status: number,
        body: string,
        context: object,
        headers: IncomingHttpHeaders | undefined,
      ) => {
        if (status >= 300) {
          const seen = (refusals[String(status)] ??= { count: 0, sample: body.slice(0, 300) });
          seen.count += 1;
        }
        if (typeof inner === 'function') inner(status, body, context, headers);
      },
    };
  });
  const result = await autocannon({
    url: load.url,
    connections: load.connections,
    duration: load.durationSeconds,
    headers: { authorization: `Bearer ${load.token}` },
    requests,
  });
  const seconds = load.durationSeconds;
  return {
    requestsPerSecond: result.requests.total / seconds,
    cyclesPerSecond: result.requests.total / requests.length / seconds,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    requests: result.requests.total,
    non2xx: result.non2xx,
    refusals,
    errors: result.errors + result.timeouts,
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const load = JSON.parse(process.argv[2] ?? '{}') as LoadRequest;
  process.stdout.write(JSON.stringify(await runLoad(load)) + '\n');
}
