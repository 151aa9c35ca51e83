/**
 * Raw HTTP/1.1 over TCP: any method, any target, any header bytes, any body; one connection each,
 * so that nothing (fetch, URL normalisation, header validation) cleans the input up on the way.
 *
 * `stats` counts every request sent and every status answered in this process, for the
 * diagnostics the fuzz prints.
 */
import net from 'node:net';
import fc from 'fast-check';

export interface HostileRequest {
  method: string;
  /** The request target exactly as sent (already percent-encoded where wanted). */
  target: string;
  headers: [string, string][];
  body?: Buffer;
  /** Without it the body goes with a matching Content-Length; "raw" sends it unframed (chunked tests). */
  framing?: 'raw';
  /** Host header values to send instead of the server's one ([] sends none). */
  hosts?: readonly string[];
  /** What generated it, for failure messages. */
  label: string;
}

export interface RawReply {
  status: number;
  headers: Record<string, string>;
  text: string;
  error?: string;
  /** Size of the request line and headers sent. */
  headBytes?: number;
}

/** Node's default --max-http-header-size: a bigger request head is answered 431 by the HTTP layer. */
export const MAX_HEAD_BYTES = 16 * 1024;

export const stats = { requests: 0, histogram: new Map<string, number>() };

/** Gives a request a short printable form, so fast-check counterexamples stay readable. */
export function printable(request: HostileRequest): HostileRequest {
  Object.defineProperty(request, fc.toStringMethod, {
    value: () => describeRequest(request),
    enumerable: false,
  });
  return request;
}

export function describeRequest(request: HostileRequest): string {
  const body =
    request.body === undefined
      ? ''
      : ` body(${request.body.length} B)=${JSON.stringify(request.body.subarray(0, 300).toString('utf8'))}`;
  const hosts = request.hosts?.map((host): [string, string] => ['Host', host]) ?? [];
  const headers = [...hosts, ...request.headers]
    .map(([name, value]) => `${name}: ${value.slice(0, 120)}`)
    .join(' | ');
  return `[${request.label}] ${request.method} ${request.target.slice(0, 300)} {${headers}}${body}`;
}

export function send(baseUrl: string, request: HostileRequest, timeoutMs = 20_000): Promise<RawReply> {
  const url = new URL(baseUrl);
  const lines = [
    `${request.method} ${request.target} HTTP/1.1`,
    ...(request.hosts ?? [url.host]).map((host) => `Host: ${host}`),
    'Connection: close',
  ];
  for (const [name, value] of request.headers) lines.push(`${name}: ${value}`);
  if (request.body !== undefined && request.framing !== 'raw')
    lines.push(`Content-Length: ${request.body.length}`);
  const head = Buffer.from(lines.join('\r\n') + '\r\n\r\n', 'utf8');
  stats.requests++;
  return new Promise((resolve) => {
    const socket = net.connect({ host: url.hostname, port: Number(url.port) });
    const chunks: Buffer[] = [];
    let socketError: string | undefined;
    let responded = false;
    let finished = false;
    const finish = (why?: string): void => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      socket.destroy();
      const reply = { ...parseReply(Buffer.concat(chunks), why ?? socketError), headBytes: head.length };
      const key = String(reply.status);
      stats.histogram.set(key, (stats.histogram.get(key) ?? 0) + 1);
      resolve(reply);
    };
    const timer = setTimeout(() => finish('timeout: no complete response'), timeoutMs);
    socket.on('data', (chunk: Buffer) => {
      responded = true;
      chunks.push(chunk);
      // A stream that opened never ends: its head is the reply.
      if (isEventStream(Buffer.concat(chunks))) finish();
    });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      socketError = error.code ?? error.message;
    });
    socket.on('close', () => finish());
    socket.on('connect', () => {
      socket.setNoDelay(true);
      socket.write(head);
      const body = request.body;
      if (body === undefined || body.length === 0) return;
      // Big bodies go in slices, and stop as soon as the server has answered (it may refuse early).
      void (async () => {
        const slice = 256 * 1024;
        for (let offset = 0; offset < body.length; offset += slice) {
          if (responded || socket.destroyed) return;
          if (!socket.write(body.subarray(offset, offset + slice))) {
            await new Promise<void>((done) => {
              const settle = (): void => {
                socket.off('drain', settle);
                socket.off('close', settle);
                socket.off('data', settle);
                done();
              };
              socket.on('drain', settle);
              socket.on('close', settle);
              socket.on('data', settle);
            });
          }
        }
      })();
    });
  });
}

function isEventStream(received: Buffer): boolean {
  const end = received.indexOf('\r\n\r\n');
  return (
    end >= 0 && /\r\ncontent-type: *text\/event-stream/i.test(received.subarray(0, end).toString('latin1'))
  );
}

function parseReply(all: Buffer, error: string | undefined): RawReply {
  let rest = all;
  for (;;) {
    const end = rest.indexOf('\r\n\r\n');
    if (end < 0)
      return { status: 0, headers: {}, text: rest.toString('latin1'), error: error ?? 'no response' };
    const [statusLine = '', ...lines] = rest.subarray(0, end).toString('latin1').split('\r\n');
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1] ?? 0);
    rest = rest.subarray(end + 4);
    if (status >= 100 && status < 200) continue; // 100 Continue and friends precede the answer
    const headers: Record<string, string> = {};
    for (const line of lines) {
      const colon = line.indexOf(':');
      if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    let body = rest;
    if (/chunked/i.test(headers['transfer-encoding'] ?? '')) {
      const parts: Buffer[] = [];
      let position = 0;
      for (;;) {
        const newline = body.indexOf('\r\n', position);
        if (newline < 0) break;
        const size = parseInt(body.subarray(position, newline).toString('latin1'), 16);
        if (!size) break;
        parts.push(body.subarray(newline + 2, newline + 2 + size));
        position = newline + 2 + size + 2;
      }
      body = Buffer.concat(parts);
    } else if (headers['content-length'] !== undefined) {
      body = body.subarray(0, Number(headers['content-length']));
    }
    return { status, headers, text: body.toString('utf8'), ...(error === undefined ? {} : { error }) };
  }
}
