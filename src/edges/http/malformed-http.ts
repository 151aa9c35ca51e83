/**
 * Requests that never reach a route still get the JSON error envelope: those Fastify refuses
 * before routing (bad URL encoding, an over-long path parameter), those Node's HTTP parser
 * refuses (unknown methods, oversized headers, a request that did not arrive in time) and
 * CONNECT, which Node hands to an event of its own. The last two are answered on the raw socket,
 * which is then closed.
 */
import { STATUS_CODES, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyServerOptions } from 'fastify';
import { httpStatusOf } from '../../application/errors.ts';
import { sendError } from './error-handling.ts';

/** A complete HTTP/1.1 response with the envelope, for a socket Fastify never sees. */
function rawInvalidRequest(msg: string): string {
  const status = httpStatusOf('invalid_request');
  const body = JSON.stringify({ code: 'error', msg, error: 'invalid_request' });
  return (
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nContent-Type: application/json; charset=utf-8\r\n` +
    'X-Content-Type-Options: nosniff\r\nCache-Control: no-store\r\n' +
    `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`
  );
}

/** Errors raised before routing. */
export const frameworkErrors: NonNullable<FastifyServerOptions['frameworkErrors']> = (
  error,
  _request,
  reply,
) => {
  const msg =
    error.code === 'FST_ERR_MAX_PARAM_LENGTH'
      ? 'a path parameter is too long'
      : `malformed request: ${error.message}`;
  void sendError(reply, 'invalid_request', msg);
};

/** Requests Node's HTTP parser rejects, or cuts off at the request timeout. */
export function clientErrorHandler(error: Error, socket: Duplex): void {
  if (!socket.writable) return;
  const code = (error as { code?: string }).code;
  const msg =
    code === 'HPE_HEADER_OVERFLOW'
      ? 'request headers are too large'
      : code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? 'request timed out: send the whole request within the time limit'
        : 'malformed HTTP request';
  socket.end(rawInvalidRequest(msg));
}

/** CONNECT requests, which would otherwise hang up silently. */
export function refuseConnect(server: Server): void {
  server.on('connect', (_request, socket: Duplex) => {
    socket.end(rawInvalidRequest('CONNECT is not supported'));
  });
}
