/**
 * The adapter's connection pool and transactions.
 *
 * Durability: `openPool` refuses a server or session where fsync or synchronous_commit is off
 * (the pool asks for synchronous_commit=on unless the URL carries its own `options`), so a
 * committed write has reached the disk before its promise resolves.
 *
 * Integers: BIGINT columns come back as JS numbers through this pool's own type parser, which
 * throws rather than round a value beyond Number.MAX_SAFE_INTEGER.
 */
import { Pool, TypeOverrides } from 'pg';
import type { PoolClient } from 'pg';

const BIGINT_OID = 20;

/** A pool on `url` whose durability settings have been checked; it is ended again if they fail. */
export async function openPool(url: string): Promise<Pool> {
  const types = new TypeOverrides();
  types.setTypeParser(BIGINT_OID, parseSafeInteger);
  const pool = new Pool({ connectionString: url, types, options: '-c synchronous_commit=on' });
  // An idle pooled connection that breaks (a server restart) is discarded by the pool; the
  // next query opens a new one or fails itself. Without a listener the error would crash us.
  pool.on('error', () => undefined);
  try {
    await checkDurability(pool);
    return pool;
  } catch (error) {
    await pool.end();
    throw error;
  }
}

/** Runs `work` between `begin` and COMMIT on `client`, then releases it; rolls back if it throws. */
export async function inTransaction<T>(
  client: PoolClient,
  begin: string,
  work: (client: PoolClient) => Promise<T>,
): Promise<T> {
  try {
    await client.query(begin);
    const result = await work(client);
    await client.query('COMMIT');
    client.release();
    return result;
  } catch (error) {
    // A connection whose rollback failed is in an unknown state: destroy it rather than reuse it.
    const broken = await client.query('ROLLBACK').then(
      () => undefined,
      (rollbackError: unknown) => rollbackError,
    );
    client.release(broken instanceof Error ? broken : undefined);
    throw error;
  }
}

function parseSafeInteger(text: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value)) {
    throw new Error(`BIGINT value ${text} is beyond Number.MAX_SAFE_INTEGER and cannot be read exactly`);
  }
  return value;
}

async function checkDurability(pool: Pool): Promise<void> {
  const { rows } = await pool.query<{ fsync: string; synchronous_commit: string }>(
    `SELECT current_setting('fsync') AS fsync, current_setting('synchronous_commit') AS synchronous_commit`,
  );
  const settings = rows[0];
  if (settings?.fsync !== 'on' || settings.synchronous_commit === 'off') {
    throw new Error(
      `PostgreSQL must run with fsync=on and synchronous_commit on so that a committed change survives a crash; ` +
        `this connection has fsync=${settings?.fsync} and synchronous_commit=${settings?.synchronous_commit}`,
    );
  }
}
