/**
 * The one place that maps errors to HTTP. Every error body is {"code":"error","msg":...}.
 * Framework errors for bad input (malformed JSON, bad content types) become 400, an oversized body
 * 413; anything unexpected becomes a 500 whose internals stay in the log, not in the reply.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError, httpStatusOf } from '../../application/errors.ts';
import { BODY_LIMIT_BYTES } from './body-parsing.ts';

interface ValidationIssue {
  instancePath?: string;
  keyword?: string;
  message?: string;
  params?: Record<string, unknown>;
}

export function sendError(
  reply: FastifyReply,
  status: number,
  msg: string,
  extra: Record<string, unknown> = {},
): FastifyReply {
  return reply
    .code(status)
    .type('application/json; charset=utf-8')
    .send({ code: 'error', msg, ...extra });
}

/** 413 for a body over the limit, whether declared by its Content-Length or found while reading. */
export function sendBodyTooLarge(reply: FastifyReply): FastifyReply {
  return sendError(reply, 413, `request body is too large: the limit is ${BODY_LIMIT_BYTES / 1024} KiB`, {
    error: 'body_too_large',
  });
}

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
    case 'pattern':
      return `${field} is malformed`;
    default:
      return `${field} ${issue.message ?? 'is invalid'}`;
  }
}

export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError | AppError, request: FastifyRequest, reply: FastifyReply) => {
    if (error instanceof AppError) {
      const status = httpStatusOf(error.code);
      return sendError(reply, status, error.message, { error: error.code });
    }
    if (error.validation) {
      return sendError(reply, 400, describeValidation(error.validation, error.validationContext), {
        error: 'invalid_request',
      });
    }
    const status = error.statusCode ?? 500;
    if (status === 413 || error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      return sendBodyTooLarge(reply);
    }
    if (status === 415 || error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
      return sendError(
        reply,
        400,
        'unsupported content type: send application/x-www-form-urlencoded or application/json',
        { error: 'invalid_request' },
      );
    }
    if (status === 429) return sendError(reply, 429, error.message, { error: 'rate_limited' });
    if (status >= 400 && status < 500) {
      return sendError(reply, 400, error.message || 'invalid request', { error: 'invalid_request' });
    }
    request.log.error({ err: error }, 'request failed');
    return sendError(reply, 500, 'internal error', { error: 'internal' });
  });

  app.setNotFoundHandler((request, reply) =>
    sendError(reply, 400, `unknown route: ${request.method} ${request.url.split('?')[0] ?? ''}`, {
      error: 'unknown_route',
    }),
  );
}
