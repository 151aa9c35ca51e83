/**
 * HTTP throughput and latency, against a same-run baseline.
 *
 * A real `stockstrader serve` process (SQLite, synchronous=FULL, manual feed) and a bare Fastify
 * app answering the same routes with the same JSON (baseline-server.ts) each get the same
 * autocannon load from a third process (load-generator.ts), on loopback with keep-alive. Every
 * figure is printed with its ratio to the baseline, so a noisy machine moves both together.
 *
 * Scenarios: GET quote, GET account state, GET orders (100 rows), durable market orders, a market
 * order followed by finding and closing its deal, a limit order placed then canceled; and market
 * orders paced at 1,000/s for the tail latency a steady client sees.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AdminClient } from '../../src/client/admin-client.ts';
import { StocksTraderClient } from '../../src/client/stockstrader-client.ts';
import type { CannedResponses } from './baseline-server.ts';
import type { LoadRequest, LoadResult, Scenario } from './load-generator.ts';
import { BENCH_ADMIN_TOKEN, freePort, startServerProcess } from './server-process.ts';
import { load, median, runScript } from './run-load.ts';

const CONNECTIONS = 32;
const RATE_CONNECTIONS = 16;
const POOL_SIZE = CONNECTIONS + 8;

interface Setup {
  token: string;
  reads: string;
  market: string;
  limits: string;
  pool: string[];
}

async function setUp(url: string): Promise<Setup> {
  const admin = new AdminClient({ baseUrl: url, token: BENCH_ADMIN_TOKEN });
  const userId = await admin.createUser('bench');
  const { token } = await admin.issueToken(userId);
  const account = (system: 'netting' | 'hedging', name: string): Promise<string> =>
    admin.createAccount({
      user_id: userId,
      name,
      type: 'demo',
      system,
      currency: 'USD',
      balance: 1_000_000_000,
    });
  await admin.setQuote('AAPL.nq', { bid: 100, ask: 100.01 });
  const reads = await account('netting', 'reads');
  const market = await account('netting', 'market');
  const limits = await account('hedging', 'limits');
  const pool: string[] = [];
  for (let index = 0; index < POOL_SIZE; index += 1) pool.push(await account('hedging', `pool ${index}`));
  const client = new StocksTraderClient({ baseUrl: url, token });
  for (let index = 0; index < 100; index += 1) {
    await client.placeOrder(reads, {
      ticker: 'AAPL.nq',
      side: 'buy',
      type: 'limit',
      volume: 1,
      price: 50 + index / 100,
    });
  }
  return { token, reads, market, limits, pool };
}

/** One real response body per route, for the baseline to answer with. */
async function capture(url: string, setup: Setup): Promise<CannedResponses> {
  const get = async (path: string, init: RequestInit = {}): Promise<unknown> => {
    const response = await fetch(`${url}${path}`, {
      ...init,
      headers: { authorization: `Bearer ${setup.token}`, ...(init.headers ?? {}) },
    });
    if (!response.ok)
      throw new Error(`${init.method ?? 'GET'} ${path}: ${response.status} ${await response.text()}`);
    return response.json();
  };
  const form = { 'content-type': 'application/x-www-form-urlencoded' };
  const base = `/api/v1/accounts/${setup.reads}`;
  const poolAccount = `/api/v1/accounts/${setup.pool[0]}`;
  await get(`${poolAccount}/orders`, {
    method: 'POST',
    headers: form,
    body: 'ticker=AAPL.nq&side=buy&type=market&volume=1',
  });
  const deals = await get(`${poolAccount}/deals`);
  const dealId = (deals as { data: { id: string }[] }).data[0]?.id;
  const ok = await get(`${poolAccount}/deals/${dealId}`, { method: 'DELETE' });
  const placed = await get(`/api/v1/accounts/${setup.limits}/orders`, {
    method: 'POST',
    headers: form,
    body: 'ticker=AAPL.nq&side=buy&type=limit&volume=1&price=50',
  });
  await get(
    `/api/v1/accounts/${setup.limits}/orders/${(placed as { data: { order_id: string } }).data.order_id}`,
    {
      method: 'DELETE',
    },
  );
  return {
    quote: await get(`${base}/instruments/AAPL.nq/quote`),
    account: await get(base),
    orders: await get(`${base}/orders`),
    deals,
    placed,
    ok,
  };
}

interface ScenarioPlan {
  name: string;
  scenario: Scenario;
  account: (setup: Setup) => string;
}

const PLANS: readonly ScenarioPlan[] = [
  { name: 'get_quote', scenario: 'quote', account: (setup) => setup.reads },
  { name: 'get_account', scenario: 'account', account: (setup) => setup.reads },
  { name: 'get_orders_100', scenario: 'orders', account: (setup) => setup.reads },
  { name: 'market_order', scenario: 'market', account: (setup) => setup.market },
  { name: 'market_find_close', scenario: 'market-close', account: (setup) => setup.pool[0] ?? '' },
  { name: 'limit_place_cancel', scenario: 'limit-cancel', account: (setup) => setup.limits },
];

export async function runHttpBench(options: { quick: boolean }): Promise<Record<string, number>> {
  const seconds = options.quick ? 1 : 3;
  const server = await startServerProcess();
  const dir = mkdtempSync(join(tmpdir(), 'stockstrader-baseline-'));
  let baseline: { kill(): void } | undefined;
  try {
    const setup = await setUp(server.url);
    const cannedFile = join(dir, 'canned.json');
    writeFileSync(cannedFile, JSON.stringify(await capture(server.url, setup)));
    const baselinePort = await freePort();
    const started = runScript('baseline-server.ts', [String(baselinePort), cannedFile], 'ready');
    baseline = started;
    await started.output;
    const baselineUrl = `http://127.0.0.1:${baselinePort}`;

    const figures: Record<string, number> = {};
    // BENCH_HTTP_SCENARIOS=get_quote,market_order runs only those (e.g. while profiling one).
    const only = process.env.BENCH_HTTP_SCENARIOS?.split(',');
    for (const plan of PLANS.filter((candidate) => !only || only.includes(candidate.name))) {
      const request = (url: string, durationSeconds: number): LoadRequest => ({
        url,
        token: setup.token,
        scenario: plan.scenario,
        connections: CONNECTIONS,
        durationSeconds,
        account: plan.account(setup),
        pool: setup.pool,
      });
      if (!options.quick) {
        // Warm both up (JIT, connection pools, SQLite page cache) before measuring.
        await load(request(server.url, 1));
        await load(request(baselineUrl, 1));
      }
      // Alternate short rounds against each, so a noisy neighbour slows both alike; take medians.
      const ours: LoadResult[] = [];
      const bare: LoadResult[] = [];
      for (let round = 0; round < (options.quick ? 1 : 3); round += 1) {
        ours.push(await load(request(server.url, seconds)));
        bare.push(await load(request(baselineUrl, seconds)));
      }
      const failed = ours.find((result) => result.non2xx > 0 || result.errors > 0);
      if (failed) {
        throw new Error(
          `${plan.name}: ${failed.non2xx} non-2xx responses and ${failed.errors} errors from the server: ${JSON.stringify(failed.refusals)}`,
        );
      }
      const cycles = plan.scenario === 'market-close' || plan.scenario === 'limit-cancel';
      const unit = cycles ? 'cycles' : 'req';
      const rate = (result: LoadResult): number =>
        cycles ? result.cyclesPerSecond : result.requestsPerSecond;
      figures[`${plan.name}_${unit}_per_s`] = median(ours.map(rate));
      figures[`${plan.name}_baseline_${unit}_per_s`] = median(bare.map(rate));
      figures[`${plan.name}_vs_baseline`] = median(ours.map(rate)) / median(bare.map(rate));
      figures[`${plan.name}_p50_ms`] = median(ours.map((result) => result.p50Ms));
      figures[`${plan.name}_p99_ms`] = median(ours.map((result) => result.p99Ms));
    }
    if (only && !only.includes('market_order_paced')) return figures;
    const paced = await load({
      url: server.url,
      token: setup.token,
      scenario: 'market',
      connections: RATE_CONNECTIONS,
      durationSeconds: options.quick ? 2 : 10,
      rate: 1_000,
      account: setup.market,
      pool: setup.pool,
    });
    if (paced.non2xx > 0 || paced.errors > 0)
      throw new Error(`paced market orders: ${paced.non2xx} non-2xx: ${JSON.stringify(paced.refusals)}`);
    figures.market_order_paced_1000_achieved_per_s = paced.requestsPerSecond;
    figures.market_order_paced_1000_p50_ms = paced.p50Ms;
    figures.market_order_paced_1000_p99_ms = paced.p99Ms;
    return figures;
  } finally {
    baseline?.kill();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
