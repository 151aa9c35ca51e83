/**
 * The one place that maps errors to HTTP. Every error body is {"code":"error","msg":...,"error":code}
 * and its status comes from the error catalogue (application/errors.ts): a caller names a code,
 * never a status. Framework errors for bad input (malformed JSON, bad content types) become
 * invalid_request, an oversized body body_too_large; anything unexpected becomes the one code
 * outside the catalogue, `internal` (500), whose details stay in the log, not in the reply.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError, httpStatusOf, type ErrorCode } from '../../application/errors.ts';
import { BODY_LIMIT_BYTES } from './body-parsing.ts';

interface ValidationIssue {
  instancePath?: string;
  keyword?: string;
  message?: string;
  params?: Record<string, unknown>;
}

/** A failure the server did not foresee: not a catalogued answer, so not in the catalogue. */
const INTERNAL = 'internal';

export function sendError(
  reply: FastifyReply,
  error: ErrorCode | typeof INTERNAL,
  msg: string,
): FastifyReply {
  return reply
    .code(error === INTERNAL ? 500 : httpStatusOf(error))
    .type('application/json; charset=utf-8')
    .send({ code: 'error', msg, error });
}

/** 413 for a body over the limit, whether declared by its Content-Length or found while reading. */
export function sendBodyTooLarge(reply: FastifyReply): FastifyReply {
  return sendError(
    reply,
    'body_too_large',
    `request body is too large: the limit is ${BODY_LIMIT_BYTES / 1024} KiB`,
  );
}

/** What each string pattern of the contract expects, in words, for the message that refuses it. */
const PATTERN_MEANINGS: Readonly<Record<string, string>> = {
  '^[0-9]{1,15}$': 'a non-negative integer of up to 15 digits',
  '^[A-Z]{3}$': 'a three-letter ISO 4217 currency code such as USD',
  '^[A-Za-z0-9._-]{1,32}$': 'up to 32 letters, digits, dots, underscores or hyphens',
  '^[^\\u0000-\\u001f\\u007f]+$': 'text without control characters',
};

/** Turns a schema validation failure into a message that names the field and the rule. */
export function describeValidation(issues: readonly ValidationIssue[], context: string | undefined): string {
  const issue = issues[0];
  if (!issue) return 'invalid request';
  const params = issue.params ?? {};
  const path = (issue.instancePath ?? '').replace(/^\//, '').replace(/\//g, '.');
  const field =
    path || (typeof params.missingProperty === 'string' ? params.missingProperty : (context ?? 'request'));
  switch (issue.keyword) {
    case 'required':
      return `${String(params.missingProperty)} is required`;
    case 'type':
      if (!path && context === 'body') return 'request body must be a JSON object or a form';
      return `${field} must be ${/^[aeiou]/.test(String(params.type)) ? 'an' : 'a'} ${String(params.type)}`;
    case 'enum':
      return `${field} must be one of: ${(params.allowedValues as unknown[]).join(', ')}`;
    case 'pattern': {
      const meaning = PATTERN_MEANINGS[String(params.pattern)];
      return meaning ? `${field} is malformed: expected ${meaning}` : `${field} is malformed`;
    }
    default:
      return `${field} ${issue.message ?? 'is invalid'}`;
  }
}

export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError | AppError, request: FastifyRequest, reply: FastifyReply) => {
    if (error instanceof AppError) return sendError(reply, error.code, error.message);
    if (error.validation) {
      return sendError(
        reply,
        'invalid_request',
        describeValidation(error.validation, error.validationContext),
      );
    }
    const status = error.statusCode ?? 500;
    if (status === 413 || error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      return sendBodyTooLarge(reply);
    }
    if (status === 415 || error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
      return sendError(
        reply,
        'invalid_request',
        'unsupported content type: send application/x-www-form-urlencoded or application/json',
      );
    }
    if (status === 429) return sendError(reply, 'rate_limited', error.message);
    if (status >= 400 && status < 500)
      return sendError(reply, 'invalid_request', error.message || 'invalid request');
    request.log.error({ err: error }, 'request failed');
    return sendError(reply, INTERNAL, 'internal error');
  });

  app.setNotFoundHandler((request, reply) =>
    sendError(reply, 'unknown_route', `unknown route: ${request.method} ${request.url.split('?')[0] ?? ''}`),
  );
}
