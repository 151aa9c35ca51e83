import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ERROR_CODES, httpStatusOf } from '../../src/application/errors.ts';

describe('error catalogue', () => {
  const table = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');
  const rows = new Map(
    [...table.matchAll(/^\|\s*`([a-z_]+)`\s*\|\s*(\d{3})\s*\|/gm)].map((match) => [
      match[1] ?? '',
      Number(match[2]),
    ]),
  );

  it('documents every code with its HTTP status, and nothing else', () => {
    assert.deepEqual([...rows.keys()].sort(), [...ERROR_CODES].sort());
    for (const code of ERROR_CODES) assert.equal(rows.get(code), httpStatusOf(code), code);
  });
});
