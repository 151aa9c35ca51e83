/**
 * Expected outcomes the engine reports as values, each with a stable code.
 * Broken invariants throw instead; only the HTTP edge maps codes to status codes.
 */
export const REJECTION_CODES = [
  'account_not_found',
  'order_not_found',
  'deal_not_found',
  'unknown_ticker',
  'invalid_volume',
  'invalid_price',
  'invalid_expiration',
  'invalid_stop_loss',
  'invalid_take_profit',
  'invalid_amount',
  'nothing_to_modify',
  'order_not_modifiable',
  'trade_mode',
  'account_status',
  'market_closed',
  'no_quote',
  'stale_quote',
  'no_conversion_rate',
  'insufficient_margin',
  'insufficient_funds',
  'balance_limit',
] as const;
export type RejectionCode = (typeof REJECTION_CODES)[number];

export interface Rejection {
  code: RejectionCode;
  message: string;
}

export function reject(code: RejectionCode, message: string): Rejection {
  return { code, message };
}
