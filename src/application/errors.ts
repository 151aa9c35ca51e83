/**
 * The one catalogue of errors the API can answer with. Each code has a stable HTTP status;
 * the HTTP edge is the only place that maps them (docs/errors.md lists them, and a test keeps
 * the two in sync).
 */
import { REJECTION_CODES, type Rejection, type RejectionCode } from '../engine/rejection.ts';

export const APPLICATION_ERROR_CODES = [
  'invalid_request',
  'body_too_large',
  'unknown_route',
  'unauthorized',
  'rate_limited',
  'user_not_found',
  'token_not_found',
  'not_ready',
  'account_busy',
  'feed_state',
  'slow_consumer',
] as const;
export type ApplicationErrorCode = (typeof APPLICATION_ERROR_CODES)[number];
export type ErrorCode = RejectionCode | ApplicationErrorCode;

export const ERROR_CODES: readonly ErrorCode[] = [...REJECTION_CODES, ...APPLICATION_ERROR_CODES];

const STATUS: Partial<Record<ErrorCode, number>> = {
  body_too_large: 413,
  unauthorized: 401,
  rate_limited: 429,
  not_ready: 503,
  account_busy: 503,
};

/** HTTP status of an error code: 400 unless listed (401, 413, 429, 503). */
export function httpStatusOf(code: ErrorCode): number {
  return STATUS[code] ?? 400;
}

export class AppError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'AppError';
  }

  static from(rejection: Rejection): AppError {
    return new AppError(rejection.code, rejection.message);
  }
}

export function invalid(message: string): AppError {
  return new AppError('invalid_request', message);
}
