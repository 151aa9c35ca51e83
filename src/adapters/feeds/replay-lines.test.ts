import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import fc from 'fast-check';
import { LineSplitter, readLines, type SourceLine } from './replay-lines.ts';

function split(chunks: Buffer[]): SourceLine[] {
  const splitter = new LineSplitter();
  const lines = chunks.flatMap((chunk) => splitter.push(chunk));
  const last = splitter.end();
  return last ? [...lines, last] : lines;
}

describe('LineSplitter', () => {
  it('splits on LF and CRLF and says where each line ends, terminator included', () => {
    assert.deepEqual(split([Buffer.from('a,b\r\nc\n\nd')]), [
      { text: 'a,b', endByte: 5 },
      { text: 'c', endByte: 7 },
      { text: '', endByte: 8 },
      { text: 'd', endByte: 9 },
    ]);
    assert.deepEqual(split([Buffer.from('x\n')]), [{ text: 'x', endByte: 2 }]);
    assert.deepEqual(split([]), []);
  });

  it('gives the same lines however the bytes are chunked, multi-byte characters included (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom('a', '1', ',', 'é', '€', '\n', '\r\n', ' '), { maxLength: 60 }),
        fc.array(fc.integer({ min: 1, max: 7 }), { minLength: 1, maxLength: 20 }),
        (pieces, sizes) => {
          const text = pieces.join('');
          const bytes = Buffer.from(text);
          const chunks: Buffer[] = [];
          for (let start = 0, index = 0; start < bytes.length; index++) {
            const size = sizes[index % sizes.length] ?? 1;
            chunks.push(bytes.subarray(start, start + size));
            start += size;
          }
          const lines = split(chunks);
          const expected = text.split('\n').map((line) => line.replace(/\r$/, ''));
          if (text.endsWith('\n') || text === '') expected.pop();
          assert.deepEqual(
            lines.map((line) => line.text),
            expected,
          );
          assert.equal(lines.at(-1)?.endByte ?? 0, bytes.length);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('reads the lines of a stream', async () => {
    const lines: string[] = [];
    for await (const batch of readLines(Readable.from([Buffer.from('one\ntw'), Buffer.from('o\nthree')]))) {
      lines.push(...batch.map((line) => line.text));
    }
    assert.deepEqual(lines, ['one', 'two', 'three']);
  });
});
