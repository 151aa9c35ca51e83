/**
 * Users, bearer tokens and the admin token.
 *
 * Tokens are 256-bit random strings; only their SHA-256 is stored. A fast hash is right for
 * high-entropy secrets (no dictionary to protect against), and lookups stay O(1).
 * The admin token is compared in constant time against its hash.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { AppError } from './errors.ts';
import type { Storage } from './storage.ts';

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

export function generateToken(prefix: string): string {
  return `${prefix}_${randomBytes(32).toString('base64url')}`;
}

export class IdentityService {
  readonly #storage: Storage;
  readonly #adminTokenHash: Buffer;
  readonly #now: () => number;

  /** `adminTokenHash` is the SHA-256 (hex) of the admin token; the token itself is never kept. */
  constructor(storage: Storage, adminTokenHash: string, now: () => number) {
    this.#storage = storage;
    this.#adminTokenHash = Buffer.from(adminTokenHash, 'hex');
    this.#now = now;
  }

  async createUser(name: string): Promise<string> {
    return this.#storage.createUser(name, this.#now());
  }

  async issueToken(userId: string): Promise<{ token: string; tokenId: string }> {
    if (!(await this.#storage.userExists(userId)))
      throw new AppError('user_not_found', `user ${userId} not found`);
    const token = generateToken('st');
    const tokenId = await this.#storage.createToken(userId, hashToken(token), this.#now());
    return { token, tokenId };
  }

  async revokeToken(token: string): Promise<void> {
    if (!(await this.#storage.revokeToken(hashToken(token), this.#now()))) {
      throw new AppError('token_not_found', 'token not found or already revoked');
    }
  }

  async revokeTokenById(userId: string, tokenId: string): Promise<void> {
    if (!(await this.#storage.revokeTokenById(userId, tokenId, this.#now()))) {
      throw new AppError(
        'token_not_found',
        `token ${tokenId} of user ${userId} not found or already revoked`,
      );
    }
  }

  /** The user a bearer token belongs to, or undefined for a missing, unknown or revoked token. */
  async authenticate(token: string): Promise<string | undefined> {
    return this.#storage.findTokenUser(hashToken(token));
  }

  isAdminToken(token: string): boolean {
    return timingSafeEqual(Buffer.from(hashToken(token), 'hex'), this.#adminTokenHash);
  }
}
