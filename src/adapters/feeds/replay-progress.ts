/**
 * How far a replay has got through its files, in bytes: what the reader has taken in, and what the
 * engine has received.
 *
 * Invariants:
 * - The files count as one: a line's offsets run across all files, in the order given.
 * - Progress counts what the engine has received, not what the reader has buffered: the bytes before the
 *   first line that still has a quote to deliver (`ReplaySource.pending`). It never decreases, and stays
 *   below 100% while any quote is left; the feed reports 100% exactly when the replay has finished.
 * - Lines are tracked in file order and released from the front once their quotes are all delivered, so
 *   memory holds only the lines with quotes still pending.
 */
import type { ReplaySource } from './replay-timeline.ts';

/** Released lines beyond which the queue of tracked lines is compacted. */
const COMPACT_AFTER_LINES = 1024;

export class ReplayProgress {
  readonly #sizes: readonly number[];
  /** Offset of each file's first byte in the files taken as one. */
  readonly #fileStarts: readonly number[];
  readonly bytesTotal: number;
  /** End of the last line the reader has taken in, across files. */
  #bytesRead = 0;
  /** Lines with quotes not yet delivered, in file order (a queue from `#sourcesHead`). */
  #sources: ReplaySource[] = [];
  #sourcesHead = 0;

  constructor(sizes: readonly number[]) {
    let offset = 0;
    this.#fileStarts = sizes.map((size) => {
      const start = offset;
      offset += size;
      return start;
    });
    this.#sizes = sizes;
    this.bytesTotal = offset;
  }

  /** Where file `index` starts in the files taken as one. */
  fileStart(index: number): number {
    return this.#fileStarts[index] ?? 0;
  }

  /** The reader has taken in everything up to `endByte`. */
  readTo(endByte: number): void {
    this.#bytesRead = endByte;
  }

  /** The reader is done with file `index`, whether read through or skipped. */
  fileRead(index: number): void {
    this.#bytesRead = Math.max(this.#bytesRead, this.fileStart(index) + (this.#sizes[index] ?? 0));
  }

  /** A line whose quotes are now in the timeline, waiting for delivery. */
  track(source: ReplaySource): void {
    this.#sources.push(source);
  }

  /** The quotes from these lines have reached the engine. */
  delivered(sources: readonly (ReplaySource | undefined)[]): void {
    for (const source of sources) if (source) source.pending--;
    while (this.#sourcesHead < this.#sources.length && this.#sources[this.#sourcesHead]?.pending === 0) {
      this.#sourcesHead++;
    }
    if (this.#sourcesHead > COMPACT_AFTER_LINES && this.#sourcesHead * 2 > this.#sources.length) {
      this.#sources = this.#sources.slice(this.#sourcesHead);
      this.#sourcesHead = 0;
    }
  }

  /** Bytes the reader has taken in. */
  bytesRead(finished: boolean): number {
    return finished ? this.bytesTotal : Math.min(this.#bytesRead, this.bytesTotal);
  }

  /** Bytes whose every quote has been delivered: up to the first line with a quote still pending. */
  bytesApplied(finished: boolean): number {
    if (finished) return this.bytesTotal;
    const first = this.#sources[this.#sourcesHead];
    return Math.min(this.bytesTotal, first === undefined ? this.#bytesRead : first.startByte);
  }

  /** Bytes applied as a percentage, rounded down to a tenth. */
  percent(finished: boolean): number {
    if (finished) return 100;
    if (this.bytesTotal === 0) return 0;
    return Math.floor((this.bytesApplied(false) / this.bytesTotal) * 1000) / 10;
  }
}
