/**
 * First-start seeding: the instrument catalogue, and a demo user with two USD accounts.
 * Each runs once per database; later starts leave what operators changed alone.
 */
import type { Instrument } from '../engine/model.ts';
import type { IdentityService } from './identity-service.ts';
import type { SettingsStore, TradingStore } from './storage.ts';
import type { TradingService } from './trading-service.ts';

export interface DemoCredentials {
  userId: string;
  token: string;
  nettingAccountId: string;
  hedgingAccountId: string;
}

const CATALOGUE_SETTING = 'catalogue_seeded';
const DEMO_SETTING = 'demo_seeded';
export const DEMO_BALANCE_CENTS = 100_000_00;

export async function seedCatalogue(
  storage: SettingsStore & Pick<TradingStore, 'putInstrument'>,
  instruments: readonly Instrument[],
): Promise<boolean> {
  if ((await storage.getSetting(CATALOGUE_SETTING)) !== undefined) return false;
  for (const instrument of instruments) await storage.putInstrument(instrument);
  await storage.setSetting(CATALOGUE_SETTING, String(instruments.length));
  return true;
}

export async function seedDemo(
  storage: SettingsStore,
  identity: IdentityService,
  trading: TradingService,
): Promise<DemoCredentials | undefined> {
  if ((await storage.getSetting(DEMO_SETTING)) !== undefined) return undefined;
  const userId = await identity.createUser('demo');
  const { token } = await identity.issueToken(userId);
  const common = { userId, type: 'demo', currency: 'USD', balance: DEMO_BALANCE_CENTS } as const;
  const netting = await trading.createAccount({ ...common, name: 'Demo netting', system: 'netting' });
  const hedging = await trading.createAccount({ ...common, name: 'Demo hedging', system: 'hedging' });
  await storage.setSetting(DEMO_SETTING, userId);
  return { userId, token, nettingAccountId: netting.id, hedgingAccountId: hedging.id };
}
