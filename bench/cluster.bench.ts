/**
 * Several server processes on one PostgreSQL: throughput with 1 and with 2 processes.
 *
 * A throwaway PostgreSQL cluster (fsync on) holds the data. For each process count, fresh
 * `stockstrader serve --database-url` processes start on a fresh database, and one load
 * generator per process drives it (the connections split between them): durable market orders
 * spread over 32 accounts, and GET account state. The figures are reported, not asserted: on a
 * 2-core machine, two server processes, PostgreSQL and the load generators share the same cores.
 */
import pg from 'pg';
import { AdminClient } from '../src/client/admin-client.ts';
import { startPostgresCluster } from '../test/support/postgres-cluster.ts';
import { BENCH_ADMIN_TOKEN, startServerProcess, type ServerProcess } from './http/server-process.ts';
import { load } from './http/run-load.ts';
import type { LoadResult, Scenario } from './http/load-generator.ts';

const ACCOUNTS = 32;
const CONNECTIONS = 32;

async function createDatabase(adminUrl: string, name: string): Promise<string> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${name}`);
  } finally {
    await client.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

async function setUp(url: string): Promise<{ token: string; accounts: string[] }> {
  const admin = new AdminClient({ baseUrl: url, token: BENCH_ADMIN_TOKEN });
  const userId = await admin.createUser('cluster-bench');
  const { token } = await admin.issueToken(userId);
  await admin.setQuote('AAPL.nq', { bid: 100, ask: 100.01 });
  const accounts: string[] = [];
  for (let index = 0; index < ACCOUNTS; index += 1) {
    accounts.push(
      await admin.createAccount({
        user_id: userId,
        name: `cluster ${index}`,
        type: 'demo',
        system: 'netting',
        currency: 'USD',
        balance: 1_000_000_000,
      }),
    );
  }
  return { token, accounts };
}

/** Drives every process at once, one load generator each; returns the summed rate and worst p99. */
async function drive(
  servers: readonly ServerProcess[],
  setup: { token: string; accounts: string[] },
  scenario: Scenario,
  seconds: number,
): Promise<{ rate: number; p99Ms: number }> {
  // Each process gets its own share of the accounts, as a load balancer routing by account would
  // do: any process can serve any account, but two serving one account at once race for it.
  const results: LoadResult[] = await Promise.all(
    servers.map((server, index) => {
      const share = setup.accounts.filter((_, position) => position % servers.length === index);
      return load({
        url: server.url,
        token: setup.token,
        scenario,
        connections: Math.ceil(CONNECTIONS / servers.length),
        durationSeconds: seconds,
        account: share[0] ?? '',
        pool: share,
      });
    }),
  );
  const errors = results.reduce((sum, result) => sum + result.errors, 0);
  const non2xx = results.reduce((sum, result) => sum + result.non2xx, 0);
  if (errors > 0 || non2xx > 0) {
    const refusals = JSON.stringify(results.map((result) => result.refusals));
    throw new Error(`${scenario}: ${errors} connection errors, ${non2xx} non-2xx answers: ${refusals}`);
  }
  return {
    rate: results.reduce((sum, result) => sum + result.requestsPerSecond, 0),
    p99Ms: Math.max(...results.map((result) => result.p99Ms)),
  };
}

export async function runClusterBench(options: { quick: boolean }): Promise<Record<string, number>> {
  const seconds = options.quick ? 1 : 5;
  const cluster = await startPostgresCluster();
  const figures: Record<string, number> = {};
  try {
    for (const processes of [1, 2]) {
      const url = await createDatabase(cluster.url, `bench_${processes}p`);
      const servers = await Promise.all(
        Array.from({ length: processes }, () => startServerProcess({ extraArgs: ['--database-url', url] })),
      );
      try {
        const setup = await setUp(servers[0]?.url ?? '');
        if (!options.quick) await drive(servers, setup, 'market-spread', 1);
        const writes = await drive(servers, setup, 'market-spread', seconds);
        const reads = await drive(servers, setup, 'account', seconds);
        figures[`market_orders_per_s_${processes}p`] = writes.rate;
        figures[`market_orders_p99_ms_${processes}p`] = writes.p99Ms;
        figures[`get_account_per_s_${processes}p`] = reads.rate;
      } finally {
        await Promise.all(servers.map((server) => server.stop()));
      }
    }
    figures.market_orders_2p_vs_1p =
      (figures.market_orders_per_s_2p ?? 0) / (figures.market_orders_per_s_1p ?? 1);
    figures.get_account_2p_vs_1p = (figures.get_account_per_s_2p ?? 0) / (figures.get_account_per_s_1p ?? 1);
    return figures;
  } finally {
    await cluster.stop();
  }
}
