/**
 * Runs the benchmark's helper scripts (load generator, baseline server) as processes of their
 * own, so load generation never shares an event loop with the server under test.
 */
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LoadRequest, LoadResult } from './load-generator.ts';

const HERE = dirname(fileURLToPath(import.meta.url));

/** Runs node with tsx on a bench script; resolves with its stdout once it has printed `until`. */
export function runScript(
  script: string,
  args: string[],
  until?: string,
): { output: Promise<string>; kill(): void } {
  const child = spawn(process.execPath, ['--import', 'tsx', join(HERE, script), ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let text = '';
  const output = new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      if (until && text.includes(until)) resolve(text);
    });
    child.once('exit', (code) =>
      code === 0 || (until && text.includes(until))
        ? resolve(text)
        : reject(new Error(`${script} exited with ${code}`)),
    );
  });
  return { output, kill: () => child.kill('SIGTERM') };
}

export async function load(request: LoadRequest): Promise<LoadResult> {
  const output = await runScript('load-generator.ts', [JSON.stringify(request)]).output;
  return JSON.parse(output.trim().split('\n').at(-1) ?? '{}') as LoadResult;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? (sorted[middle] ?? NaN)
    : ((sorted[middle - 1] ?? NaN) + (sorted[middle] ?? NaN)) / 2;
}
