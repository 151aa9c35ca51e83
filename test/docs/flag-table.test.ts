import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { SERVE_OPTIONS } from '../../src/edges/cli/serve-options.ts';

/**
 * README.md's flag table against the serve option table: the same flags, environment variables and
 * defaults, in the same order. The meaning column is prose for the reader (it may say more than
 * `--help`), so it is not compared.
 */
describe('README flag table', () => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const section = readme.slice(readme.indexOf('## Configuration'));
  const table = section.slice(0, section.indexOf('\n## ', 1));
  const rows = table
    .split('\n')
    .filter((line) => line.startsWith('| `--'))
    .map((line) => {
      // `\|` inside a cell (`sim\|manual`) is not a column separator.
      const cells = line
        .split(/(?<!\\)\|/)
        .slice(1, -1)
        .map((cell) => cell.trim());
      return {
        name: /^`(--[a-z-]+)/.exec(cells[0] ?? '')?.[1],
        env: (cells[1] ?? '').replace(/`/g, '') || undefined,
        default: cells[2] ?? '',
      };
    });

  it('lists every serve flag with its environment variable and default, in order', () => {
    const options = Object.values(SERVE_OPTIONS).map((option) => ({
      name: option.name,
      env: option.env,
      default: option.documentedDefault,
    }));
    assert.deepEqual(rows, options);
  });
});
