/**
 * Stream clients for tests, as a bot would write them: an SSE reader on a plain HTTP request that
 * parses `id:`/`event:`/`data:` blocks, and a WebSocket client (ws). Both keep every message they
 * received, in order, and let a test wait for one.
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { WebSocket } from 'ws';
import { waitFor } from './wait-for.ts';

export interface SseMessage {
  id: string | undefined;
  event: string;
  data: Record<string, unknown>;
}

export class SseClient {
  readonly messages: SseMessage[] = [];
  /** Comment lines received (`: heartbeat`), without the colon. */
  readonly comments: string[] = [];
  ended = false;
  #buffer = '';
  readonly #response: IncomingMessage;

  private constructor(response: IncomingMessage) {
    this.#response = response;
    response.setEncoding('utf8');
    response.on('data', (chunk: string) => this.#parse(chunk));
    response.on('close', () => (this.ended = true));
  }

  /** Opens a stream; rejects with the status and body when the server answers without one. */
  static async open(url: string, headers: Record<string, string> = {}): Promise<SseClient> {
    const response = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = httpRequest(url, { headers: { accept: 'text/event-stream', ...headers } }, resolve);
      req.on('error', reject);
      req.end();
    });
    if (response.statusCode !== 200) {
      let body = '';
      for await (const chunk of response) body += String(chunk);
      throw new StreamRefused(response.statusCode ?? 0, body);
    }
    return new SseClient(response);
  }

  get events(): SseMessage[] {
    return this.messages.filter((message) => typeof message.data.id === 'number');
  }

  async waitFor(
    what: string,
    condition: (messages: SseMessage[]) => boolean,
    timeoutMs = 5_000,
  ): Promise<void> {
    await waitFor(what, () => condition(this.messages), { timeoutMs, intervalMs: 5 });
  }

  close(): void {
    this.#response.destroy();
  }

  #parse(chunk: string): void {
    this.#buffer += chunk;
    for (let end = this.#buffer.indexOf('\n\n'); end >= 0; end = this.#buffer.indexOf('\n\n')) {
      const block = this.#buffer.slice(0, end);
      this.#buffer = this.#buffer.slice(end + 2);
      let id: string | undefined;
      let event = 'message';
      let data: string | undefined;
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) this.comments.push(line.slice(1).trim());
        else if (line.startsWith('id: ')) id = line.slice(4);
        else if (line.startsWith('event: ')) event = line.slice(7);
        else if (line.startsWith('data: ')) data = line.slice(6);
      }
      if (data !== undefined)
        this.messages.push({ id, event, data: JSON.parse(data) as Record<string, unknown> });
    }
  }
}

export class StreamRefused extends Error {
  constructor(
    readonly status: number,
    readonly body: string,
  ) {
    super(`stream refused: ${status} ${body}`);
  }
}

export class WsClient {
  readonly messages: Record<string, unknown>[] = [];
  closeCode: number | undefined;
  pings = 0;
  readonly #socket: WebSocket;

  private constructor(socket: WebSocket) {
    this.#socket = socket;
    socket.on('message', (data) => this.messages.push(JSON.parse(String(data)) as Record<string, unknown>));
    socket.on('ping', () => (this.pings += 1));
    socket.on('close', (code) => (this.closeCode = code));
  }

  static open(url: string, headers: Record<string, string> = {}): Promise<WsClient> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(url.replace(/^http/, 'ws'), { headers });
      socket.once('open', () => resolve(new WsClient(socket)));
      socket.once('unexpected-response', (_request, response) => {
        let body = '';
        response.on('data', (chunk: Buffer) => (body += String(chunk)));
        response.on('end', () => reject(new StreamRefused(response.statusCode ?? 0, body)));
      });
      socket.once('error', reject);
    });
  }

  send(message: unknown): void {
    this.#socket.send(typeof message === 'string' ? message : JSON.stringify(message));
  }

  /** Account events (messages with an event id), in arrival order. */
  get events(): Record<string, unknown>[] {
    return this.messages.filter((message) => message.stream === 'account' && typeof message.id === 'number');
  }

  async waitFor(
    what: string,
    condition: (messages: Record<string, unknown>[]) => boolean,
    timeoutMs = 5_000,
  ): Promise<void> {
    await waitFor(what, () => condition(this.messages), { timeoutMs, intervalMs: 5 });
  }

  close(): void {
    this.#socket.terminate();
  }
}
