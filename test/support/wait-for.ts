/**
 * Polls `condition` until it holds; fails naming `what` after `timeoutMs`. For states a test cannot
 * await directly (a running clock, a feed in the background, another process); never a substitute
 * for awaiting. `what` may be a function, to describe the state as it is when the wait fails; a
 * condition that throws ends the wait with its error (a process that died will never get there).
 */
export async function waitFor(
  what: string | (() => string),
  condition: () => boolean | Promise<boolean>,
  { timeoutMs = 5_000, intervalMs = 2 }: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await condition())) {
    if (performance.now() > deadline) {
      const described = typeof what === 'string' ? what : what();
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${described}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
