/**
 * The span of data time a replay covers, read at start-up from the head of the first file and the
 * tail of the last, without reading the files through.
 *
 * - The start is the time of the first row the replay will deliver: the first row that parses, with
 *   malformed lines passed over in 'skip' mode (and a file with a bad header passed over whole). In
 *   'fail' mode a malformed line before it means the replay will fail, and there is no start.
 * - The end is the time of the last row of the last file that has one, found from the end of the file
 *   backwards; only its time column is read. It is an estimate: a bar file's last bar plays its path a
 *   little beyond it, and in 'skip' mode the last row may turn out malformed.
 * - Both reads are bounded (`SCAN_BYTES` per file); a span that cannot be found within them is
 *   undefined, and the replay then learns it from the data.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import {
  isMalformed,
  parseHeader,
  parseTime,
  ReplayRowParser,
  type ReplayMalformedPolicy,
  type ReplayRowParserOptions,
} from './replay-csv.ts';
import { LineSplitter, type SourceLine } from './replay-lines.ts';

/** Bytes read from either end of a file, at most. */
export const SCAN_BYTES = 1 << 20;
const CHUNK_BYTES = 64 * 1024;

export interface ReplayExtent {
  startMs: number | undefined;
  endMs: number | undefined;
}

export function replayExtent(
  files: readonly string[],
  options: ReplayRowParserOptions,
  onMalformed: ReplayMalformedPolicy,
): ReplayExtent {
  return { startMs: firstRowTime(files, options, onMalformed), endMs: lastRowTime(files) };
}

/** A data line's text: BOM, surrounding blanks and comments removed; undefined for no data. */
export function dataText(line: string, first: boolean): string | undefined {
  // A byte-order mark (as Excel writes) would otherwise stick to the first column's name.
  const text = (first ? line.replace(/^\uFEFF/, '') : line).trim();
  return text === '' || text.startsWith('#') ? undefined : text;
}

function firstRowTime(
  files: readonly string[],
  options: ReplayRowParserOptions,
  onMalformed: ReplayMalformedPolicy,
): number | undefined {
  for (const file of files) {
    let parser: ReplayRowParser | undefined;
    let first = true;
    // Assigned in the callback: the cast keeps TypeScript from narrowing it to the initial value.
    let outcome = 'next file' as number | 'next file' | 'none';
    forEachHeadLine(file, (line) => {
      const text = dataText(line.text, first);
      first = false;
      if (text === undefined) return true;
      if (parser === undefined) {
        const header = parseHeader(text);
        if (!isMalformed(header)) {
          parser = new ReplayRowParser(header, options);
          return true;
        }
        if (onMalformed === 'fail') outcome = 'none';
        return false;
      }
      const row = parser.parse(text);
      if (!isMalformed(row)) {
        outcome = row.timeMs;
        return false;
      }
      if (onMalformed === 'fail') {
        outcome = 'none';
        return false;
      }
      return true;
    });
    if (typeof outcome === 'number') return outcome;
    if (outcome === 'none') return undefined;
  }
  return undefined;
}

function lastRowTime(files: readonly string[]): number | undefined {
  for (let index = files.length - 1; index >= 0; index--) {
    const file = files[index];
    if (file === undefined) continue;
    let timeColumn = undefined as number | undefined;
    let first = true;
    forEachHeadLine(file, (line) => {
      const text = dataText(line.text, first);
      first = false;
      if (text === undefined) return true;
      const header = parseHeader(text);
      if (!isMalformed(header)) timeColumn = header.time;
      return false;
    });
    if (timeColumn === undefined) continue;
    const tail = tailLines(file);
    for (let line = tail.length - 1; line >= 0; line--) {
      const text = dataText(tail[line] ?? '', false);
      if (text === undefined) continue;
      const time = parseTime(text.split(',')[timeColumn]?.trim() ?? '');
      if (typeof time === 'number') return time;
    }
  }
  return undefined;
}

/** Calls `visit` on the lines from the start of the file until it returns false or `SCAN_BYTES` are read. */
function forEachHeadLine(file: string, visit: (line: SourceLine) => boolean): void {
  const fd = openSync(file, 'r');
  try {
    const splitter = new LineSplitter();
    const buffer = Buffer.alloc(CHUNK_BYTES);
    for (let read = 0; read < SCAN_BYTES;) {
      const bytes = readSync(fd, buffer, 0, CHUNK_BYTES, read);
      const lines = bytes === 0 ? [splitter.end()] : splitter.push(Buffer.from(buffer.subarray(0, bytes)));
      for (const line of lines) if (line !== undefined && !visit(line)) return;
      if (bytes === 0) return;
      read += bytes;
    }
  } finally {
    closeSync(fd);
  }
}

/** The whole lines within the last `SCAN_BYTES` of the file. */
function tailLines(file: string): string[] {
  const fd = openSync(file, 'r');
  try {
    const size = fstatSync(fd).size;
    const start = Math.max(0, size - SCAN_BYTES);
    const buffer = Buffer.alloc(size - start);
    let filled = 0;
    while (filled < buffer.length) {
      const bytes = readSync(fd, buffer, filled, buffer.length - filled, start + filled);
      if (bytes === 0) break;
      filled += bytes;
    }
    const lines = buffer.subarray(0, filled).toString('utf8').split('\n');
    // The first line of a window that starts inside the file may be cut.
    return start > 0 ? lines.slice(1) : lines;
  } finally {
    closeSync(fd);
  }
}
