import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SqliteStorage } from '../adapters/storage/sqlite/sqlite-storage.ts';
import {
  FAILED_LOOKUP_TTL_MS,
  IdentityService,
  MAX_FAILED_LOOKUPS,
  SESSION_TTL_MS,
  hashToken,
} from './identity-service.ts';

/** A real SQLite store whose token lookups are counted. */
function countingStorage(): { storage: SqliteStorage; lookups: () => number } {
  const storage = SqliteStorage.open(':memory:');
  const findTokenUser = storage.findTokenUser.bind(storage);
  let count = 0;
  storage.findTokenUser = (tokenHash: string) => {
    count += 1;
    return findTokenUser(tokenHash);
  };
  return { storage, lookups: () => count };
}

describe('identity service: failed token lookups', () => {
  let storage: SqliteStorage;
  let lookups: () => number;
  let now: number;
  let identity: IdentityService;

  beforeEach(() => {
    ({ storage, lookups } = countingStorage());
    now = 1_000_000;
    identity = new IdentityService(
      storage,
      hashToken('admin'),
      () => 1_700_000_000_000,
      () => now,
    );
  });
  afterEach(() => storage.close());

  it('asks storage about a repeated bad token once per FAILED_LOOKUP_TTL_MS', async () => {
    for (let attempt = 0; attempt < 50; attempt++)
      assert.equal(await identity.authenticate('st_bad'), undefined);
    assert.equal(lookups(), 1);
    now += FAILED_LOOKUP_TTL_MS - 1;
    assert.equal(await identity.authenticate('st_bad'), undefined);
    assert.equal(lookups(), 1);
    now += 1;
    assert.equal(await identity.authenticate('st_bad'), undefined);
    assert.equal(lookups(), 2, 'looked up again once the miss expired');
  });

  it('keeps at most MAX_FAILED_LOOKUPS misses, dropping the oldest', async () => {
    for (let index = 0; index <= MAX_FAILED_LOOKUPS; index++) await identity.authenticate(`st_bad_${index}`);
    assert.equal(lookups(), MAX_FAILED_LOOKUPS + 1);
    await identity.authenticate(`st_bad_${MAX_FAILED_LOOKUPS}`);
    assert.equal(lookups(), MAX_FAILED_LOOKUPS + 1, 'the newest miss is still cached');
    await identity.authenticate('st_bad_0');
    assert.equal(lookups(), MAX_FAILED_LOOKUPS + 2, 'the oldest miss was dropped');
  });

  it('admits a newly issued token at once, and refuses a revoked one at once', async () => {
    const userId = await identity.createUser('alice');
    const { token, tokenId } = await identity.issueToken(userId);
    assert.equal(await identity.authenticate(token), userId);
    await identity.revokeToken(token);
    assert.equal(await identity.authenticate(token), undefined);

    const second = await identity.issueToken(userId);
    assert.equal(await identity.authenticate(second.token), userId);
    await identity.revokeTokenById(userId, second.tokenId);
    assert.equal(await identity.authenticate(second.token), undefined);
    assert.notEqual(tokenId, second.tokenId);
  });

  it('admits a token stored elsewhere after a miss for it once the miss expires', async () => {
    // Another process sharing the database issues a token this process was shown before it
    // existed (random tokens make that practically impossible; the bound still holds).
    const userId = await identity.createUser('bob');
    assert.equal(await identity.authenticate('st_later'), undefined);
    await storage.createToken(userId, hashToken('st_later'), 1_700_000_000);
    assert.equal(await identity.authenticate('st_later'), undefined);
    now += FAILED_LOOKUP_TTL_MS;
    assert.equal(await identity.authenticate('st_later'), userId);
    now += SESSION_TTL_MS - 1;
    assert.equal(identity.rememberedUser('st_later'), userId);
  });
});
