/**
 * Request headers that must appear once. Node's HTTP parser keeps the first of repeated
 * `Authorization` and `Host` lines and drops the rest without a word, so a request carrying two
 * tokens would run as whichever came first: both are refused here, from the raw header lines. An
 * HTTP/1.1 request without `Host` is refused too (RFC 9112 §3.2), in the JSON envelope: Node's own
 * check answers a bare 400, so build-app turns that one off (`requireHostHeader: false`).
 */
import type { FastifyInstance } from 'fastify';
import { sendError } from './error-handling.ts';

/** Why a request's headers are unacceptable, or undefined when they are fine. */
export function headerProblem(rawHeaders: readonly string[], httpVersion: string): string | undefined {
  let authorizations = 0;
  let hosts = 0;
  // Names and values alternate; names keep the client's spelling, so compare case-insensitively
  // (and only names of the right length, which most are not).
  for (let at = 0; at < rawHeaders.length; at += 2) {
    const name = rawHeaders[at] ?? '';
    if (name.length === 13 && name.toLowerCase() === 'authorization') authorizations++;
    else if (name.length === 4 && name.toLowerCase() === 'host') hosts++;
  }
  if (authorizations > 1) return 'repeated Authorization header: send exactly one';
  if (hosts > 1) return 'repeated Host header: send exactly one';
  if (hosts === 0 && httpVersion === '1.1') return 'missing Host header: HTTP/1.1 requests must carry one';
  return undefined;
}

export function installHeaderChecks(app: FastifyInstance): void {
  app.addHook('onRequest', (request, reply, done) => {
    const problem = headerProblem(request.raw.rawHeaders, request.raw.httpVersion);
    if (problem === undefined) {
      done();
      return;
    }
    sendError(reply, 'invalid_request', problem);
  });
}
