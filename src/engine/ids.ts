/**
 * Wire ids: zero-padded, increasing digit strings, stored as integers.
 * Orders look like "002212096", deals like "001389", accounts like "93012898".
 */
import type { IdSource } from './ports.ts';

export const ORDER_ID_WIDTH = 9;
export const DEAL_ID_WIDTH = 6;
export const ACCOUNT_ID_WIDTH = 8;
export const FIRST_ACCOUNT_ID = 10_000_001;

export function formatId(value: number | bigint, width: number): string {
  return String(value).padStart(width, '0');
}

/** Parses a path id; digit strings only, so "001389" and "1389" name the same deal. */
export function parseId(text: string): number | undefined {
  if (!/^[0-9]{1,15}$/.test(text)) return undefined;
  return Number(text);
}

/** Counters continued from the highest ids already stored (one writer process). */
export class SequentialIds implements IdSource {
  #order: number;
  #deal: number;

  constructor(lastOrderId: number, lastDealId: number) {
    this.#order = lastOrderId;
    this.#deal = lastDealId;
  }

  nextOrderId(): string {
    this.#order += 1;
    return formatId(this.#order, ORDER_ID_WIDTH);
  }

  nextDealId(): string {
    this.#deal += 1;
    return formatId(this.#deal, DEAL_ID_WIDTH);
  }
}
