/**
 * What a route is on the wire: method, path template and schemas. The server registers routes
 * from these specs, the SDK builds its requests and derives its types from them, and the fuzzer
 * aims at them, so no path is written twice.
 *
 * Path templates use Fastify's `:name` parameters; `fillPath` substitutes them in order of
 * appearance. A spec's `url` is relative to its API's prefix (`/api/v1`, `/admin/v1`).
 */
import type { Static, TSchema } from '@sinclair/typebox';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface RouteSchema {
  summary: string;
  tags: string[];
  security: Record<string, never[]>[];
  params?: TSchema;
  querystring?: TSchema;
  body?: TSchema;
  /** Content types of a success other than JSON (a stream's `text/event-stream`), for OpenAPI. */
  produces?: string[];
  response: { 200: TSchema } & Record<number, TSchema>;
}

export interface RouteSpec {
  method: HttpMethod;
  url: string;
  schema: RouteSchema;
}

/** One route, with its path and schemas kept as literal types for the SDK and the server. */
export function route<const M extends HttpMethod, const U extends string, S extends RouteSchema>(
  method: M,
  url: U,
  schema: S,
): { method: M; url: U; schema: S } {
  return { method, url, schema };
}

/** The names of a path template's parameters: '/a/:x/b/:y' gives 'x' | 'y'. */
type ParamNames<U extends string> = U extends `${string}:${infer P}/${infer Rest}`
  ? P | ParamNames<`/${Rest}`>
  : U extends `${string}:${infer P}`
    ? P
    : never;

export type PathParams<R extends RouteSpec> = Record<ParamNames<R['url']>, string>;

/** What a route's success envelope carries in `data` (undefined for a bare {"code":"ok"}). */
export type DataOf<R extends RouteSpec> =
  Static<R['schema']['response'][200]> extends { data: infer D } ? D : undefined;

/**
 * The concrete path of a route under its API's prefix. `encode` escapes each parameter (the SDK
 * passes encodeURIComponent); the default leaves values as given, for tests that send hostile text.
 */
export function fillPath<R extends RouteSpec>(
  prefix: string,
  spec: R,
  params: PathParams<R>,
  encode: (value: string) => string = (value) => value,
): string {
  const values = params as Record<string, string>;
  return prefix + spec.url.replace(/:([A-Za-z_]+)/g, (_match, name: string) => encode(values[name] ?? ''));
}
