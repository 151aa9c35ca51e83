/**
 * The SDK's transport: fetch, the {"code":...} envelope, and one error type. Requests name a
 * route of the contract's tables, so the path and the type of the answer come from its spec.
 */
import { fillPath, type DataOf, type PathParams, type RouteSpec } from '../contract/route-spec.ts';

export class StocksTraderError extends Error {
  constructor(
    readonly status: number,
    message: string,
    /** Stable error code from the server's catalogue, when it sent one. */
    readonly code: string | undefined,
  ) {
    super(message);
    this.name = 'StocksTraderError';
  }
}

export interface TransportOptions {
  /** Server root, e.g. http://127.0.0.1:8080 */
  baseUrl: string;
  token: string;
  /** Override for tests or custom agents. */
  fetch?: typeof fetch;
}

export type FormValue = string | number | undefined;

export interface RequestOptions {
  query?: Record<string, FormValue>;
  form?: Record<string, FormValue>;
  json?: unknown;
}

export class Transport {
  readonly #baseUrl: string;
  readonly #token: string;
  readonly #fetch: typeof fetch;

  constructor(options: TransportOptions) {
    this.#baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.#token = options.token;
    this.#fetch = options.fetch ?? fetch;
  }

  /** Calls one route under `prefix`; path parameters are URL-encoded. */
  call<R extends RouteSpec>(
    prefix: string,
    route: R,
    params: PathParams<R>,
    options: RequestOptions = {},
  ): Promise<DataOf<R>> {
    return this.#request(route.method, fillPath(prefix, route, params, encodeURIComponent), options);
  }

  async #request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const url = new URL(this.#baseUrl + path);
    for (const [key, value] of Object.entries(options.query ?? {})) {
      if (value !== undefined) url.searchParams.set(key, String(value));
    }
    const headers: Record<string, string> = {
      authorization: `Bearer ${this.#token}`,
      accept: 'application/json',
    };
    let body: string | undefined;
    if (options.form) {
      const form = new URLSearchParams();
      for (const [key, value] of Object.entries(options.form))
        if (value !== undefined) form.set(key, String(value));
      body = form.toString();
      headers['content-type'] = 'application/x-www-form-urlencoded';
    } else if (options.json !== undefined) {
      body = JSON.stringify(options.json);
      headers['content-type'] = 'application/json';
    }
    const response = await this.#fetch(url, { method, headers, ...(body === undefined ? {} : { body }) });
    const text = await response.text();
    const parsed = parseEnvelope(text);
    if (!response.ok || parsed?.code !== 'ok') throw apiError(response.status, parsed);
    return parsed.data as T;
  }
}

interface Envelope {
  code?: string;
  msg?: string;
  error?: string;
  data?: unknown;
}

function parseEnvelope(text: string): Envelope | undefined {
  try {
    return text ? (JSON.parse(text) as Envelope) : undefined;
  } catch {
    return undefined;
  }
}

function apiError(status: number, envelope: Envelope | undefined): StocksTraderError {
  return new StocksTraderError(status, envelope?.msg ?? `HTTP ${status}`, envelope?.error);
}

/** The error a refused request's answer (its status and body) stands for. */
export function errorFromAnswer(status: number, body: string): StocksTraderError {
  return apiError(status, parseEnvelope(body));
}
