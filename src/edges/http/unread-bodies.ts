/**
 * Requests answered before their body is read: an over-limit body, a missing token, a rate limit.
 * The client must still get the answer, and it must not have to send a body nobody will read.
 *
 * - A declared `Content-Length` over the body limit is refused (413) before any of the body is read.
 * - `Expect: 100-continue` is answered with `100 Continue` only once the request is admitted, just
 *   before its body is parsed: a request refused earlier (413, 401, 429) gets the refusal instead,
 *   and the client never sends the body.
 * - A reply sent while the body is still arriving says `Connection: close`, and the connection then
 *   closes lingeringly: the rest of the body is read and discarded (up to `LINGER_MAX_BYTES`, for
 *   at most `LINGER_MS`) before the socket is destroyed. Destroying a socket that still has unread
 *   data makes the kernel send a reset, and a reset can overtake the reply the client has not read
 *   yet: the client then sees EPIPE or ECONNRESET instead of the answer.
 *
 * Limitation: Node's HTTP server closes a finished `Connection: close` exchange through
 * `socket.destroySoon()`, so the lingering close replaces that method on the one socket concerned.
 */
import type { IncomingMessage } from 'node:http';
import { Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { BODY_LIMIT_BYTES } from './body-parsing.ts';
import { sendBodyTooLarge } from './error-handling.ts';

/** How much of an unread body is discarded, at most, before the connection is cut. */
export const LINGER_MAX_BYTES = 32 * 1024 * 1024;
/** How long, at most, a connection lingers to discard an unread body. */
export const LINGER_MS = 10_000;

export function installUnreadBodies(app: FastifyInstance): void {
  const awaitingContinue = new WeakSet<IncomingMessage>();
  // Without a listener Node answers `100 Continue` itself, before any hook could refuse the request.
  app.server.on('checkContinue', (request: IncomingMessage, response) => {
    awaitingContinue.add(request);
    app.server.emit('request', request, response);
  });

  app.addHook('onRequest', (request, reply, done) => {
    const length = Number(request.headers['content-length'] ?? 0);
    if (length > BODY_LIMIT_BYTES) {
      sendBodyTooLarge(reply);
      return;
    }
    done();
  });

  // Runs after every onRequest hook (rate limit, authentication), just before the body is read.
  app.addHook('preParsing', (request, reply, payload, done) => {
    if (awaitingContinue.delete(request.raw)) reply.raw.writeContinue();
    done(null, payload);
  });

  app.addHook('onSend', (request, reply, payload, done) => {
    const raw = request.raw;
    // app.inject() has no socket to linger on, and its bodies are always complete.
    if (!raw.complete && raw.socket instanceof Socket) {
      reply.header('connection', 'close');
      lingerOnClose(raw.socket, raw);
    }
    done(null, payload);
  });
}

/**
 * Makes the close Node performs after this socket's reply a lingering one: the reply and a FIN go
 * out, the rest of the request body is read and dropped, and the socket is destroyed once the body
 * has ended (or the client hung up), or when the bounds are exceeded.
 */
function lingerOnClose(socket: Socket, request: IncomingMessage): void {
  if (Object.hasOwn(socket, 'destroySoon')) return;
  socket.destroySoon = function lingeringClose(this: Socket): void {
    // Back to the prototype's method, for this close and any other.
    delete (socket as Partial<Pick<Socket, 'destroySoon'>>).destroySoon;
    if (request.complete || socket.destroyed) {
      socket.destroySoon();
      return;
    }
    socket.end();
    let discarded = 0;
    const cleanUp = (): void => {
      clearTimeout(timer);
      request.off('data', onData);
      request.off('end', onEnd);
      socket.off('close', cleanUp);
    };
    const cut = (): void => {
      cleanUp();
      socket.destroy();
    };
    const onData = (chunk: Buffer): void => {
      discarded += chunk.length;
      if (discarded > LINGER_MAX_BYTES) cut();
    };
    // The whole body is in: nothing is left unread, so closing sends no reset.
    const onEnd = (): void => {
      cleanUp();
      socket.destroySoon();
    };
    const timer = setTimeout(cut, LINGER_MS);
    timer.unref();
    request.on('data', onData);
    request.once('end', onEnd);
    socket.once('close', cleanUp);
    request.resume();
  };
}
