/**
 * The fuzz's knobs, read once from the environment: FUZZ_RUNS (requests of the general fuzz,
 * default 3000; the other phases scale with it) and FUZZ_SEED (fast-check seed, printed so that a
 * failure can be replayed).
 */
export const FUZZ_RUNS = positiveInt(process.env.FUZZ_RUNS, 3000);
export const SEED =
  process.env.FUZZ_SEED === undefined ? Date.now() % 2 ** 31 : Number(process.env.FUZZ_SEED);
export const BURST_RUNS = Math.max(200, Math.round(FUZZ_RUNS / 5));
export const CLOCK_RUNS = Math.max(100, Math.round(FUZZ_RUNS / 15));
export const LOGOUT_RUNS = Math.max(60, Math.round(FUZZ_RUNS / 40));
export const PARALLEL = 8;

function positiveInt(text: string | undefined, fallback: number): number {
  const value = Number(text);
  return Number.isInteger(value) && value > 0 ? value : fallback;
}
