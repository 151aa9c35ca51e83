/**
 * Users, bearer tokens and the admin token.
 *
 * Tokens are 256-bit random strings; only their SHA-256 is stored. A fast hash is right for
 * high-entropy secrets (no dictionary to protect against), and lookups stay O(1).
 * The admin token is compared in constant time against its hash.
 *
 * Authentication runs on every request, so a live token's user is remembered in memory for a few
 * seconds (bounded in count) instead of hashing and querying each time. Revoking through this
 * process forgets at once; a revocation made by another process sharing the database takes effect
 * here within SESSION_TTL_MS.
 *
 * A token storage did not know is refused from memory for FAILED_LOOKUP_TTL_MS (bounded in count,
 * keyed by hash), so a client repeating a bad token costs no query. That cannot lock out a token
 * that becomes valid: tokens are random, so a miss is only ever cached for one presented before
 * it existed, and issuing a token through this process forgets any miss for it. Revocation never
 * depends on this cache.
 *
 * Concurrent requests with the same token that is not remembered (a client opening its connection
 * pool, or every connection at once when the token's memory runs out) share one lookup.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { AppError } from './errors.ts';
import type { IdentityStore } from './storage.ts';

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

export function generateToken(prefix: string): string {
  return `${prefix}_${randomBytes(32).toString('base64url')}`;
}

/** How long a token's user is trusted from memory before storage is asked again. */
export const SESSION_TTL_MS = 5_000;
const MAX_SESSIONS = 10_000;
/** How long a token storage did not know is refused without asking storage again. */
export const FAILED_LOOKUP_TTL_MS = 5_000;
export const MAX_FAILED_LOOKUPS = 10_000;

export class IdentityService {
  readonly #storage: IdentityStore;
  /** Live token → its user and when to ask storage again (monotonic ms). Insertion-ordered. */
  readonly #sessions = new Map<string, { userId: string; until: number }>();
  /** Hash of a token storage did not know → until when it is refused (monotonic ms). Insertion-ordered. */
  readonly #failedLookups = new Map<string, number>();
  /** Token → its storage lookup while one is in flight. */
  readonly #lookups = new Map<string, Promise<string | undefined>>();
  readonly #adminTokenHash: Buffer;
  readonly #now: () => number;
  readonly #monotonicMs: () => number;

  /**
   * `adminTokenHash` is the SHA-256 (hex) of the admin token; the token itself is never kept.
   * `now` is the trading clock; `monotonicMs` times the caches (injectable for tests).
   */
  constructor(
    storage: IdentityStore,
    adminTokenHash: string,
    now: () => number,
    monotonicMs: () => number = () => performance.now(),
  ) {
    this.#storage = storage;
    this.#adminTokenHash = Buffer.from(adminTokenHash, 'hex');
    this.#now = now;
    this.#monotonicMs = monotonicMs;
  }

  async createUser(name: string): Promise<string> {
    return this.#storage.createUser(name, this.#now());
  }

  async issueToken(userId: string): Promise<{ token: string; tokenId: string }> {
    if (!(await this.#storage.userExists(userId)))
      throw new AppError('user_not_found', `user ${userId} not found`);
    const token = generateToken('st');
    const tokenHash = hashToken(token);
    const tokenId = await this.#storage.createToken(userId, tokenHash, this.#now());
    this.#failedLookups.delete(tokenHash);
    return { token, tokenId };
  }

  async revokeToken(token: string): Promise<void> {
    this.#sessions.delete(token);
    const revoked = await this.#storage.revokeToken(hashToken(token), this.#now());
    // Again after the write: a lookup racing with it may have remembered the token meanwhile.
    this.#sessions.delete(token);
    if (!revoked) throw new AppError('token_not_found', 'token not found or already revoked');
  }

  async revokeTokenById(userId: string, tokenId: string): Promise<void> {
    // Only hashes are stored, so which remembered token this is can't be told: forget them all.
    this.#sessions.clear();
    const revoked = await this.#storage.revokeTokenById(userId, tokenId, this.#now());
    this.#sessions.clear();
    if (!revoked) {
      throw new AppError(
        'token_not_found',
        `token ${tokenId} of user ${userId} not found or already revoked`,
      );
    }
  }

  /** The user a bearer token belongs to, or undefined for a missing, unknown or revoked token. */
  authenticate(token: string): Promise<string | undefined> {
    const remembered = this.rememberedUser(token);
    if (remembered) return Promise.resolve(remembered);
    const pending = this.#lookups.get(token);
    if (pending) return pending;
    const lookup = this.#lookUp(token).finally(() => this.#lookups.delete(token));
    this.#lookups.set(token, lookup);
    return lookup;
  }

  /** The lookup of `token` already in flight, if any: a request may wait on it without its own. */
  pendingAuthentication(token: string): Promise<string | undefined> | undefined {
    return this.#lookups.get(token);
  }

  async #lookUp(token: string): Promise<string | undefined> {
    const now = this.#monotonicMs();
    const tokenHash = hashToken(token);
    const failedUntil = this.#failedLookups.get(tokenHash);
    if (failedUntil !== undefined) {
      if (failedUntil > now) return undefined;
      this.#failedLookups.delete(tokenHash);
    }
    const userId = await this.#storage.findTokenUser(tokenHash);
    this.#sessions.delete(token);
    if (userId === undefined) {
      this.#rememberFailure(tokenHash, now);
      return undefined;
    }
    if (this.#sessions.size >= MAX_SESSIONS) {
      const oldest = this.#sessions.keys().next();
      if (!oldest.done) this.#sessions.delete(oldest.value);
    }
    this.#sessions.set(token, { userId, until: now + SESSION_TTL_MS });
    return userId;
  }

  /** The user of a token authenticated within SESSION_TTL_MS, without asking storage. */
  rememberedUser(token: string): string | undefined {
    const session = this.#sessions.get(token);
    return session && session.until > this.#monotonicMs() ? session.userId : undefined;
  }

  #rememberFailure(tokenHash: string, now: number): void {
    this.#failedLookups.delete(tokenHash);
    if (this.#failedLookups.size >= MAX_FAILED_LOOKUPS) {
      const oldest = this.#failedLookups.keys().next();
      if (!oldest.done) this.#failedLookups.delete(oldest.value);
    }
    this.#failedLookups.set(tokenHash, now + FAILED_LOOKUP_TTL_MS);
  }

  isAdminToken(token: string): boolean {
    return timingSafeEqual(Buffer.from(hashToken(token), 'hex'), this.#adminTokenHash);
  }
}
