/**
 * The storage contract: one abstract suite that every adapter of the `Storage` port must pass
 * (STYLE.md: "every storage adapter gets one contract suite"). Adapters call `storageContract`
 * from their own test file with a factory that makes a fresh, empty store per test.
 *
 * The factory hands back a `reopen` as well as the store, because durability and id continuity
 * can only be observed by closing the store and opening the same data again, as a restarted
 * process would. Everything here goes through the port: nothing is dialect-specific.
 */
import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  emptyChangeSet,
  type ChangeSet,
  type EngineEvent,
  type Fill,
  type LedgerEntry,
} from '../../src/engine/engine.ts';
import type { Account, Deal, Instrument, Order, Quote } from '../../src/engine/model.ts';
import type { HistoryQuery, Storage } from '../../src/application/storage.ts';
import { DEFAULT_INSTRUMENTS } from '../../src/adapters/catalogue/default-instruments.ts';
import { seededRandom } from '../support/seeded-random.ts';
import { candleStoreContract } from './candle-store-contract.ts';

export interface ContractStore {
  /** A fresh, empty, migrated store. */
  storage: Storage;
  /** Closes the current store (if open) and opens the same data again, as after a restart. */
  reopen(): Promise<Storage>;
  /** Closes whatever is open and removes the data. */
  dispose(): Promise<void>;
}

export type StorageFactory = () => Promise<ContractStore>;

const T0 = 1_767_225_600;
const PRICE = 100_000_000;
const VOLUME = 1_000_000;

const ANY: HistoryQuery = { statuses: [], from: null, to: null, skip: 0, limit: 500 };

function emptyChanges(): ChangeSet {
  return emptyChangeSet();
}

function history(changes: Partial<HistoryQuery>): HistoryQuery {
  return { ...ANY, ...changes };
}

export function storageContract(name: string, factory: StorageFactory): void {
  candleStoreContract(name, factory);
  describe(`storage contract: ${name}`, () => {
    let store: ContractStore;
    let storage: Storage;
    beforeEach(async () => {
      store = await factory();
      storage = store.storage;
    });
    afterEach(async () => {
      await store.dispose();
    });

    const reopen = async (): Promise<Storage> => {
      storage = await store.reopen();
      return storage;
    };

    async function newAccount(
      options: { balance?: number; system?: Account['system'] } = {},
    ): Promise<Account> {
      const userId = await storage.createUser('trader', T0);
      return storage.createAccount(
        {
          userId,
          name: 'contract account',
          type: 'demo',
          system: options.system ?? 'netting',
          currency: 'USD',
          balance: options.balance ?? 100_000_00,
        },
        T0,
      );
    }

    function order(account: Account, fields: Partial<Order> = {}): Order {
      return {
        id: storage.ids.nextOrderId(),
        accountId: account.id,
        ticker: 'AAPL.nq',
        side: 'buy',
        type: 'limit',
        volume: VOLUME,
        price: 90 * PRICE,
        filledPrice: null,
        expiration: 0,
        stopLoss: 80 * PRICE,
        takeProfit: 120 * PRICE,
        status: 'active',
        comment: '',
        createTime: T0,
        lastModified: T0,
        deals: [],
        targetDealId: null,
        ...fields,
      };
    }

    function deal(account: Account, fields: Partial<Deal> = {}): Deal {
      return {
        id: storage.ids.nextDealId(),
        accountId: account.id,
        ticker: 'AAPL.nq',
        side: 'buy',
        volume: VOLUME,
        openPrice: 100 * PRICE,
        openTime: T0,
        stopLoss: 95 * PRICE,
        takeProfit: null,
        status: 'open',
        closePrice: null,
        closeTime: null,
        profit: 0,
        lastModified: T0,
        ...fields,
      };
    }

    function fill(account: Account, filled: Order, dealIds: string[]): Fill {
      return {
        orderId: filled.id,
        accountId: account.id,
        ticker: filled.ticker,
        side: filled.side,
        orderType: filled.type,
        volume: filled.volume,
        price: 100 * PRICE,
        time: T0 + 1,
        quoteTime: T0,
        bid: 100 * PRICE - 1_000_000,
        ask: 100 * PRICE,
        rule: 'buy market filled at ask 100.00',
        dealIds,
      };
    }

    async function bookOf(accountId: string) {
      const book = (await storage.loadBooks()).find((candidate) => candidate.account.id === accountId);
      assert.ok(book, `account ${accountId} is not in loadBooks`);
      return book;
    }

    // ---- Migrations and settings ----

    it('opens again over existing data without re-running migrations or losing data', async () => {
      await storage.setSetting('probe', 'one');
      const account = await newAccount();
      await reopen();
      await reopen();
      assert.equal(await storage.getSetting('probe'), 'one');
      assert.deepEqual(
        (await storage.loadBooks()).map((book) => book.account.id),
        [account.id],
      );
    });

    it('stores settings, overwriting by key', async () => {
      assert.equal(await storage.getSetting('missing'), undefined);
      await storage.setSetting('key', 'first');
      await storage.setSetting('key', 'second');
      assert.equal(await storage.getSetting('key'), 'second');
    });

    it('round-trips instruments exactly, replacing by ticker', async () => {
      assert.deepEqual(await storage.loadInstruments(), []);
      for (const instrument of DEFAULT_INSTRUMENTS) await storage.putInstrument(instrument);
      const byTicker = (a: Instrument, b: Instrument): number => (a.ticker < b.ticker ? -1 : 1);
      assert.deepEqual(await storage.loadInstruments(), [...DEFAULT_INSTRUMENTS].sort(byTicker));
      const aapl = DEFAULT_INSTRUMENTS.find((instrument) => instrument.ticker === 'AAPL.nq');
      assert.ok(aapl);
      await storage.putInstrument({ ...aapl, tradeMode: 'close_only', leverage: 200_000 });
      const loaded = (await storage.loadInstruments()).filter(
        (instrument) => instrument.ticker === 'AAPL.nq',
      );
      assert.deepEqual(loaded, [{ ...aapl, tradeMode: 'close_only', leverage: 200_000 }]);
    });

    // ---- Users and tokens ----

    it('finds a token user by hash until the token is revoked', async () => {
      const alice = await storage.createUser('alice', T0);
      const bob = await storage.createUser('bob', T0);
      assert.notEqual(alice, bob);
      assert.equal(await storage.userExists(alice), true);
      assert.equal(await storage.userExists('999999'), false);
      await storage.createToken(alice, 'hash-a1', T0);
      await storage.createToken(alice, 'hash-a2', T0);
      await storage.createToken(bob, 'hash-b1', T0);
      assert.equal(await storage.findTokenUser('hash-a1'), alice);
      assert.equal(await storage.findTokenUser('hash-b1'), bob);
      assert.equal(await storage.findTokenUser('unknown'), undefined);

      assert.equal(await storage.revokeToken('hash-a1', T0 + 1), true);
      assert.equal(await storage.findTokenUser('hash-a1'), undefined);
      assert.equal(await storage.revokeToken('hash-a1', T0 + 2), false, 'revoking twice reports false');
      assert.equal(await storage.revokeToken('unknown', T0 + 2), false);
      assert.equal(await storage.findTokenUser('hash-a2'), alice, 'other tokens of the user stay live');
    });

    it('revokes a token by id, only for its own user', async () => {
      const alice = await storage.createUser('alice', T0);
      const bob = await storage.createUser('bob', T0);
      const first = await storage.createToken(alice, 'hash-1', T0);
      const second = await storage.createToken(alice, 'hash-2', T0);
      assert.notEqual(first, second);
      assert.equal(await storage.revokeTokenById(bob, first, T0), false, "bob cannot revoke alice's token");
      assert.equal(await storage.findTokenUser('hash-1'), alice);
      assert.equal(await storage.revokeTokenById(alice, first, T0), true);
      assert.equal(await storage.findTokenUser('hash-1'), undefined);
      assert.equal(await storage.revokeTokenById(alice, first, T0), false);
      assert.equal(await storage.revokeTokenById(alice, '424242', T0), false);
      assert.equal(await storage.findTokenUser('hash-2'), alice);
      await reopen();
      assert.equal(await storage.findTokenUser('hash-1'), undefined, 'revocation is durable');
      assert.equal(await storage.findTokenUser('hash-2'), alice);
    });

    it('answers malformed user and token ids (raw from admin paths) as unknown, without throwing', async () => {
      const alice = await storage.createUser('alice', T0);
      await storage.createToken(alice, 'hash-1', T0);
      for (const id of ['abc', '', '1e400', '-1', '1.5', '99999999999999999999']) {
        assert.equal(await storage.userExists(id), false, `userExists(${JSON.stringify(id)})`);
        assert.equal(await storage.revokeTokenById(alice, id, T0), false, `token id ${JSON.stringify(id)}`);
        assert.equal(await storage.revokeTokenById(id, '1', T0), false, `user id ${JSON.stringify(id)}`);
      }
      assert.equal(await storage.findTokenUser('hash-1'), alice);
    });

    // ---- Accounts ----

    it('allocates increasing 8-digit account ids and writes the opening ledger entry', async () => {
      const first = await newAccount({ balance: 250_000_00 });
      const second = await newAccount({ balance: 1_00, system: 'hedging' });
      const third = await newAccount({ balance: 0 });
      for (const account of [first, second, third]) assert.match(account.id, /^\d{8}$/);
      assert.ok(Number(first.id) < Number(second.id) && Number(second.id) < Number(third.id));
      assert.deepEqual(
        { ...second, userId: undefined },
        {
          id: second.id,
          userId: undefined,
          name: 'contract account',
          type: 'demo',
          system: 'hedging',
          currency: 'USD',
          status: 'enabled',
          balance: 1_00,
        },
      );
      assert.deepEqual(await storage.listLedger(first.id, { skip: 0, limit: 10 }), [
        {
          accountId: first.id,
          amount: 250_000_00,
          type: 'deposit',
          orderId: null,
          dealId: null,
          balanceAfter: 250_000_00,
          comment: 'initial deposit',
          time: T0,
        },
      ]);
      assert.deepEqual(await storage.listLedger(third.id, { skip: 0, limit: 10 }), []);
      const books = await storage.loadBooks();
      assert.deepEqual(
        books.map((book) => [book.account.id, book.account.balance, book.account.system]),
        [
          [first.id, 250_000_00, 'netting'],
          [second.id, 1_00, 'hedging'],
          [third.id, 0, 'netting'],
        ],
      );
      await reopen();
      const fourth = await newAccount();
      assert.ok(Number(fourth.id) > Number(third.id), 'account ids keep increasing after reopen');
    });

    // ---- Commit ----

    it('commits a whole change set and keeps it across close and reopen', async () => {
      const account = await newAccount();
      const resting = order(account);
      const opened = deal(account);
      const market = order(account, {
        type: 'market',
        price: null,
        stopLoss: null,
        takeProfit: null,
        status: 'filled',
        filledPrice: 100 * PRICE,
        deals: [opened.id],
        createTime: T0 + 1,
        lastModified: T0 + 1,
      });
      const quote: Quote = {
        ticker: 'AAPL.nq',
        bid: 99 * PRICE,
        ask: 100 * PRICE,
        time: T0,
        last: 9_950_000_000,
        lastTime: T0,
      };
      const fx: Quote = { ticker: 'EURUSD', bid: 115_000_000, ask: 115_010_000, time: T0 + 1 };
      const updated: Account = {
        ...account,
        name: 'renamed',
        status: 'no_new_deals',
        balance: account.balance + 5_00,
      };
      const entry: LedgerEntry = {
        accountId: account.id,
        amount: 5_00,
        type: 'deposit',
        orderId: null,
        dealId: null,
        balanceAfter: updated.balance,
        comment: 'bonus',
        time: T0 + 1,
      };
      const filled = fill(account, market, [opened.id]);
      const before = (await bookOf(account.id)).version;
      await storage.commit(
        {
          ...emptyChanges(),
          orders: [resting, market],
          deals: [opened],
          accounts: [updated],
          ledger: [entry],
          fills: [filled],
        },
        [quote, fx],
      );

      const check = async (): Promise<void> => {
        assert.deepEqual(await storage.listOrders(account.id, ANY), [resting, market]);
        assert.deepEqual(await storage.listDeals(account.id, ANY), [opened]);
        assert.deepEqual(await storage.listFills(account.id, { skip: 0, limit: 10 }), [filled]);
        const ledger = await storage.listLedger(account.id, { skip: 0, limit: 10 });
        assert.deepEqual(ledger.slice(1), [entry]);
        assert.deepEqual(await storage.loadQuotes(), [quote, fx]);
        const book = await bookOf(account.id);
        assert.deepEqual(book.account, updated);
        assert.ok(book.version > before, 'committing an account bumps its version');
        assert.deepEqual([...book.orders.values()], [resting]);
        assert.deepEqual([...book.deals.values()], [opened]);
      };
      await check();
      await reopen();
      await check();
    });

    it("stores a change set's events with it, reads them after an id, and prunes by age and count", async () => {
      const account = await newAccount();
      const placed = order(account);
      const events = (first: number, count: number, time: number): EngineEvent[] =>
        Array.from({ length: count }, (_, index) => ({
          type: 'order_placed' as const,
          order: placed,
          accountId: account.id,
          id: first + index,
          time,
          // The log line is not stored: events read back have none.
          message: '',
        }));
      await storage.commit({
        ...emptyChanges(),
        orders: [placed],
        accounts: [account],
        events: events(1, 3, T0),
      });
      await storage.commit({ ...emptyChanges(), accounts: [account], events: events(4, 2, T0 + 100) });
      await reopen();
      assert.deepEqual(await storage.readEvents(account.id, 0, 10), [
        ...events(1, 3, T0),
        ...events(4, 2, T0 + 100),
      ]);
      assert.deepEqual(
        (await storage.readEvents(account.id, 2, 2)).map((event) => event.id),
        [3, 4],
      );
      assert.deepEqual(await storage.eventBounds(account.id), { oldest: 1, last: 5 });
      assert.equal((await bookOf(account.id)).lastEventId, 5);
      assert.equal(await storage.eventBounds('99999999'), undefined);
      assert.deepEqual(await storage.readEvents('99999999', 0, 10), []);

      // Older than T0 + 50 and not among the newest 1: events 1 to 3 go; by count, 4 stays.
      assert.equal(await storage.pruneEvents(T0 + 50, 1, 100), 3);
      assert.deepEqual(await storage.eventBounds(account.id), { oldest: 4, last: 5 });
      assert.equal(await storage.pruneEvents(T0 + 1_000, 2, 100), 0);
      assert.equal(await storage.pruneEvents(T0 + 1_000, 1, 100), 1);
      assert.deepEqual(await storage.eventBounds(account.id), { oldest: 5, last: 5 });

      // A reset deletes the log but keeps the last id: ids never repeat.
      await storage.resetAccounts([{ accountId: account.id }], T0 + 200);
      assert.deepEqual(await storage.eventBounds(account.id), { oldest: undefined, last: 5 });
      assert.equal((await bookOf(account.id)).lastEventId, 5);
    });

    it('replaces orders, deals and quotes by id rather than duplicating them', async () => {
      const account = await newAccount();
      const resting = order(account);
      const opened = deal(account);
      await storage.commit({ ...emptyChanges(), orders: [resting], deals: [opened] }, [
        { ticker: 'AAPL.nq', bid: 99 * PRICE, ask: 100 * PRICE, time: T0, last: 99 * PRICE, lastTime: T0 },
      ]);
      const canceled: Order = {
        ...resting,
        status: 'canceled',
        comment: 'canceled by client',
        lastModified: T0 + 5,
      };
      const closed: Deal = {
        ...opened,
        status: 'closed',
        closePrice: 101 * PRICE,
        closeTime: T0 + 5,
        profit: 1_00,
        stopLoss: null,
        lastModified: T0 + 5,
      };
      const later: Quote = { ticker: 'AAPL.nq', bid: 101 * PRICE, ask: 102 * PRICE, time: T0 + 5 };
      await storage.commit({ ...emptyChanges(), orders: [canceled], deals: [closed] }, [later]);
      assert.deepEqual(await storage.listOrders(account.id, ANY), [canceled]);
      assert.deepEqual(await storage.listDeals(account.id, ANY), [closed]);
      assert.deepEqual(await storage.loadQuotes(), [later], 'a quote without last clears the stored last');
    });

    it('writes nothing of a change set that fails part-way, and stays usable', async () => {
      const account = await newAccount();
      const resting = order(account);
      const opened = deal(account);
      const broken: ChangeSet = {
        ...emptyChanges(),
        orders: [resting],
        deals: [opened],
        accounts: [{ ...account, balance: 1 }],
        // The ledger is written after orders, deals and accounts: an entry for an account that does
        // not exist violates a constraint with everything before it already written.
        ledger: [
          {
            accountId: account.id,
            amount: 1_00,
            type: 'deposit',
            orderId: null,
            dealId: null,
            balanceAfter: 1,
            comment: 'ok',
            time: T0,
          },
          {
            accountId: '99999999',
            amount: 1_00,
            type: 'deposit',
            orderId: null,
            dealId: null,
            balanceAfter: 1_00,
            comment: 'orphan',
            time: T0,
          },
        ],
        fills: [fill(account, resting, [])],
      };
      const quote: Quote = { ticker: 'AAPL.nq', bid: 99 * PRICE, ask: 100 * PRICE, time: T0 };
      await assert.rejects(storage.commit(broken, [quote]));

      const unchanged = async (): Promise<void> => {
        assert.deepEqual(await storage.listOrders(account.id, ANY), []);
        assert.deepEqual(await storage.listDeals(account.id, ANY), []);
        assert.deepEqual(await storage.listFills(account.id, { skip: 0, limit: 10 }), []);
        assert.equal((await storage.listLedger(account.id, { skip: 0, limit: 10 })).length, 1);
        assert.deepEqual(await storage.loadQuotes(), []);
        assert.deepEqual((await bookOf(account.id)).account, account);
      };
      await unchanged();
      await reopen();
      await unchanged();

      await storage.commit({ ...emptyChanges(), orders: [resting] }, [quote]);
      assert.deepEqual(await storage.listOrders(account.id, ANY), [resting]);
    });

    // ---- Loading ----

    it('loads only active orders and open deals per account, with overrides', async () => {
      const alice = await newAccount();
      const bob = await newAccount({ system: 'hedging' });
      const aliceActive = order(alice);
      const aliceExecuting = order(alice, { type: 'market', price: null, status: 'in_execution' });
      const aliceFilled = order(alice, { status: 'filled', filledPrice: 90 * PRICE });
      const aliceCanceled = order(alice, { status: 'canceled' });
      const aliceRejected = order(alice, { status: 'rejected', comment: 'insufficient margin' });
      const bobActive = order(bob, {
        side: 'sell',
        type: 'stop',
        price: 85 * PRICE,
        stopLoss: 95 * PRICE,
        takeProfit: null,
      });
      const aliceOpen = deal(alice);
      const aliceClosed = deal(alice, {
        status: 'closed',
        closePrice: 101 * PRICE,
        closeTime: T0 + 1,
        profit: 1_00,
      });
      const bobOpen = deal(bob, { side: 'sell', stopLoss: null, takeProfit: 90 * PRICE });
      const bobClosing = deal(bob, { status: 'closing' });
      await storage.commit({
        ...emptyChanges(),
        orders: [aliceActive, aliceExecuting, aliceFilled, aliceCanceled, aliceRejected, bobActive],
        deals: [aliceOpen, aliceClosed, bobOpen, bobClosing],
      });
      await storage.putOverrides(alice.id, 'AAPL.nq', { leverage: 200_000, tradeMode: 'close_only' });
      await storage.putOverrides(alice.id, 'AAPL.nq', { leverage: 250_000 });
      await storage.putOverrides(bob.id, 'EURUSD', {
        minVolume: 100_000,
        maxVolume: 5_000_000,
        volumeStep: 10_000,
        minTick: 10,
      });

      await reopen();
      const books = await storage.loadBooks();
      assert.deepEqual(
        books.map((book) => book.account.id),
        [alice.id, bob.id],
      );
      const [aliceBook, bobBook] = books;
      assert.ok(aliceBook && bobBook);
      assert.deepEqual(
        [...aliceBook.orders.entries()],
        [
          [aliceActive.id, aliceActive],
          [aliceExecuting.id, aliceExecuting],
        ],
      );
      assert.deepEqual([...aliceBook.deals.entries()], [[aliceOpen.id, aliceOpen]]);
      assert.deepEqual([...bobBook.orders.entries()], [[bobActive.id, bobActive]]);
      assert.deepEqual(
        [...bobBook.deals.entries()],
        [
          [bobOpen.id, bobOpen],
          [bobClosing.id, bobClosing],
        ],
      );
      assert.deepEqual([...aliceBook.overrides.entries()], [['AAPL.nq', { leverage: 250_000 }]]);
      assert.deepEqual(
        [...bobBook.overrides.entries()],
        [['EURUSD', { minVolume: 100_000, maxVolume: 5_000_000, volumeStep: 10_000, minTick: 10 }]],
      );
    });

    // ---- History ----

    it('lists order history by status, by create or last-modified time, ascending, paged', async () => {
      const account = await newAccount();
      const other = await newAccount();
      // Created at 100 and untouched since; created at 100, finished at 180; created at 160; created at 250.
      const early = order(account, { createTime: 100, lastModified: 100, status: 'filled' });
      const finishedInside = order(account, { createTime: 100, lastModified: 180, status: 'canceled' });
      const createdInside = order(account, { createTime: 160, lastModified: 160 });
      const late = order(account, { createTime: 250, lastModified: 250, status: 'rejected' });
      const spanning = order(account, { createTime: 50, lastModified: 300, status: 'filled' });
      const foreign = order(other, { createTime: 160, lastModified: 160 });
      await storage.commit({
        ...emptyChanges(),
        orders: [late, early, foreign, finishedInside, spanning, createdInside].sort((a, b) =>
          a.id < b.id ? 1 : -1,
        ),
      });
      const ids = async (query: Partial<HistoryQuery>): Promise<string[]> =>
        (await storage.listOrders(account.id, history(query))).map((item) => item.id);

      assert.deepEqual(await ids({}), [early.id, finishedInside.id, createdInside.id, late.id, spanning.id]);
      assert.deepEqual(await ids({ from: 150, to: 200 }), [finishedInside.id, createdInside.id]);
      assert.deepEqual(await ids({ from: 180, to: 180 }), [finishedInside.id], 'the window is inclusive');
      assert.deepEqual(await ids({ from: 240 }), [late.id, spanning.id]);
      assert.deepEqual(await ids({ to: 100 }), [early.id, finishedInside.id, spanning.id]);
      assert.deepEqual(await ids({ statuses: ['filled'] }), [early.id, spanning.id]);
      assert.deepEqual(await ids({ statuses: ['active', 'in_execution'] }), [createdInside.id]);
      assert.deepEqual(await ids({ statuses: ['canceled', 'rejected'], from: 170 }), [
        finishedInside.id,
        late.id,
      ]);
      assert.deepEqual(await ids({ skip: 1, limit: 2 }), [finishedInside.id, createdInside.id]);
      assert.deepEqual(await ids({ skip: 4, limit: 2 }), [spanning.id]);
      assert.deepEqual(await ids({ skip: 5 }), []);
      assert.deepEqual(await ids({ skip: 500 }), []);
      assert.deepEqual(
        (await storage.listOrders(other.id, ANY)).map((item) => item.id),
        [foreign.id],
        'accounts never see each other',
      );
    });

    it('lists deal history by status, by open or close time, ascending, paged', async () => {
      const account = await newAccount();
      const closedEarly = deal(account, {
        openTime: 100,
        closeTime: 120,
        status: 'closed',
        closePrice: PRICE,
        profit: -5,
      });
      const closedInside = deal(account, {
        openTime: 100,
        closeTime: 180,
        status: 'closed',
        closePrice: PRICE,
        profit: 7,
      });
      const openedInside = deal(account, { openTime: 160 });
      const openLate = deal(account, { openTime: 250 });
      const spanning = deal(account, { openTime: 50, closeTime: 300, status: 'closed', closePrice: PRICE });
      await storage.commit({
        ...emptyChanges(),
        deals: [spanning, openLate, openedInside, closedInside, closedEarly],
      });
      const ids = async (query: Partial<HistoryQuery>): Promise<string[]> =>
        (await storage.listDeals(account.id, history(query))).map((item) => item.id);

      assert.deepEqual(await ids({}), [
        closedEarly.id,
        closedInside.id,
        openedInside.id,
        openLate.id,
        spanning.id,
      ]);
      assert.deepEqual(await ids({ from: 150, to: 200 }), [closedInside.id, openedInside.id]);
      assert.deepEqual(await ids({ from: 120, to: 120 }), [closedEarly.id]);
      assert.deepEqual(await ids({ from: 200 }), [openLate.id, spanning.id]);
      assert.deepEqual(await ids({ statuses: ['open'] }), [openedInside.id, openLate.id]);
      assert.deepEqual(await ids({ statuses: ['closed'], from: 150, to: 400 }), [
        closedInside.id,
        spanning.id,
      ]);
      assert.deepEqual(await ids({ skip: 2, limit: 2 }), [openedInside.id, openLate.id]);
      assert.deepEqual(await ids({ skip: 10 }), []);
    });

    it('pages deep history across id buckets exactly like a scan, as statuses and times change', async () => {
      // Adapters shared by several processes hand out only ids reserved ahead; this test burns many.
      await storage.shared?.reserveIds(40_000, 40_000);
      const random = seededRandom(20261123);
      const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
      const account = await newAccount();
      const other = await newAccount();
      const orders = new Map<string, Order>();
      const deals = new Map<string, Deal>();
      // Sparse ids (gaps up to 60) spread 600 orders and 300 deals over several 4,096-id buckets,
      // interleaved with another account's rows; times only move forward, as the clock does.
      let time = 1_000;
      for (let step = 0; step < 900; step += 1) {
        for (let gap = Math.floor(random() * 60); gap > 0; gap -= 1) {
          storage.ids.nextOrderId();
          storage.ids.nextDealId();
        }
        time += Math.floor(random() * 3);
        const owner = random() < 0.8 ? account : other;
        if (step % 3 === 2) {
          const created = deal(owner, { openTime: time, lastModified: time });
          deals.set(created.id, created);
        } else {
          const status = pick(['active', 'filled', 'rejected', 'canceled'] as const);
          const created = order(owner, { createTime: time, lastModified: time, status });
          orders.set(created.id, created);
        }
      }
      await storage.commit({ ...emptyChanges(), orders: [...orders.values()], deals: [...deals.values()] });
      // Later, some resting orders finish and some deals close: rows change status and bucket counts move.
      time += 50;
      const changedOrders: Order[] = [];
      for (const item of orders.values()) {
        if (item.status === 'active' && random() < 0.6) {
          time += 1;
          const finished = { ...item, status: pick(['filled', 'canceled'] as const), lastModified: time };
          orders.set(item.id, finished);
          changedOrders.push(finished);
        }
      }
      const changedDeals: Deal[] = [];
      for (const item of deals.values()) {
        if (random() < 0.5) {
          time += 1;
          const closed: Deal = {
            ...item,
            status: 'closed',
            closeTime: time,
            closePrice: PRICE,
            lastModified: time,
          };
          deals.set(item.id, closed);
          changedDeals.push(closed);
        }
      }
      await storage.commit({ ...emptyChanges(), orders: changedOrders, deals: changedDeals });

      const inWindow = (first: number, second: number | null, query: HistoryQuery): boolean => {
        if (query.from === null && query.to === null) return true;
        const from = query.from ?? 0;
        const to = query.to ?? Number.MAX_SAFE_INTEGER;
        return (first >= from && first <= to) || (second !== null && second >= from && second <= to);
      };
      const expected = <T extends { id: string; accountId: string; status: string }>(
        rows: Iterable<T>,
        times: (row: T) => [number, number | null],
        query: HistoryQuery,
      ): string[] =>
        [...rows]
          .filter((row) => row.accountId === account.id)
          .filter((row) => query.statuses.length === 0 || query.statuses.includes(row.status))
          .filter((row) => inWindow(...times(row), query))
          .map((row) => row.id)
          .sort()
          .slice(query.skip, query.skip + query.limit);

      const bounds = [undefined, 900, 1_000, 1_500, 1_900, time - 200, time - 20, time + 5];
      for (let round = 0; round < 150; round += 1) {
        const from = pick(bounds);
        const to = pick(bounds);
        const query = history({
          ...(from === undefined ? {} : { from }),
          ...(to === undefined ? {} : { to }),
          skip: pick([0, 1, 37, 120, 250, 399, 480, 1_000]),
          limit: pick([1, 10, 100, 500]),
        });
        const orderQuery = {
          ...query,
          statuses: pick([[], ['filled'], ['active', 'in_execution'], ['canceled', 'rejected']]),
        };
        assert.deepEqual(
          (await storage.listOrders(account.id, orderQuery)).map((row) => row.id),
          expected(orders.values(), (row) => [row.createTime, row.lastModified], orderQuery),
          `orders ${JSON.stringify(orderQuery)}`,
        );
        const dealQuery = { ...query, statuses: pick([[], ['open'], ['closed'], ['open', 'closing']]) };
        assert.deepEqual(
          (await storage.listDeals(account.id, dealQuery)).map((row) => row.id),
          expected(deals.values(), (row) => [row.openTime, row.closeTime], dealQuery),
          `deals ${JSON.stringify(dealQuery)}`,
        );
      }
    });

    it('pages fills and ledger entries in the order they were written', async () => {
      const account = await newAccount({ balance: 1_00 });
      const orders = [order(account), order(account), order(account)];
      const fills = orders.map((item) => fill(account, item, []));
      const entries: LedgerEntry[] = [2, 3, 4].map((amount, index) => ({
        accountId: account.id,
        amount,
        type: 'deposit',
        orderId: null,
        dealId: null,
        balanceAfter: 1_00 + amount,
        comment: `entry ${index}`,
        time: T0 + index,
      }));
      await storage.commit({
        ...emptyChanges(),
        orders,
        fills: fills.slice(0, 2),
        ledger: entries.slice(0, 2),
      });
      await storage.commit({ ...emptyChanges(), fills: fills.slice(2), ledger: entries.slice(2) });
      assert.deepEqual(await storage.listFills(account.id, { skip: 0, limit: 10 }), fills);
      assert.deepEqual(await storage.listFills(account.id, { skip: 1, limit: 1 }), [fills[1]]);
      assert.deepEqual(await storage.listFills(account.id, { skip: 3, limit: 1 }), []);
      const ledger = await storage.listLedger(account.id, { skip: 1, limit: 2 });
      assert.deepEqual(ledger, entries.slice(0, 2), 'the opening entry comes first');
    });

    // ---- Reset ----

    /** A step with a resting and a filled order, an open and a closed deal, a fill and a deposit. */
    function tradingStep(account: Account): ChangeSet {
      const resting = order(account);
      const opened = deal(account);
      const closed = deal(account, {
        status: 'closed',
        closePrice: 101 * PRICE,
        closeTime: T0 + 2,
        profit: 1_00,
        lastModified: T0 + 2,
      });
      const market = order(account, {
        type: 'market',
        price: null,
        stopLoss: null,
        takeProfit: null,
        status: 'filled',
        filledPrice: 100 * PRICE,
        deals: [opened.id],
      });
      return {
        ...emptyChanges(),
        orders: [resting, market],
        deals: [opened, closed],
        accounts: [{ ...account, name: 'renamed', status: 'no_new_deals', balance: account.balance + 6_00 }],
        ledger: [
          {
            accountId: account.id,
            amount: 5_00,
            type: 'deposit',
            orderId: null,
            dealId: null,
            balanceAfter: account.balance + 5_00,
            comment: 'deposit',
            time: T0 + 1,
          },
        ],
        fills: [fill(account, market, [opened.id])],
      };
    }

    it('resets an account to its opening state and leaves everything else alone', async () => {
      const alice = await newAccount({ balance: 1_000_00 });
      const bob = await newAccount({ balance: 2_000_00 });
      const aliceUser = (await bookOf(alice.id)).account.userId;
      await storage.createToken(aliceUser, 'alice-token', T0);
      await storage.putOverrides(alice.id, 'AAPL.nq', { leverage: 250_000 });
      const aliceStep = tradingStep(alice);
      const bobStep = tradingStep(bob);
      await storage.commit(aliceStep);
      await storage.commit(bobStep);
      const before = (await bookOf(alice.id)).version;
      const bobBefore = await bookOf(bob.id);
      const highestOrder = [...aliceStep.orders, ...bobStep.orders]
        .map((item) => item.id)
        .sort()
        .at(-1);
      const highestDeal = [...aliceStep.deals, ...bobStep.deals]
        .map((item) => item.id)
        .sort()
        .at(-1);

      assert.deepEqual(await storage.resetAccounts([{ accountId: alice.id }], T0 + 10), [
        { accountId: alice.id, balance: 1_000_00, version: before + 1 },
      ]);

      const check = async (): Promise<void> => {
        assert.deepEqual(await storage.listOrders(alice.id, ANY), []);
        assert.deepEqual(await storage.listOrders(alice.id, history({ statuses: ['active'] })), []);
        assert.deepEqual(await storage.listDeals(alice.id, ANY), []);
        assert.deepEqual(await storage.listFills(alice.id, { skip: 0, limit: 10 }), []);
        assert.deepEqual(await storage.listLedger(alice.id, { skip: 0, limit: 10 }), [
          {
            accountId: alice.id,
            amount: 1_000_00,
            type: 'deposit',
            orderId: null,
            dealId: null,
            balanceAfter: 1_000_00,
            comment: 'initial deposit',
            time: T0 + 10,
          },
        ]);
        const book = await bookOf(alice.id);
        assert.deepEqual(book.account, {
          ...alice,
          name: 'renamed',
          status: 'no_new_deals',
          balance: 1_000_00,
        });
        assert.equal(book.version, before + 1);
        assert.deepEqual([...book.orders.values()], []);
        assert.deepEqual([...book.deals.values()], []);
        assert.deepEqual([...book.overrides.entries()], [['AAPL.nq', { leverage: 250_000 }]]);
        assert.equal(await storage.findTokenUser('alice-token'), aliceUser, 'tokens stay');
        assert.deepEqual(await storage.openingBalances([alice.id]), new Map([[alice.id, 1_000_00]]));
        // Bob's account is untouched.
        assert.deepEqual(await bookOf(bob.id), bobBefore);
        assert.deepEqual(await storage.listOrders(bob.id, ANY), bobStep.orders);
        assert.deepEqual(await storage.listDeals(bob.id, ANY), bobStep.deals);
        assert.deepEqual(await storage.listFills(bob.id, { skip: 0, limit: 10 }), bobStep.fills);
        assert.equal((await storage.listLedger(bob.id, { skip: 0, limit: 10 })).length, 2);
      };
      await check();
      await reopen();
      await check();
      const nextOrder = storage.ids.nextOrderId();
      const nextDeal = storage.ids.nextDealId();
      assert.ok(
        highestOrder && nextOrder > highestOrder,
        `order id ${nextOrder} must follow ${highestOrder}`,
      );
      assert.ok(highestDeal && nextDeal > highestDeal, `deal id ${nextDeal} must follow ${highestDeal}`);
    });

    it('resets to a given balance, which becomes the opening balance', async () => {
      const account = await newAccount({ balance: 1_000_00 });
      await storage.commit(tradingStep(account));
      const [first] = await storage.resetAccounts([{ accountId: account.id, balance: 250_50 }], T0 + 10);
      assert.equal(first?.balance, 250_50);
      assert.deepEqual(
        (await storage.listLedger(account.id, { skip: 0, limit: 10 })).map((entry) => entry.amount),
        [250_50],
      );
      await storage.commit(tradingStep({ ...account, balance: 250_50 }));
      await reopen();
      // Without a balance it opens again with the one it was last reset to.
      const [second] = await storage.resetAccounts([{ accountId: account.id }], T0 + 20);
      assert.equal(second?.balance, 250_50);
      assert.equal((await bookOf(account.id)).account.balance, 250_50);
      assert.deepEqual(await storage.openingBalances(), new Map([[account.id, 250_50]]));
      const [zero] = await storage.resetAccounts([{ accountId: account.id, balance: 0 }], T0 + 30);
      assert.equal(zero?.balance, 0);
      assert.deepEqual(await storage.listLedger(account.id, { skip: 0, limit: 10 }), [], 'no entry for 0');
      assert.equal((await bookOf(account.id)).account.balance, 0);
    });

    it('resets several accounts at once, skips unknown ones, and ids go on increasing', async () => {
      const first = await newAccount({ balance: 1_00 });
      const second = await newAccount({ balance: 2_00 });
      const steps = [tradingStep(first), tradingStep(second)];
      for (const step of steps) await storage.commit(step);
      const highestOrder =
        steps
          .flatMap((step) => step.orders.map((item) => item.id))
          .sort()
          .at(-1) ?? '';
      const highestDeal =
        steps
          .flatMap((step) => step.deals.map((item) => item.id))
          .sort()
          .at(-1) ?? '';
      const results = await storage.resetAccounts(
        [{ accountId: second.id, balance: 7_00 }, { accountId: '99999999' }, { accountId: first.id }],
        T0 + 10,
      );
      assert.deepEqual(results.map(({ accountId, balance }) => [accountId, balance]).sort(), [
        [first.id, 1_00],
        [second.id, 7_00],
      ]);
      assert.deepEqual(await storage.resetAccounts([{ accountId: '99999999' }], T0 + 10), []);
      assert.deepEqual(await storage.listOrders(first.id, ANY), []);
      assert.deepEqual(await storage.listOrders(second.id, ANY), []);
      // No order or deal is left; a restarted process still never hands out an id used before.
      await reopen();
      await reopen();
      const nextOrder = storage.ids.nextOrderId();
      const nextDeal = storage.ids.nextDealId();
      assert.ok(nextOrder > highestOrder, `order id ${nextOrder} must follow ${highestOrder}`);
      assert.ok(nextDeal > highestDeal, `deal id ${nextDeal} must follow ${highestDeal}`);
    });

    it('applies a reset in order with the commits submitted around it', async () => {
      const account = await newAccount({ balance: 1_000_00 });
      const before = order(account);
      const after = order(account);
      const writes = [
        storage.commit({ ...emptyChanges(), orders: [before] }),
        storage.resetAccounts([{ accountId: account.id }], T0 + 10),
        storage.commit({ ...emptyChanges(), orders: [after] }),
      ];
      await Promise.all(writes);
      assert.deepEqual(await storage.listOrders(account.id, ANY), [after]);
      await reopen();
      assert.deepEqual(await storage.listOrders(account.id, ANY), [after]);
    });

    it('pages history after a reset only over what came after it', async () => {
      await storage.shared?.reserveIds(5_000, 10);
      const account = await newAccount();
      const old = Array.from({ length: 10 }, () => order(account, { status: 'filled' }));
      await storage.commit({ ...emptyChanges(), orders: old });
      await storage.resetAccounts([{ accountId: account.id }], T0 + 10);
      // The next orders fall in a later bucket of ids than the ones the reset deleted.
      for (let burn = 0; burn < 4_096; burn += 1) storage.ids.nextOrderId();
      const fresh = Array.from({ length: 3 }, () => order(account, { status: 'filled' }));
      await storage.commit({ ...emptyChanges(), orders: fresh });
      const ids = async (query: Partial<HistoryQuery>): Promise<string[]> =>
        (await storage.listOrders(account.id, history(query))).map((item) => item.id);
      const freshIds = fresh.map((item) => item.id);
      assert.deepEqual(await ids({}), freshIds);
      assert.deepEqual(await ids({ skip: 1 }), freshIds.slice(1));
      assert.deepEqual(await ids({ skip: 3 }), []);
      assert.deepEqual(await ids({ skip: 10 }), []);
      assert.deepEqual(await ids({ statuses: ['filled'], skip: 2 }), freshIds.slice(2));
    });

    it('tells whether the database holds any trading history', async () => {
      assert.equal(await storage.hasTradingHistory(), false, 'a fresh database');
      const account = await newAccount({ balance: 1_000_00 });
      const empty = await newAccount({ balance: 0 });
      assert.equal(await storage.hasTradingHistory(), false, 'opening deposits are no history');
      const steps: [string, ChangeSet][] = [
        ['an order', { ...emptyChanges(), orders: [order(account)] }],
        ['a deal', { ...emptyChanges(), deals: [deal(empty)] }],
        ['a fill', { ...emptyChanges(), fills: [fill(account, order(account), [])] }],
        [
          'a deposit',
          {
            ...emptyChanges(),
            ledger: [
              {
                accountId: empty.id,
                amount: 1_00,
                type: 'deposit',
                orderId: null,
                dealId: null,
                balanceAfter: 1_00,
                comment: 'deposit',
                time: T0,
              },
            ],
          },
        ],
        [
          'a second entry reading like an opening one',
          {
            ...emptyChanges(),
            ledger: [
              {
                accountId: account.id,
                amount: 1_000_00,
                type: 'deposit',
                orderId: null,
                dealId: null,
                balanceAfter: 1_000_00,
                comment: 'initial deposit',
                time: T0,
              },
            ],
          },
        ],
      ];
      for (const [what, step] of steps) {
        await storage.commit(step);
        assert.equal(await storage.hasTradingHistory(), true, what);
        await storage.resetAccounts([{ accountId: account.id }, { accountId: empty.id }], T0 + 10);
        assert.equal(await storage.hasTradingHistory(), false, `after ${what} and a reset`);
      }
      await storage.resetAccounts([{ accountId: account.id, balance: 3_00 }], T0 + 20);
      await reopen();
      assert.equal(await storage.hasTradingHistory(), false, 'a reset to a new balance');
    });

    it('tells the time of the latest trade', async () => {
      assert.equal(await storage.latestTradeTime(), undefined, 'a fresh database');
      const account = await newAccount();
      const placed = order(account);
      await storage.commit({ ...emptyChanges(), orders: [{ ...placed, lastModified: T0 + 50 }] });
      await storage.commit({ ...emptyChanges(), deals: [{ ...deal(account), lastModified: T0 + 70 }] });
      await storage.commit({ ...emptyChanges(), orders: [{ ...placed, lastModified: T0 + 60 }] });
      assert.equal(await storage.latestTradeTime(), T0 + 70);
      await storage.resetAccounts([{ accountId: account.id }], T0 + 100);
      assert.equal(await storage.latestTradeTime(), undefined, 'after a reset');
    });

    // ---- Ids ----

    it('continues order and deal ids after reopen, never repeating a stored one', async () => {
      const account = await newAccount();
      const first = order(account);
      const second = order(account);
      const opened = deal(account);
      assert.match(first.id, /^\d{9}$/);
      assert.match(opened.id, /^\d{6}$/);
      assert.ok(second.id > first.id);
      await storage.commit({ ...emptyChanges(), orders: [first, second], deals: [opened] });
      await reopen();
      const nextOrder = storage.ids.nextOrderId();
      const nextDeal = storage.ids.nextDealId();
      assert.ok(nextOrder > second.id, `${nextOrder} must follow ${second.id}`);
      assert.ok(nextDeal > opened.id, `${nextDeal} must follow ${opened.id}`);
      if (!storage.shared) {
        // One writer counts on from the largest stored id; processes sharing a database reserve
        // blocks ahead and skip what a stopped process reserved but never used.
        assert.equal(Number(nextOrder), Number(second.id) + 1);
        assert.equal(Number(nextDeal), Number(opened.id) + 1);
      }
      assert.ok(storage.ids.nextOrderId() > nextOrder);
    });
  });
}
