import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { GroupCommit } from './group-commit.ts';

/** A flush the test completes by hand. */
function manualFlushes() {
  const pending: { resolve: () => void; reject: (error: Error) => void }[] = [];
  return {
    flush: (): Promise<void> =>
      new Promise((resolve, reject) => {
        pending.push({ resolve, reject });
      }),
    pending,
  };
}

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('GroupCommit', () => {
  it('writes the commits of one turn as one batch, in submission order', async () => {
    const batches: number[][] = [];
    const commits = new GroupCommit<number>((batch) => {
      batches.push([...batch]);
    });
    await Promise.all([commits.submit(1), commits.submit(2), commits.submit(3)]);
    await commits.submit(4);
    assert.deepEqual(batches, [[1, 2, 3], [4]]);
  });

  it('lets the commits of the next turn join the batch, and no later ones', async () => {
    const batches: number[][] = [];
    const commits = new GroupCommit<number>((batch) => {
      batches.push([...batch]);
    });
    const first = commits.submit(1);
    await turn();
    const second = commits.submit(2);
    await turn();
    const third = commits.submit(3);
    await Promise.all([first, second, third]);
    assert.deepEqual(batches, [[1, 2], [3]]);
  });

  it('rejects only the change set that cannot be written', async () => {
    const written: number[] = [];
    const commits = new GroupCommit<number>((batch) => {
      if (batch.includes(2)) throw new Error('constraint failed');
      written.push(...batch);
    });
    const results = await Promise.allSettled([commits.submit(1), commits.submit(2), commits.submit(3)]);
    assert.deepEqual(
      results.map((result) => result.status),
      ['fulfilled', 'rejected', 'fulfilled'],
    );
    assert.deepEqual(written, [1, 3]);
  });

  describe('with a separate flush', () => {
    it('answers a caller only once a flush begun after its write has finished', async () => {
      const { flush, pending } = manualFlushes();
      const commits = new GroupCommit<number>(() => undefined, flush);
      let done = false;
      const first = commits.submit(1).then(() => (done = true));
      await turn();
      await turn();
      assert.equal(pending.length, 1, 'the batch was written and its flush begun');
      assert.equal(done, false, 'not durable yet');
      pending[0]?.resolve();
      await first;
      assert.equal(done, true);
    });

    it('writes the next batch while the previous one is still being flushed', async () => {
      const { flush, pending } = manualFlushes();
      const batches: number[][] = [];
      const commits = new GroupCommit<number>((batch) => {
        batches.push([...batch]);
      }, flush);
      const first = commits.submit(1);
      await turn();
      await turn();
      const second = commits.submit(2);
      await turn();
      await turn();
      assert.deepEqual(batches, [[1], [2]], 'the second batch did not wait for the first flush');
      assert.equal(pending.length, 2);
      let secondDone = false;
      void second.then(() => (secondDone = true));
      pending[0]?.resolve();
      await first;
      await turn();
      assert.equal(secondDone, false, 'the second batch waits for its own flush');
      pending[1]?.resolve();
      await second;
    });

    it('rejects the callers of a failed flush, and idle() waits for flushes', async () => {
      const { flush, pending } = manualFlushes();
      const commits = new GroupCommit<number>(() => undefined, flush);
      const failing = commits.submit(1);
      await turn();
      await turn();
      let idle = false;
      const waited = commits.idle().then(() => (idle = true));
      await turn();
      assert.equal(idle, false, 'a flush is still running');
      pending[0]?.reject(new Error('EIO: fsync failed'));
      await assert.rejects(failing, /EIO/);
      await waited;
    });
  });
});
