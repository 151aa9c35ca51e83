/**
 * Splits the bytes of a replay file into lines and says where each line ends, so the replay can report
 * progress as the share of the file it has applied rather than the share its reader has buffered.
 *
 * Invariants:
 * - Lines end with `\n` or `\r\n`; the terminator is not part of the text. A last line without a
 *   terminator is still a line. Splitting happens on bytes, so a multi-byte UTF-8 character split across
 *   two chunks is decoded whole.
 * - `endByte` counts the bytes from the start of the file to the end of the line, terminator included, so
 *   the last line of a file ends at the file's size.
 */
import type { Readable } from 'node:stream';

export interface SourceLine {
  text: string;
  /** Offset of the byte after the line (and its terminator) from the start of the file. */
  endByte: number;
}

const NEWLINE = 0x0a;
const CARRIAGE_RETURN = 0x0d;

/** Push chunks in, get whole lines out. */
export class LineSplitter {
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  #offset = 0;

  push(chunk: Buffer): SourceLine[] {
    const lines: SourceLine[] = [];
    let start = 0;
    for (let end = chunk.indexOf(NEWLINE); end !== -1; end = chunk.indexOf(NEWLINE, start)) {
      const piece = chunk.subarray(start, end);
      const bytes = this.#pending.length === 0 ? piece : Buffer.concat([...this.#pending, piece]);
      this.#offset += this.#pendingBytes + piece.length + 1;
      this.#pending = [];
      this.#pendingBytes = 0;
      const length =
        bytes.length > 0 && bytes[bytes.length - 1] === CARRIAGE_RETURN ? bytes.length - 1 : bytes.length;
      lines.push({ text: bytes.toString('utf8', 0, length), endByte: this.#offset });
      start = end + 1;
    }
    if (start < chunk.length) {
      this.#pending.push(chunk.subarray(start));
      this.#pendingBytes += chunk.length - start;
    }
    return lines;
  }

  /** The last line when the input does not end with a terminator. */
  end(): SourceLine | undefined {
    if (this.#pendingBytes === 0) return undefined;
    const bytes = Buffer.concat(this.#pending);
    this.#offset += bytes.length;
    this.#pending = [];
    this.#pendingBytes = 0;
    const length = bytes[bytes.length - 1] === CARRIAGE_RETURN ? bytes.length - 1 : bytes.length;
    return { text: bytes.toString('utf8', 0, length), endByte: this.#offset };
  }
}

/**
 * The lines of a stream, a chunk's worth at a time (one await per chunk, not per line), read with
 * back-pressure: the next chunk is read only when the lines before it have been taken.
 */
export async function* readLines(input: Readable): AsyncGenerator<SourceLine[]> {
  const splitter = new LineSplitter();
  for await (const chunk of input) {
    const lines = splitter.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
    if (lines.length > 0) yield lines;
  }
  const last = splitter.end();
  if (last) yield [last];
}
