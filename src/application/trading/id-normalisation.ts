/** Ids as clients write them ("7", "0007") in the fixed-width form the engine keys by. */
import { ACCOUNT_ID_WIDTH, DEAL_ID_WIDTH, ORDER_ID_WIDTH, formatId, parseId } from '../../engine/ids.ts';
import { invalid } from '../errors.ts';

function normaliseId(text: string, width: number): string {
  const id = parseId(text);
  if (id === undefined) throw invalid(`invalid id ${JSON.stringify(text.slice(0, 40))}`);
  return formatId(id, width);
}

export const normaliseAccountId = (id: string): string => normaliseId(id, ACCOUNT_ID_WIDTH);
export const normaliseOrderId = (id: string): string => normaliseId(id, ORDER_ID_WIDTH);
export const normaliseDealId = (id: string): string => normaliseId(id, DEAL_ID_WIDTH);
