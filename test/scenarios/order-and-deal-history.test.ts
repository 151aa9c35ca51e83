/**
 * Story: order and deal history. With no query, `GET orders` lists the current orders (active)
 * and `GET deals` the open deals. Any of status, history_from, history_to, skip or limit turns the
 * call into a history search: orders match on create_time or last_modified inside the inclusive
 * window, deals on open_time or close_time; results come in ascending id; `limit` defaults to 100
 * and is capped at 500; `skip` past the end returns []. The admin manual clock gives every step its
 * own timestamp.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Deal, Order } from '../../src/contract/public-api.ts';
import { raw, startTestServer, type TestAccount, type TestServer } from '../support/test-server.ts';
import { rejects400 } from './scenario-helpers.ts';

const ids = (rows: readonly (Order | Deal)[]): string[] => rows.map((row) => row.id);

function assertAscending(rows: readonly (Order | Deal)[]): void {
  for (let index = 1; index < rows.length; index++) {
    const previous = rows[index - 1]?.id ?? '';
    const current = rows[index]?.id ?? '';
    assert.ok(previous < current, `ids ascend: ${previous} before ${current}`);
  }
}

describe('order and deal history', () => {
  let t: TestServer;
  let alice: TestAccount;
  /** One timestamp per step of the story; each step is 100 s after the one before. */
  const T: number[] = [];
  const time = (index: number): number => {
    const value = T[index];
    assert.ok(value !== undefined, `step ${index} happened`);
    return value;
  };
  const orders: Record<string, string> = {};
  const deals: Record<string, string> = {};

  before(async () => {
    t = await startTestServer();
    alice = await t.newAccount({ system: 'hedging' });
    const { accountId, client } = alice;
    const { now } = await t.admin.clock();
    const start = Math.ceil(now / 1000) * 1000 + 1000;
    await t.admin.setClock({ mode: 'manual', now: start });
    const step = async (): Promise<void> => {
      if (T.length > 0) await t.admin.advanceClock(100);
      T.push((await t.admin.clock()).now);
    };
    await t.admin.setQuote('AAPL.nq', { bid: 100, ask: 100.02 });

    await step(); // T0: a buy limit that stays active
    orders.restingLimit = await client.placeOrder(accountId, {
      ticker: 'AAPL.nq',
      side: 'buy',
      type: 'limit',
      volume: 1,
      price: 90,
    });
    await step(); // T1: a market buy opens the first deal
    orders.firstBuy = await client.placeOrder(accountId, {
      ticker: 'AAPL.nq',
      side: 'buy',
      type: 'market',
      volume: 2,
    });
    await step(); // T2: a limit that is canceled at T3
    orders.canceled = await client.placeOrder(accountId, {
      ticker: 'AAPL.nq',
      side: 'sell',
      type: 'limit',
      volume: 1,
      price: 120,
    });
    await step(); // T3
    await client.cancelOrder(accountId, orders.canceled);
    await step(); // T4: a rejected order
    await rejects400(
      client.placeOrder(accountId, { ticker: 'AAPL.nq', side: 'buy', type: 'market', volume: 0.5 }),
      'volume 0.5 is below min_volume 1',
    );
    orders.rejected = (await client.orders(accountId, { status: 'rejected' }))[0]?.id ?? '';
    await step(); // T5: the first deal closes, a second opens
    const [first] = await client.deals(accountId);
    assert.ok(first);
    deals.first = first.id;
    await client.closeDeal(accountId, first.id);
    orders.close = (await client.orders(accountId, { status: 'filled', history_from: time(5) }))[0]?.id ?? '';
    orders.secondBuy = await client.placeOrder(accountId, {
      ticker: 'AAPL.nq',
      side: 'buy',
      type: 'market',
      volume: 3,
    });
    deals.second = (await client.deals(accountId))[0]?.id ?? '';
    await step(); // T6: the resting limit is modified
    await client.modifyOrder(accountId, orders.restingLimit, { price: 91 });
    await step(); // T7: nothing happens from here on
  });
  after(() => t.close());

  it('sets the story up with distinct timestamps and increasing ids', async () => {
    assert.deepEqual(
      T.map((stamp) => stamp - time(0)),
      [0, 100, 200, 300, 400, 500, 600, 700],
    );
    const all = await alice.client.orders(alice.accountId, { history_from: 0 });
    assert.deepEqual(ids(all), [
      orders.restingLimit,
      orders.firstBuy,
      orders.canceled,
      orders.rejected,
      orders.close,
      orders.secondBuy,
    ]);
    assert.deepEqual(
      all.map((order) => [
        order.status,
        (order.create_time ?? 0) - time(0),
        (order.last_modified ?? 0) - time(0),
      ]),
      [
        ['active', 0, 600],
        ['filled', 100, 100],
        ['canceled', 200, 300],
        ['rejected', 400, 400],
        ['filled', 500, 500],
        ['filled', 500, 500],
      ],
    );
  });

  it('with no query lists only current orders and open deals', async () => {
    const current = await alice.client.orders(alice.accountId);
    assert.deepEqual(ids(current), [orders.restingLimit]);
    assert.equal(current[0]?.status, 'active');
    const open = await alice.client.deals(alice.accountId);
    assert.deepEqual(ids(open), [deals.second]);
    assert.equal(open[0]?.status, 'open');
  });

  it('searches orders by status', async () => {
    const { client, accountId } = alice;
    assert.deepEqual(ids(await client.orders(accountId, { status: 'filled' })), [
      orders.firstBuy,
      orders.close,
      orders.secondBuy,
    ]);
    assert.deepEqual(ids(await client.orders(accountId, { status: 'canceled' })), [orders.canceled]);
    assert.deepEqual(ids(await client.orders(accountId, { status: 'active' })), [orders.restingLimit]);
    assert.deepEqual(await client.orders(accountId, { status: 'in_execution' }), []);
  });

  it('any query parameter searches all of history, in ascending id', async () => {
    const { client, accountId } = alice;
    const everything = [
      orders.restingLimit,
      orders.firstBuy,
      orders.canceled,
      orders.rejected,
      orders.close,
      orders.secondBuy,
    ];
    assert.deepEqual(ids(await client.orders(accountId, { limit: 100 })), everything);
    assert.deepEqual(ids(await client.orders(accountId, { skip: 0 })), everything);
    assert.deepEqual(ids(await client.orders(accountId, { history_to: time(7) })), everything);
    const allDeals = await client.deals(accountId, { limit: 100 });
    assert.deepEqual(ids(allDeals), [deals.first, deals.second]);
    assert.deepEqual(
      allDeals.map((deal) => deal.status),
      ['closed', 'open'],
    );
    assertAscending(allDeals);
  });

  it('matches orders on create_time or last_modified inside an inclusive window', async () => {
    const { client, accountId } = alice;
    const window = async (from: number | undefined, to: number | undefined): Promise<string[]> =>
      ids(
        await client.orders(accountId, {
          ...(from === undefined ? {} : { history_from: from }),
          ...(to === undefined ? {} : { history_to: to }),
        }),
      );
    // Created at T2 and canceled at T3: either end of the window catches it.
    assert.deepEqual(await window(time(2), time(2)), [orders.canceled]);
    assert.deepEqual(await window(time(3), time(3)), [orders.canceled]);
    // Created at T0 but modified at T6: matched by last_modified alone.
    assert.deepEqual(await window(time(6), time(6)), [orders.restingLimit]);
    // Bounds are inclusive and the ids still ascend across both kinds of match.
    assert.deepEqual(await window(time(4), time(6)), [
      orders.restingLimit,
      orders.rejected,
      orders.close,
      orders.secondBuy,
    ]);
    assert.deepEqual(await window(undefined, time(1)), [orders.restingLimit, orders.firstBuy]);
    assert.deepEqual(await window(time(5), undefined), [orders.restingLimit, orders.close, orders.secondBuy]);
    // A window strictly between two events matches nothing.
    assert.deepEqual(await window(time(1) + 1, time(2) - 1), []);
    assert.deepEqual(await window(time(7), undefined), []);
  });

  it('matches deals on open_time or close_time inside the window', async () => {
    const { client, accountId } = alice;
    const window = async (from: number | undefined, to: number | undefined): Promise<Deal[]> =>
      client.deals(accountId, {
        ...(from === undefined ? {} : { history_from: from }),
        ...(to === undefined ? {} : { history_to: to }),
      });
    assert.deepEqual(ids(await window(time(1), time(1))), [deals.first]);
    const atFive = await window(time(5), time(5));
    assert.deepEqual(ids(atFive), [deals.first, deals.second]);
    assert.deepEqual(
      atFive.map((deal) => [deal.status, deal.open_time, deal.close_time]),
      [
        ['closed', time(1), time(5)],
        ['open', time(5), undefined],
      ],
    );
    // Open across the whole window but neither opened nor closed in it: not matched.
    assert.deepEqual(await window(time(2), time(4)), []);
    assert.deepEqual(ids(await window(undefined, time(4))), [deals.first]);
    assert.deepEqual(ids(await window(time(6), undefined)), []);
  });

  it('pages with skip and limit; skip past the end gives []', async () => {
    const { client, accountId } = alice;
    assert.deepEqual(ids(await client.orders(accountId, { status: 'filled', skip: 1, limit: 1 })), [
      orders.close,
    ]);
    assert.deepEqual(ids(await client.orders(accountId, { status: 'filled', skip: 2 })), [orders.secondBuy]);
    assert.deepEqual(await client.orders(accountId, { status: 'filled', skip: 3 }), []);
    assert.deepEqual(await client.orders(accountId, { skip: 1_000_000 }), []);
    assert.deepEqual(await client.deals(accountId, { skip: 2 }), []);
    assert.deepEqual(ids(await client.deals(accountId, { skip: 1, limit: 1 })), [deals.second]);
    const response = await raw(t.url, 'GET', `/api/v1/accounts/${accountId}/orders?skip=50`, {
      token: alice.token,
    });
    assert.equal(response.status, 200);
    assert.deepEqual(response.body, { code: 'ok', data: [] });
  });

  it('rejects malformed paging and window parameters with a 400 naming the field', async () => {
    const path = `/api/v1/accounts/${alice.accountId}`;
    for (const [query, field] of [
      ['orders?limit=0', 'limit'],
      ['orders?limit=-5', 'limit'],
      ['orders?skip=-1', 'skip'],
      ['orders?skip=abc', 'skip'],
      ['orders?status=open', 'status'],
      ['deals?history_from=yesterday', 'history_from'],
      ['deals?history_to=-1', 'history_to'],
    ] as const) {
      const response = await raw(t.url, 'GET', `${path}/${query}`, { token: alice.token });
      assert.equal(response.status, 400, `${query} → ${response.status} ${response.text}`);
      assert.equal(response.body.code, 'error');
      assert.match(response.body.msg ?? '', new RegExp(field), query);
    }
  });
});

describe('history paging over many orders', () => {
  let t: TestServer;
  let bob: TestAccount;
  let early: string[] = [];
  let late: string[] = [];
  let openedEarly = 0;
  let openedLate = 0;

  /** Records `count` rejected orders (volume below min), a few at a time. */
  async function reject(count: number): Promise<void> {
    for (let done = 0; done < count; done += 25) {
      await Promise.all(
        Array.from({ length: Math.min(25, count - done) }, () =>
          bob.client
            .placeOrder(bob.accountId, { ticker: 'AAPL.nq', side: 'buy', type: 'market', volume: 0.5 })
            .then(
              () => assert.fail('a volume below min_volume must be rejected'),
              () => undefined,
            ),
        ),
      );
    }
  }

  before(async () => {
    t = await startTestServer();
    bob = await t.newAccount({ system: 'hedging', balance: 1_000_000 });
    await t.admin.setQuote('AAPL.nq', { bid: 100, ask: 100.02 });
    const { now } = await t.admin.clock();
    openedEarly = Math.ceil(now / 1000) * 1000 + 1000;
    await t.admin.setClock({ mode: 'manual', now: openedEarly });
    await reject(320);
    openedLate = (await t.admin.advanceClock(60)).now;
    await reject(230);
    const rejected: Order[] = [];
    for (let skip = 0; ; skip += 500) {
      const page = await bob.client.orders(bob.accountId, { status: 'rejected', skip, limit: 500 });
      rejected.push(...page);
      if (page.length < 500) break;
    }
    early = rejected.filter((order) => order.create_time === openedEarly).map((order) => order.id);
    late = rejected.filter((order) => order.create_time === openedLate).map((order) => order.id);
  });
  after(() => t.close());

  it('recorded every rejection, with increasing ids', () => {
    assert.equal(early.length, 320);
    assert.equal(late.length, 230);
    assert.ok((early.at(-1) ?? '') < (late[0] ?? ''));
  });

  it('defaults limit to 100 and caps it at 500', async () => {
    const { client, accountId } = bob;
    const all = [...early, ...late];
    assert.deepEqual(ids(await client.orders(accountId, { status: 'rejected' })), all.slice(0, 100));
    assert.deepEqual(ids(await client.orders(accountId, { history_from: 0 })), all.slice(0, 100));
    const capped = await client.orders(accountId, { status: 'rejected', limit: 1000 });
    assert.equal(capped.length, 500);
    assert.deepEqual(ids(capped), all.slice(0, 500));
    assertAscending(capped);
    assert.equal((await client.orders(accountId, { limit: 501 })).length, 500);
    assert.equal((await client.orders(accountId, { limit: 499 })).length, 499);
    assert.deepEqual(ids(await client.orders(accountId, { skip: 500, limit: 1000 })), all.slice(500));
    assert.deepEqual(await client.orders(accountId, { skip: all.length, limit: 1000 }), []);
  });

  it('walks the whole history in pages without gaps or repeats', async () => {
    const { client, accountId } = bob;
    const seen: string[] = [];
    for (let skip = 0; ; skip += 77) {
      const page = await client.orders(accountId, { status: 'rejected', skip, limit: 77 });
      seen.push(...ids(page));
      if (page.length < 77) break;
    }
    assert.deepEqual(seen, [...early, ...late]);
  });

  it('combines status, window, skip and limit', async () => {
    const { client, accountId } = bob;
    const lateOnly = { status: 'rejected' as const, history_from: openedLate, history_to: openedLate };
    assert.deepEqual(ids(await client.orders(accountId, lateOnly)), late.slice(0, 100));
    assert.deepEqual(
      ids(await client.orders(accountId, { ...lateOnly, skip: 100, limit: 50 })),
      late.slice(100, 150),
    );
    assert.deepEqual(
      ids(await client.orders(accountId, { ...lateOnly, skip: 200, limit: 500 })),
      late.slice(200),
    );
    assert.deepEqual(await client.orders(accountId, { ...lateOnly, skip: 230 }), []);
    const earlyOnly = { history_from: openedEarly, history_to: openedLate - 1 };
    assert.deepEqual(
      ids(await client.orders(accountId, { ...earlyOnly, skip: 300, limit: 500 })),
      early.slice(300),
    );
    // A status with no match in the window is an empty page, not an error.
    assert.deepEqual(await client.orders(accountId, { ...lateOnly, status: 'filled' }), []);
  });

  it('pages deals the same way', async () => {
    const { client, accountId } = bob;
    for (let index = 0; index < 12; index++) {
      await client.placeOrder(accountId, { ticker: 'AAPL.nq', side: 'buy', type: 'market', volume: 1 });
    }
    const open = await client.deals(accountId);
    assert.equal(open.length, 12);
    assertAscending(open);
    assert.deepEqual(ids(await client.deals(accountId, { limit: 5 })), ids(open).slice(0, 5));
    assert.deepEqual(ids(await client.deals(accountId, { skip: 10, limit: 5 })), ids(open).slice(10));
    assert.deepEqual(await client.deals(accountId, { skip: 12 }), []);
    assert.deepEqual(
      ids(await client.deals(accountId, { history_from: openedLate, skip: 4, limit: 4 })),
      ids(open).slice(4, 8),
    );
  });
});
