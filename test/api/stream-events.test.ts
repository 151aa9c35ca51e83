/**
 * Account event streams, driven as a bot would: every event type is produced by a trading scenario
 * and received over Server-Sent Events and over WebSocket, the two carrying the same JSON, with ids
 * 1, 2, 3… per account. Orders and deals in events are the REST API's objects.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ACCOUNT_EVENT_TYPES } from '../../src/contract/stream-api.ts';
import { SseClient, WsClient } from '../support/stream-clients.ts';
import { startTestServer, type TestAccount, type TestServer } from '../support/test-server.ts';
import { allDeals, allOrders } from '../scenarios/scenario-helpers.ts';

const START_MS = Date.UTC(2026, 0, 6, 15, 0, 0);

describe('account event streams', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer({ clock: { mode: 'manual', startMs: START_MS, speed: undefined } });
  });
  after(() => t.close());

  /** An SSE and a WebSocket subscriber of the account, both live before anything happens. */
  async function subscribe(account: TestAccount): Promise<{ sse: SseClient; ws: WsClient }> {
    const sse = await SseClient.open(`${t.url}/stream/v1/accounts/${account.accountId}/events`, {
      authorization: `Bearer ${account.token}`,
    });
    const ws = await WsClient.open(`${t.url}/stream/v1/ws`, { authorization: `Bearer ${account.token}` });
    ws.send({ type: 'subscribe', account_id: account.accountId });
    await sse.waitFor('SSE subscribed', (messages) => messages.some((m) => m.event === 'subscribed'));
    await ws.waitFor('WS subscribed', (messages) => messages.some((m) => m.type === 'subscribed'));
    return { sse, ws };
  }

  /** Waits until both have `count` events, then checks they agree and are numbered 1…count. */
  async function received(streams: { sse: SseClient; ws: WsClient }, count: number) {
    await streams.sse.waitFor(`${count} SSE events`, () => streams.sse.events.length >= count);
    await streams.ws.waitFor(`${count} WS events`, () => streams.ws.events.length >= count);
    const sse = streams.sse.events;
    assert.deepEqual(
      sse.map((message) => message.data.id),
      Array.from({ length: count }, (_, index) => index + 1),
    );
    for (const message of sse) {
      assert.equal(message.id, String(message.data.id), 'the SSE id line is the event id');
      assert.equal(message.event, message.data.type, 'the SSE event name is the event type');
    }
    assert.deepEqual(
      streams.ws.events.map(({ stream, ...data }) => {
        assert.equal(stream, 'account');
        return data;
      }),
      sse.map((message) => message.data),
      'WebSocket messages carry the SSE data',
    );
    return sse.map((message) => message.data);
  }

  it('streams every event type of a trading scenario over SSE and WebSocket alike', async () => {
    const seen = new Set<string>();
    await t.admin.setQuote('AAPL.nq', { bid: 100, ask: 100.02 });

    // Hedging: market order, SL/TP change, resting order modified, canceled and expired,
    // a rejection, a deposit and a withdrawal, a client close.
    const hedging = await t.newAccount({ system: 'hedging', balance: 100_000 });
    const h = await subscribe(hedging);
    const { client, accountId } = hedging;
    const bought = await client.placeOrder(accountId, {
      ticker: 'AAPL.nq',
      side: 'buy',
      type: 'market',
      volume: 10,
    });
    const [deal] = await client.deals(accountId);
    assert.ok(deal);
    await client.modifyDeal(accountId, deal.id, { stop_loss: 90 });
    const resting = await client.placeOrder(accountId, {
      ticker: 'AAPL.nq',
      side: 'buy',
      type: 'limit',
      volume: 1,
      price: 95,
    });
    await client.modifyOrder(accountId, resting, { price: 96 });
    await client.cancelOrder(accountId, resting);
    const { now } = await t.admin.clock();
    await client.placeOrder(accountId, {
      ticker: 'AAPL.nq',
      side: 'buy',
      type: 'limit',
      volume: 1,
      price: 95,
      expiration: now + 60,
    });
    await t.admin.advanceClock(61);
    await assert.rejects(
      client.placeOrder(accountId, { ticker: 'AAPL.nq', side: 'buy', type: 'market', volume: 0.5 }),
    );
    await t.admin.adjustBalance(accountId, 500, 'bonus');
    await t.admin.adjustBalance(accountId, -200, 'fee');
    await client.closeDeal(accountId, deal.id);

    const events = await received(h, 15);
    assert.deepEqual(
      events.map((event) => event.type),
      [
        'order_placed',
        'deal_opened',
        'order_filled',
        'deal_modified',
        'order_placed',
        'order_modified',
        'order_canceled',
        'order_placed',
        'order_expired',
        'order_rejected',
        'balance_changed',
        'balance_changed',
        'order_placed',
        'deal_closed',
        'order_filled',
      ],
    );
    for (const event of events) seen.add(String(event.type));

    // The objects are the REST API's, as they were at the event.
    const orders = await allOrders(client, accountId);
    const filled = events[2];
    assert.deepEqual(
      filled?.order,
      orders.find((order) => order.id === bought),
    );
    assert.equal((events[0]?.order as { status: string }).status, 'in_execution');
    const closed = events[13];
    assert.deepEqual(
      closed?.deal,
      (await allDeals(client, accountId)).find((d) => d.id === deal.id),
    );
    assert.deepEqual((events[3]?.deal as { stop_loss: number }).stop_loss, 90);
    assert.equal((events[5]?.order as { price: number }).price, 96);
    assert.equal(events[9]?.reason, 'invalid_volume');
    assert.deepEqual(
      [events[10], events[11]].map((event) => [event?.reason, event?.amount, event?.comment]),
      [
        ['deposit', 500, 'bonus'],
        ['withdrawal', -200, 'fee'],
      ],
    );
    assert.equal(events[11]?.balance, Number(events[10]?.balance) - 200);
    assert.deepEqual(
      [events[10], events[11]].map((event) => [event?.order_id, event?.deal_id]),
      [
        [null, null],
        [null, null],
      ],
      'cash in and out belongs to no order or deal',
    );
    // The admin ledger says the same, with the entry types the events name.
    const ledger = await t.admin.ledger(accountId, { skip: 0, limit: 100 });
    assert.deepEqual(
      ledger.slice(-2).map((entry) => [entry.type, entry.amount, entry.balance_after, entry.order_id]),
      [
        ['deposit', 500, events[10]?.balance, null],
        ['withdrawal', -200, events[11]?.balance, null],
      ],
    );
    assert.equal(
      (await t.admin.account(accountId)).account.balance,
      Number(events[11]?.balance) + (closed?.deal as { profit: number }).profit,
    );
    for (const event of events) {
      assert.equal(event.account_id, accountId);
      assert.equal(typeof event.time, 'number');
    }

    // Netting: adding to, then reducing the position.
    const netting = await t.newAccount({ system: 'netting', balance: 100_000 });
    const n = await subscribe(netting);
    const buy = (side: 'buy' | 'sell', volume: number) =>
      netting.client.placeOrder(netting.accountId, { ticker: 'AAPL.nq', side, type: 'market', volume });
    await buy('buy', 2);
    await buy('buy', 1);
    await buy('sell', 1);
    const nettingEvents = await received(n, 10);
    assert.deepEqual(
      nettingEvents.map((event) => event.type),
      [
        'order_placed',
        'deal_opened',
        'order_filled',
        'order_placed',
        'deal_increased',
        'order_filled',
        'order_placed',
        'deal_closed',
        'deal_reduced',
        'order_filled',
      ],
    );
    const reduced = nettingEvents[8];
    assert.equal((reduced?.deal as { volume: number }).volume, 2);
    assert.equal(reduced?.closed_deal_id, (nettingEvents[7]?.deal as { id: string }).id);
    for (const event of nettingEvents) seen.add(String(event.type));

    // Margin: a fall below the margin call level and then the stop-out level in one quote.
    const margin = await t.newAccount({ system: 'hedging', balance: 1_000 });
    const m = await subscribe(margin);
    await margin.client.placeOrder(margin.accountId, {
      ticker: 'AAPL.nq',
      side: 'buy',
      type: 'market',
      volume: 190,
    });
    await t.admin.setQuote('AAPL.nq', { bid: 97, ask: 97.02 });
    const marginEvents = await received(m, 8);
    assert.deepEqual(
      marginEvents.map((event) => event.type),
      [
        'order_placed',
        'deal_opened',
        'order_filled',
        'margin_called',
        'stopped_out',
        'order_placed',
        'deal_closed',
        'order_filled',
      ],
    );
    assert.equal(typeof marginEvents[3]?.margin_level, 'number');
    assert.equal(marginEvents[4]?.deal_id, (marginEvents[1]?.deal as { id: string }).id);
    assert.equal((marginEvents[5]?.order as { type: string }).type, 'stop_out');
    for (const event of marginEvents) seen.add(String(event.type));

    assert.deepEqual([...seen].sort(), [...ACCOUNT_EVENT_TYPES].sort(), 'every event type was produced');
    for (const streams of [h, n, m]) {
      assert.equal(streams.sse.events.length, streams.ws.events.length);
      streams.sse.close();
      streams.ws.close();
    }
  });
});
