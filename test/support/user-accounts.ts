/** A new user with one bearer token and one account, made through the admin API. */
import type { AdminClient } from '../../src/client/admin-client.ts';

export interface UserAccount {
  userId: string;
  token: string;
  accountId: string;
}

export interface UserAccountOptions {
  system?: 'netting' | 'hedging';
  currency?: string;
  balance?: number;
  /** The account's name (the user's name by default). */
  accountName?: string;
}

/** Creates the user `name`, issues it a token and opens a demo account (netting, USD, 100,000 by default). */
export async function createUserAccount(
  admin: AdminClient,
  name: string,
  options: UserAccountOptions = {},
): Promise<UserAccount> {
  const userId = await admin.createUser(name);
  const { token } = await admin.issueToken(userId);
  const accountId = await admin.createAccount({
    user_id: userId,
    name: options.accountName ?? name,
    type: 'demo',
    system: options.system ?? 'netting',
    currency: options.currency ?? 'USD',
    balance: options.balance ?? 100_000,
  });
  return { userId, token, accountId };
}
