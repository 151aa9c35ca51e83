/**
 * Reads the replay's files, in the order given, into the timeline, one line at a time, and applies the
 * policy for malformed lines.
 *
 * Invariants:
 * - Files are streamed line by line (`replay-lines.ts` over a read stream, which applies back-pressure);
 *   after each row the caller delivers what the row made final before the next line is read, so memory
 *   never holds a whole file.
 * - The files form one timeline: every row's time is at or after the previous row's, within a file and
 *   across files. A row that goes backwards is malformed.
 * - A malformed line is always reported as `file:line: reason` (logger.warn). With 'skip' it is counted
 *   and skipped; with 'fail' the replay fails on it. A line is never half-used. A bad header in 'skip'
 *   mode skips the rest of its file, since its rows cannot be read.
 * - A line that fails the replay is not counted as read.
 */
import { createReadStream } from 'node:fs';
import type { Logger } from '../../application/ports.ts';
import {
  isMalformed,
  parseHeader,
  ReplayRowParser,
  type ReplayMalformedPolicy,
  type ReplayRowParserOptions,
} from './replay-csv.ts';
import { dataText } from './replay-extent.ts';
import { readLines } from './replay-lines.ts';
import type { ReplayProgress } from './replay-progress.ts';
import type { ReplaySource, ReplayTimeline } from './replay-timeline.ts';

export interface ReplayReaderOptions {
  files: readonly string[];
  parser: ReplayRowParserOptions;
  onMalformed: ReplayMalformedPolicy;
  logger: Logger;
  timeline: ReplayTimeline;
  progress: ReplayProgress;
  /** Fails the replay on the line named; called at most once, after which the reader stops. */
  fail: (file: string, line: number, reason: string) => void;
}

export class ReplayReader {
  readonly #options: ReplayReaderOptions;
  #fileIndex = 0;
  #line = 0;
  /** The current file's parser, once its header has been read. */
  #parser: ReplayRowParser | undefined;
  /** Time of the last row accepted, across files. */
  #lastRowMs = -Infinity;
  #skippedLines = 0;
  #skippedFiles = 0;

  constructor(options: ReplayReaderOptions) {
    this.#options = options;
  }

  /** The index of the file being read (0 before the first). */
  get fileIndex(): number {
    return this.#fileIndex;
  }

  /** The line of the current file last taken in (0 before its first). */
  get line(): number {
    return this.#line;
  }

  get skippedLines(): number {
    return this.#skippedLines;
  }

  get skippedFiles(): number {
    return this.#skippedFiles;
  }

  /**
   * Reads every file through, calling `afterRow` after each row added to the timeline; false when the
   * replay must end early (a malformed line in 'fail' mode, `afterRow` answering false, or
   * `stopRequested`). A file that cannot be read rejects, with `fileIndex` and `line` where it stopped.
   */
  async readAll(afterRow: () => Promise<boolean>, stopRequested: () => boolean): Promise<boolean> {
    const { files, progress } = this.#options;
    for (const [index, file] of files.entries()) {
      this.#fileIndex = index;
      this.#line = 0;
      if (!(await this.#readFile(file, afterRow, stopRequested))) return false;
      progress.fileRead(index);
    }
    return true;
  }

  /** Streams one file into the timeline; false when the replay must end. */
  async #readFile(
    file: string,
    afterRow: () => Promise<boolean>,
    stopRequested: () => boolean,
  ): Promise<boolean> {
    const { progress } = this.#options;
    const stream = createReadStream(file);
    const fileStart = progress.fileStart(this.#fileIndex);
    let lineStart = fileStart;
    this.#parser = undefined;
    try {
      for await (const lines of readLines(stream)) {
        for (const { text, endByte } of lines) {
          if (stopRequested()) return false;
          this.#line++;
          const source: ReplaySource = {
            file: this.#fileIndex,
            line: this.#line,
            startByte: lineStart,
            endByte: fileStart + endByte,
            pending: 0,
          };
          lineStart = source.endByte;
          const taken = this.#takeLine(file, text, source);
          if (taken === 'fail') return false;
          if (taken === 'skip file') {
            progress.fileRead(this.#fileIndex);
            return true;
          }
          // Only now is the line behind the reader: a line that fails the replay is not counted as read.
          progress.readTo(source.endByte);
          if (taken === 'row' && !(await afterRow())) return false;
        }
      }
    } finally {
      stream.destroy();
    }
    return true;
  }

  /** Parses one line into the timeline; what the reader does next. */
  #takeLine(file: string, line: string, source: ReplaySource): 'row' | 'no row' | 'skip file' | 'fail' {
    const text = dataText(line, source.line === 1);
    if (text === undefined) return 'no row';
    if (this.#parser === undefined) {
      const header = parseHeader(text);
      if (!isMalformed(header)) {
        this.#parser = new ReplayRowParser(header, this.#options.parser);
        return 'no row';
      }
      if (!this.#malformed(file, header.reason + '; skipping the rest of the file')) return 'fail';
      this.#skippedFiles++;
      return 'skip file';
    }
    const row = this.#parser.parse(text);
    if (isMalformed(row)) return this.#malformed(file, row.reason) ? 'no row' : 'fail';
    if (row.timeMs < this.#lastRowMs) {
      const reason =
        `time ${new Date(row.timeMs).toISOString()} is before the previous row's ` +
        `${new Date(this.#lastRowMs).toISOString()}: rows (and files) must be in time order`;
      return this.#malformed(file, reason) ? 'no row' : 'fail';
    }
    source.pending = row.kind === 'tick' ? 1 : row.path.length;
    const conflict = this.#options.timeline.add(row, source);
    if (conflict !== undefined) return this.#malformed(file, conflict) ? 'no row' : 'fail';
    this.#options.progress.track(source);
    this.#lastRowMs = row.timeMs;
    return 'row';
  }

  /** Reports a malformed line; false when the policy is to fail. */
  #malformed(file: string, reason: string): boolean {
    this.#options.logger.warn(
      { event: 'replay_malformed_line', file, line: this.#line, reason },
      `${file}:${this.#line}: ${reason}`,
    );
    if (this.#options.onMalformed === 'skip') {
      this.#skippedLines++;
      return true;
    }
    this.#options.fail(file, this.#line, reason);
    return false;
  }
}
