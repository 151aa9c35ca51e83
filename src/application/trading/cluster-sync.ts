/**
 * Cluster synchronisation: what only runs when several processes share one database
 * (SharedStorage).
 *
 * Invariants:
 * - Each account's state carries a version. A step computed here is written only if the account
 *   is still at the version the step started from (SharedStorage.commitAccount); otherwise another
 *   process changed it first, so this process reloads the account and runs the command again, or
 *   for quote-driven steps re-examines the reloaded account's triggers. Whoever writes first wins,
 *   which is why a trigger fires exactly once however many processes see the quote.
 * - In this process, each account's tasks run one after another (AccountQueue), in the order their
 *   steps were computed; a reload bumps the account's epoch, voiding steps computed before it.
 * - Clients are shown each account as last stored, never memory that runs ahead of storage: a
 *   step being written may still lose its race and be voided, and a fill that then did not happen
 *   must never have been shown.
 * - A refusal that changes nothing is believed only once the account's steps here are settled
 *   and the account is as stored; otherwise the command runs again.
 */
import { ACCOUNT_ID_WIDTH, formatId, parseId } from '../../engine/ids.ts';
import type { ChangeSet, Command, CommandResult, Engine } from '../../engine/engine.ts';
import type { AccountBook, Quote } from '../../engine/model.ts';
import { AppError } from '../errors.ts';
import type { Logger } from '../ports.ts';
import {
  CURRENT_ORDER_STATUSES,
  type AccountReset,
  type AccountResetResult,
  type ClusterChange,
  type ClusterListener,
  type SharedStorage,
  type TradingStore,
} from '../storage.ts';
import type { AccountDirectory } from './account-directory.ts';
import type { AccountQueue } from './account-queue.ts';
import type { CommitPipeline } from './commit-pipeline.ts';
import type { StreamHub } from '../streaming/stream-hub.ts';
import { latestQuotes, type QuoteIntake } from './quote-intake.ts';

/** A command the engine accepted. */
export type CommandAccepted = Extract<CommandResult, { ok: true }>;

export interface ClusterSyncOptions {
  engine: Engine;
  storage: TradingStore;
  shared: SharedStorage;
  logger: Logger;
  now: () => number;
  pipeline: CommitPipeline;
  directory: AccountDirectory;
  queue: AccountQueue;
  intake: QuoteIntake;
  /** Told when another process changed an account (its events may be new) or a resync ran. */
  streams: Pick<StreamHub, 'poke' | 'pokeAll' | 'accountsReset'>;
}

/** How often a step is retried after losing a race to another process before giving up. */
const MAX_ATTEMPTS = 30;

/** One account's share of an engine step, and the account version the step started from. */
interface AccountPart {
  accountId: string;
  expectedVersion: number;
  epoch: number;
  changes: ChangeSet;
}

export class ClusterSync {
  readonly #engine: Engine;
  readonly #storage: TradingStore;
  readonly #shared: SharedStorage;
  readonly #logger: Logger;
  readonly #now: () => number;
  readonly #pipeline: CommitPipeline;
  readonly #directory: AccountDirectory;
  readonly #queue: AccountQueue;
  readonly #intake: QuoteIntake;
  readonly #streams: ClusterSyncOptions['streams'];
  /** Per account, bumped whenever its book is reloaded: steps computed before are void. */
  readonly #epochs = new Map<string, number>();
  /** Accounts another process has changed since this one loaded them: reloaded when next needed. */
  readonly #stale = new Set<string>();
  /** Per account, its last stored state, for reads (see the invariants above). */
  readonly #stored = new Map<string, AccountBook>();

  constructor(options: ClusterSyncOptions) {
    this.#engine = options.engine;
    this.#storage = options.storage;
    this.#shared = options.shared;
    this.#logger = options.logger;
    this.#now = options.now;
    this.#pipeline = options.pipeline;
    this.#directory = options.directory;
    this.#queue = options.queue;
    this.#intake = options.intake;
    this.#streams = options.streams;
  }

  /** Keeps a copy of a book as loaded or created, the state clients are shown. */
  remember(book: AccountBook): void {
    this.#stored.set(book.account.id, copyBook(book));
  }

  /** The account as last stored, if this process has loaded it. */
  stored(accountId: string): AccountBook | undefined {
    return this.#stored.get(accountId);
  }

  /**
   * Starts hearing the other processes' announcements. Quotes announced before this process
   * listened (after it loaded) reach it only through the table, so once listening it shows the
   * stored quote of every instrument it still has none for; one it has is as new or newer.
   */
  async join(): Promise<void> {
    await this.#shared.listen(this.#listener());
    for (const quote of await this.#storage.loadQuotes()) {
      if (this.#engine.instrument(quote.ticker) && !this.#engine.currentQuote(quote.ticker))
        this.#engine.restoreQuote(quote);
    }
  }

  /** Delivers the other processes' announcements: quotes to show, accounts to reload. */
  #listener(): ClusterListener {
    return {
      quotes: (quotes) => {
        // Their triggers fired in the process that applied them; here they only move prices.
        for (const quote of this.#intake.accept(quotes, 'announced')) this.#engine.restoreQuote(quote);
      },
      change: (change) => {
        this.#onChange(change);
        // Another process's account change may have written events: its subscribers here read them.
        // After a reset there is nothing to read: they are told to resynchronise, as on the process
        // that ran it.
        if (change.type === 'account' && change.reset) {
          this.#streams.accountsReset([change.accountId], (error) =>
            this.#logger.error({ err: error }, 'telling stream subscribers of a reset failed'),
          );
        } else if (change.type === 'account') this.#streams.poke(change.accountId);
      },
      resync: () => {
        this.#resync().catch((error: unknown) => this.#logger.error({ err: error }, 'cluster resync failed'));
        this.#streams.pokeAll();
      },
    };
  }

  /**
   * Makes sure this process shows the account as stored, with every step issued before it
   * written: a client may write through one process and read through another. Before a write
   * only an unknown account needs loading: a stale one loses its version race and is reloaded.
   */
  refresh(accountId: string, purpose: 'read' | 'write'): Promise<void> | undefined {
    const id = parseId(accountId);
    if (id === undefined) return undefined;
    const normalised = formatId(id, ACCOUNT_ID_WIDTH);
    if (purpose === 'write' && this.#engine.book(normalised)) return undefined;
    return this.#refresh(normalised);
  }

  async #refresh(accountId: string): Promise<void> {
    // Clients are shown the stored state (#stored): it is current unless another process wrote since.
    if (await this.#isCurrent(accountId)) return;
    await this.#queue.serially(accountId, async () => {
      if (!(await this.#isCurrent(accountId))) await this.#reload(accountId);
    });
  }

  /** Runs a command, rerunning it on the reloaded account each time another process won the race. */
  async run(command: Command): Promise<CommandAccepted> {
    const accountId = command.accountId;
    for (let attempt = 1; ; attempt += 1) {
      await this.#shared.reserveIds(8, 8);
      if (this.#stale.has(accountId)) await this.#reloadIfStale(accountId);
      // Computed now, on memory as it stands, and written in the account's order of steps: memory
      // order and write order are the same, as with a database of our own.
      const epoch = this.#epochs.get(accountId) ?? 0;
      const result = this.#engine.handle(command, this.#now());
      const [part] = this.#partition(result.changes);
      this.#pipeline.report(result.changes);
      let outcome = part ? await this.#commitPart(part) : 'written';
      // A refusal that changes nothing wrote no version to race with. It may rest on an order this
      // process has not seen yet, or on a step of its own that will lose its race: believe it only
      // once this process's steps for the account are settled and the account is as stored.
      if (!part && !result.ok) {
        await this.#queue.settled(accountId);
        if ((this.#epochs.get(accountId) ?? 0) !== epoch) outcome = 'void';
        else if (!(await this.#isCurrent(accountId))) {
          await this.#queue.serially(accountId, () => this.#reload(accountId));
          outcome = 'lost';
        }
      }
      if (outcome === 'written') {
        if (!result.ok) throw AppError.from(result.rejection);
        return result;
      }
      if (attempt === MAX_ATTEMPTS) {
        throw new AppError(
          'account_busy',
          'the account kept changing through other server processes: try again',
        );
      }
      // Another process won the race for this account: back off a little, at random, and rerun.
      await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(attempt, 10)));
    }
  }

  /** Applies quotes as `TradingService.ingestQuotes` does, then announces them to the others. */
  async ingest(quotes: readonly Quote[]): Promise<void> {
    // Triggers are only as fresh as the books: bring in what other processes changed first.
    await this.#reloadStale();
    const now = this.#now();
    const accepted = this.#intake.accept(quotes, 'ingested');
    const size = this.#engine.triggerCount() + this.#directory.openDealCount();
    await this.#shared.reserveIds(size + 64, 2 * size + 64);
    const steps = accepted.map((quote) => this.#engine.onQuote(quote, now));
    steps.push(this.#engine.sweepStopOuts(now));
    await this.#commitSteps(steps);
    // Announced once the fills they caused are written: the others only show the new prices.
    await this.#shared.publishQuotes(latestQuotes(accepted));
  }

  /** Expirations and stop-out checks at `now`, on books brought up to date first. */
  async tick(now: number): Promise<void> {
    await this.#reloadStale();
    await this.#shared.reserveIds(this.#engine.triggerCount() + 64, 64);
    await this.#commitSteps([this.#engine.expireOrders(now), this.#engine.sweepStopOuts(now)]);
  }

  /**
   * The reset is written while this process holds the accounts' other steps back (those computed
   * before are written first), then the accounts are reloaded, which voids the steps computed on
   * the old books meanwhile: they run again on the reset ones. Other processes hear of the new
   * versions; a step of theirs on an old book loses its version race.
   */
  async reset(which: readonly AccountReset[] | 'all'): Promise<AccountResetResult[]> {
    this.#pipeline.ensureHealthy();
    const resets: readonly AccountReset[] =
      which === 'all'
        ? [...(await this.#shared.accountVersions()).keys()].sort().map((accountId) => ({ accountId }))
        : which;
    return this.#queue.holding(
      resets.map((reset) => reset.accountId),
      async () => {
        const results = await this.#storage.resetAccounts(resets, this.#now());
        // Stale until reloaded: if a reload fails, the next use of the account tries again.
        for (const { accountId } of results) this.#stale.add(accountId);
        await Promise.all(results.map(({ accountId }) => this.#reload(accountId)));
        return results;
      },
    );
  }

  /** Whether no other process has written the account since this one last stored or loaded it. */
  async #isCurrent(accountId: string): Promise<boolean> {
    const version = await this.#shared.accountVersion(accountId);
    return (
      version === undefined ||
      (this.#stored.get(accountId)?.version === version && !this.#stale.has(accountId))
    );
  }

  #onChange(change: ClusterChange): void {
    const failed = (error: unknown): void =>
      this.#logger.error({ err: error, change }, 'cluster change failed');
    if (change.type === 'instrument') {
      this.#storage
        .loadInstruments()
        .then((instruments) => {
          for (const instrument of instruments) this.#engine.putInstrument(instrument);
        })
        .catch(failed);
      return;
    }
    if (change.type === 'account') {
      // Reloaded lazily (#reloadStale), so a burst of changes costs one reload, not one each.
      const book = this.#engine.book(change.accountId);
      if (!book || book.version < change.version) this.#stale.add(change.accountId);
      return;
    }
    this.#queue.serially(change.accountId, () => this.#reload(change.accountId)).catch(failed);
  }

  /** After announcements may have been lost: reloads every account whose version moved. */
  async #resync(): Promise<void> {
    for (const instrument of await this.#storage.loadInstruments()) this.#engine.putInstrument(instrument);
    const versions = await this.#shared.accountVersions();
    await Promise.all(
      [...versions].map(([accountId, version]) =>
        this.#queue.serially(accountId, async () => {
          if (this.#engine.book(accountId)?.version !== version) await this.#reload(accountId);
        }),
      ),
    );
  }

  /**
   * Queues a part behind the account's earlier steps and writes it: 'written'; 'void' when a
   * reload came between (the step was computed on a book since replaced); 'lost' when another
   * process changed the account first (the account is then reloaded).
   */
  #commitPart(part: AccountPart): Promise<'written' | 'void' | 'lost'> {
    return this.#queue.serially(part.accountId, async () => {
      if ((this.#epochs.get(part.accountId) ?? 0) !== part.epoch) return 'void';
      if (await this.#write(part)) return 'written';
      await this.#reload(part.accountId);
      return 'lost';
    });
  }

  /** Writes engine steps account by account, each in its account's order of steps. */
  async #commitSteps(steps: readonly ChangeSet[]): Promise<void> {
    const parts = steps.flatMap((step) => {
      this.#pipeline.report(step);
      return this.#partition(step);
    });
    await Promise.all(parts.map((part) => this.#commitPart(part)));
  }

  /** Splits a step by account, noting the version each account had before it (taken at once). */
  #partition(step: ChangeSet): AccountPart[] {
    return step.accounts.map((account) => {
      const mine = <T extends { accountId: string }>(items: readonly T[]): T[] =>
        items.filter((item) => item.accountId === account.id);
      const version = this.#engine.book(account.id)?.version ?? 1;
      return {
        accountId: account.id,
        expectedVersion: version - 1,
        epoch: this.#epochs.get(account.id) ?? 0,
        changes: {
          orders: mine(step.orders),
          deals: mine(step.deals),
          accounts: [account],
          ledger: mine(step.ledger),
          fills: mine(step.fills),
          events: mine(step.events),
        },
      };
    });
  }

  /** True when written; false when the step is void (a reload came between) or lost the race. */
  async #write(part: AccountPart): Promise<boolean> {
    if ((this.#epochs.get(part.accountId) ?? 0) !== part.epoch) return false;
    try {
      const written = await this.#shared.commitAccount(part.accountId, part.expectedVersion, part.changes);
      if (written) {
        this.#recordStored(part);
        this.#pipeline.published(part.changes.events);
      }
      return written;
    } catch (error) {
      this.#pipeline.fail(error, 'commit failed: stopping');
      throw error;
    }
  }

  async #reloadStale(): Promise<void> {
    const stale = [...this.#stale];
    await Promise.all(stale.map((accountId) => this.#reloadIfStale(accountId)));
  }

  /** Reloads the account in its turn, unless a reload queued before this one made it fresh. */
  #reloadIfStale(accountId: string): Promise<void> {
    return this.#queue.serially(accountId, async () => {
      if (this.#stale.has(accountId)) await this.#reload(accountId);
    });
  }

  /** Replaces the account's book with the stored one, then fires what current quotes cross. */
  async #reload(accountId: string): Promise<void> {
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt += 1) {
      this.#stale.delete(accountId);
      this.#epochs.set(accountId, (this.#epochs.get(accountId) ?? 0) + 1);
      const book = await this.#shared.loadBook(accountId);
      if (!book) return;
      if (this.#engine.book(accountId)) this.#engine.replaceBook(book);
      else this.#directory.add(book);
      this.remember(book);
      // Steps computed on the old book while it loaded are void too.
      this.#epochs.set(accountId, (this.#epochs.get(accountId) ?? 0) + 1);
      await this.#shared.reserveIds(
        book.orders.size + book.deals.size + 8,
        2 * (book.orders.size + book.deals.size) + 8,
      );
      const step = this.#engine.recheckAccount(accountId, this.#now());
      const [part] = this.#partition(step);
      this.#pipeline.report(step);
      if (!part || (await this.#write(part))) return;
      // The account moved on again while this recheck was written: start over.
    }
  }

  /** Applies a written step to the account's stored state, as storage now holds it. */
  #recordStored(part: AccountPart): void {
    const stored = this.#stored.get(part.accountId);
    if (!stored) return;
    for (const order of part.changes.orders) {
      if (CURRENT_ORDER_STATUSES.includes(order.status)) stored.orders.set(order.id, order);
      else stored.orders.delete(order.id);
    }
    for (const deal of part.changes.deals) {
      if (deal.status === 'closed') stored.deals.delete(deal.id);
      else stored.deals.set(deal.id, deal);
    }
    for (const account of part.changes.accounts) if (account.id === part.accountId) stored.account = account;
    stored.version = part.expectedVersion + 1;
  }
}

/** A copy of a book that later in-place changes to the original do not reach. */
function copyBook(book: AccountBook): AccountBook {
  return {
    account: { ...book.account },
    orders: new Map([...book.orders].map(([id, order]) => [id, { ...order, deals: [...order.deals] }])),
    deals: new Map([...book.deals].map(([id, deal]) => [id, { ...deal }])),
    overrides: new Map(book.overrides),
    version: book.version,
    lastEventId: book.lastEventId,
  };
}
