/**
 * The trigger source of an instrument through the admin API: `PUT /admin/v1/instruments/{ticker}`
 * takes `trigger_source` (`last` or `bid_ask`; anything else is a 400 that changes nothing), a new
 * instrument defaults to `last` on the us_equities calendar and `bid_ask` otherwise, and the
 * setting is stored: after a restart a stock set to `bid_ask` still ignores the last.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN_TOKEN, raw, startTestServer, type TestServer } from '../support/test-server.ts';

const JSON_TYPE = 'application/json';

describe('instrument trigger source', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer();
  });
  after(() => t.close());

  function put(ticker: string, body: string) {
    return raw(t.url, 'PUT', `/admin/v1/instruments/${ticker}`, {
      token: ADMIN_TOKEN,
      contentType: JSON_TYPE,
      body,
    });
  }

  async function storedSource(ticker: string): Promise<string | undefined> {
    const rows = await t.query<{ trigger_source: string }>(
      `SELECT trigger_source FROM instruments WHERE ticker = '${ticker}'`,
    );
    return rows[0]?.trigger_source;
  }

  it('the catalogue has stocks on last and FX and metals on bid_ask', async () => {
    assert.equal(await storedSource('AAPL.nq'), 'last');
    assert.equal(await storedSource('SPY.ny'), 'last');
    assert.equal(await storedSource('EURUSD'), 'bid_ask');
    assert.equal(await storedSource('XAUUSD'), 'bid_ask');
  });

  it('refuses a trigger source other than last or bid_ask, and changes nothing', async () => {
    for (const body of [
      '{"trigger_source":"bid"}',
      '{"trigger_source":"LAST"}',
      '{"trigger_source":""}',
      '{"trigger_source":1}',
      '{"trigger_source":null}',
      '{"description":"changed","trigger_source":"mid"}',
    ]) {
      const answer = await put('AAPL.nq', body);
      assert.equal(answer.status, 400, body);
      assert.equal(answer.body.code, 'error');
      assert.match(answer.body.msg ?? '', /trigger_source/, body);
    }
    assert.equal(await storedSource('AAPL.nq'), 'last');
    const rows = await t.query<{ description: string }>(
      "SELECT description FROM instruments WHERE ticker = 'AAPL.nq'",
    );
    assert.equal(rows[0]?.description, 'Apple Inc.');
  });

  it('a new instrument defaults by its calendar; an update keeps what it does not name', async () => {
    const conditions = {
      contract_size: 1,
      min_volume: 1,
      max_volume: 1000,
      volume_step: 1,
      min_tick: 0.01,
      leverage: 0.2,
      quote_currency: 'USD',
    };
    assert.equal(
      (await put('NEWCO.nq', JSON.stringify({ ...conditions, calendar: 'us_equities' }))).status,
      200,
    );
    assert.equal(await storedSource('NEWCO.nq'), 'last');
    assert.equal((await put('NEWFX', JSON.stringify(conditions))).status, 200);
    assert.equal(await storedSource('NEWFX'), 'bid_ask');
    assert.equal(
      (await put('NEWFX2', JSON.stringify({ ...conditions, calendar: 'fx', trigger_source: 'last' }))).status,
      200,
    );
    assert.equal(await storedSource('NEWFX2'), 'last');
    // Changing only the description keeps the source; the calendar does not reset it either.
    assert.equal((await put('NEWCO.nq', '{"description":"New Co"}')).status, 200);
    assert.equal((await put('NEWCO.nq', '{"calendar":"always"}')).status, 200);
    assert.equal(await storedSource('NEWCO.nq'), 'last');
  });

  it('keeps a stock on bid_ask across a restart: its limit still ignores the last', async () => {
    await t.admin.putInstrument('KO.ny', { trigger_source: 'bid_ask' });
    await t.restart();
    assert.equal(await storedSource('KO.ny'), 'bid_ask');
    const { accountId, client } = await t.newAccount({ system: 'hedging' });
    await t.admin.setQuote('KO.ny', { bid: 70, ask: 70.02, last: 70.01 });
    const id = await client.placeOrder(accountId, {
      ticker: 'KO.ny',
      side: 'buy',
      type: 'limit',
      volume: 1,
      price: 69.5,
    });
    await t.admin.setQuote('KO.ny', { bid: 69.49, ask: 69.51, last: 69.4 });
    assert.deepEqual(
      (await client.orders(accountId)).map((order) => [order.id, order.status]),
      [[id, 'active']],
    );
    await t.admin.setQuote('KO.ny', { bid: 69.48, ask: 69.5, last: 69.7 });
    assert.deepEqual(await client.orders(accountId), []);

    // And a stock left on last still triggers on it after the restart.
    await t.admin.setQuote('WMT.ny', { bid: 100, ask: 100.02, last: 100.01 });
    const second = await client.placeOrder(accountId, {
      ticker: 'WMT.ny',
      side: 'buy',
      type: 'limit',
      volume: 1,
      price: 99.5,
    });
    await t.admin.setQuote('WMT.ny', { bid: 99.5, ask: 99.52, last: 99.5 });
    const [fill] = (await t.admin.fills(accountId)).filter((candidate) => candidate.order_id === second);
    assert.equal(fill?.rule, 'buy limit 99.50 fired: last 99.50 ≤ 99.50');
  });
});
