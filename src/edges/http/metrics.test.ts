import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { METRICS_CACHE_MS, ServerMetrics } from './metrics.ts';

describe('server metrics rendering', () => {
  it('serves one rendering for METRICS_CACHE_MS, then renders afresh', async () => {
    let now = 5_000;
    const metrics = new ServerMetrics(() => undefined, { nowMs: () => now });
    metrics.orderPlaced();
    const first = metrics.render();
    assert.equal(metrics.render(), first, 'concurrent scrapes share one rendering');
    assert.match(await first, /stockstrader_orders_placed_total 1\n/);
    metrics.orderPlaced();
    now += METRICS_CACHE_MS - 1;
    assert.equal(await metrics.render(), await first);
    now += 1;
    assert.match(await metrics.render(), /stockstrader_orders_placed_total 2\n/);
  });
});
