/**
 * Form bodies and query strings carry every value as text. Before validation, a text field whose
 * schema says number becomes a number, but only when the text is a plain decimal: "1.5" and
 * "2e3" convert, "NaN", "0x10", "", "true" or a repeated parameter do not, and then fail
 * validation with a message naming the field. JSON booleans never turn into numbers.
 * An empty body on a route with a body schema is an empty form, not a missing object.
 */
import type { FastifyInstance, preValidationHookHandler } from 'fastify';
import type { TSchema } from '@sinclair/typebox';

const NUMERIC = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

export function coerceNumericFields(data: unknown, schema: TSchema | undefined): void {
  if (!schema || typeof data !== 'object' || data === null || Array.isArray(data)) return;
  const properties = (schema as { properties?: Record<string, { type?: unknown }> }).properties;
  if (!properties) return;
  const record = data as Record<string, unknown>;
  for (const [name, property] of Object.entries(properties)) {
    if (property.type !== 'number' && property.type !== 'integer') continue;
    const value = record[name];
    if (typeof value === 'string' && NUMERIC.test(value.trim())) record[name] = Number(value.trim());
  }
}

/**
 * Coerces every route's query and body before validation. Per route, with the route's schemas
 * captured once: reading request.routeOptions builds an object on every access, which every
 * request would pay for.
 */
export function installNumericCoercion(app: FastifyInstance): void {
  app.addHook('onRoute', (route) => {
    const query = route.schema?.querystring as TSchema | undefined;
    const body = route.schema?.body as TSchema | undefined;
    if (!query && !body) return;
    const coerce: preValidationHookHandler = (request, _reply, done) => {
      coerceNumericFields(request.query, query);
      if (body && (request.body === undefined || request.body === null)) request.body = {};
      coerceNumericFields(request.body, body);
      done();
    };
    const existing = route.preValidation;
    route.preValidation = existing === undefined ? [coerce] : [coerce, ...[existing].flat()];
  });
}
