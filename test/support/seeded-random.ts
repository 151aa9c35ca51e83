/**
 * A seeded source of floats in [0, 1) for tests and benchmarks, so a failing run or a benchmark's
 * book can be reproduced from its seed. Built on pure-rand (the generator fast-check uses).
 */
import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';

export function seededRandom(seed: number): () => number {
  const rng = xoroshiro128plus(seed | 0);
  return () => uniformFloat64(rng);
}
