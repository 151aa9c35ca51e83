/** Which accounts each user has, and the engine books they are loaded into. */
import type { Engine } from '../../engine/engine.ts';
import type { AccountBook } from '../../engine/model.ts';

export class AccountDirectory {
  readonly #engine: Engine;
  readonly #accountsByUser = new Map<string, string[]>();

  constructor(engine: Engine) {
    this.#engine = engine;
  }

  /** Loads the book into the engine and lists the account under its user. */
  add(book: AccountBook): void {
    this.#engine.loadBook(book);
    const list = this.#accountsByUser.get(book.account.userId);
    if (list) list.push(book.account.id);
    else this.#accountsByUser.set(book.account.userId, [book.account.id]);
  }

  accountIds(userId: string): readonly string[] {
    return this.#accountsByUser.get(userId) ?? [];
  }

  /** Number of open deals across all accounts. */
  openDealCount(): number {
    let count = 0;
    for (const ids of this.#accountsByUser.values()) {
      for (const id of ids) count += this.#engine.book(id)?.deals.size ?? 0;
    }
    return count;
  }

  hasOpenDeals(ticker: string): boolean {
    for (const ids of this.#accountsByUser.values()) {
      for (const id of ids) {
        for (const deal of this.#engine.book(id)?.deals.values() ?? [])
          if (deal.ticker === ticker) return true;
      }
    }
    return false;
  }
}
