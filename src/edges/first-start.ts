/**
 * First-start seeding: the admin token (generated when none is configured or stored, and only its
 * hash kept), the demo user with its accounts, and the owner-only credentials file beside a SQLite
 * database that shows them once. A later start finds the stored hash and the demo user and seeds
 * nothing; PostgreSQL and `:memory:` databases get no credentials file.
 */
import { seedDemo, type DemoCredentials } from '../application/bootstrap.ts';
import { IdentityService, generateToken, hashToken } from '../application/identity-service.ts';
import type { Storage } from '../application/storage.ts';
import type { TradingService } from '../application/trading-service.ts';
import type { ServerConfig } from './config.ts';
import { credentialsPath, credentialsText, writeOwnerOnlyFile } from './credentials-file.ts';
import { StartupError } from './startup-error.ts';

export interface FirstStart {
  adminToken: string | undefined;
  demo: DemoCredentials | undefined;
  credentialsFile: string | undefined;
}

const ADMIN_HASH_SETTING = 'admin_token_hash';

/** Seeds the admin token and the demo user where missing; the service must be loaded. */
export async function seedFirstStart(
  config: ServerConfig,
  storage: Storage,
  trading: TradingService,
): Promise<{ identity: IdentityService; firstStart: FirstStart }> {
  const firstStart: FirstStart = { adminToken: undefined, demo: undefined, credentialsFile: undefined };
  let adminHash =
    config.adminToken === undefined
      ? await storage.getSetting(ADMIN_HASH_SETTING)
      : hashToken(config.adminToken);
  if (adminHash === undefined) {
    firstStart.adminToken = generateToken('admin');
    adminHash = hashToken(firstStart.adminToken);
    await storage.setSetting(ADMIN_HASH_SETTING, adminHash);
  }
  const identity = new IdentityService(storage, adminHash, () => trading.now());
  if (config.seedDemo) firstStart.demo = await seedDemo(storage, identity, trading);
  return { identity, firstStart };
}

/** Writes what a first start generated beside a SQLite database file, and notes where. */
export function saveFirstStartCredentials(config: ServerConfig, firstStart: FirstStart): void {
  if (
    config.databaseUrl !== undefined ||
    config.db === ':memory:' ||
    (!firstStart.demo && !firstStart.adminToken)
  )
    return;
  firstStart.credentialsFile = credentialsPath(config.db);
  try {
    writeOwnerOnlyFile(firstStart.credentialsFile, credentialsText(firstStart));
  } catch (error) {
    throw new StartupError(`cannot write ${firstStart.credentialsFile}: ${(error as Error).message}`);
  }
}
