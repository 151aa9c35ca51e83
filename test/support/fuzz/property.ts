/** Running generated requests: as a fast-check property (sequential, shrinking) or in a pool. */
import fc from 'fast-check';
import { SEED } from './knobs.ts';

/**
 * fc.assert, with the failing assertion's own message appended: fast-check reports the
 * counterexample but keeps the cause out of the message node:test prints.
 */
export async function assertProperty<T>(
  arbitrary: fc.Arbitrary<T>,
  run: (value: T) => Promise<void>,
  numRuns: number,
): Promise<void> {
  let firstFailure: string | undefined;
  try {
    await fc.assert(
      fc.asyncProperty(arbitrary, async (value) => {
        try {
          await run(value);
        } catch (error) {
          firstFailure ??= (error as Error).message;
          throw error;
        }
      }),
      { numRuns, seed: SEED },
    );
  } catch (error) {
    throw new Error(`${(error as Error).message}\nFirst failure: ${firstFailure ?? 'n/a'}`);
  }
}

export async function inPool<T>(
  items: readonly T[],
  width: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, items.length) }, async () => {
      while (next < items.length) {
        const item = items[next++] as T;
        await work(item);
      }
    }),
  );
}
