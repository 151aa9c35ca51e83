/**
 * Form bodies and query strings carry every value as text. Before validation, a text field whose
 * schema says number becomes a number, but only when the text is a plain decimal: "1.5" and
 * "2e3" convert, "NaN", "0x10", "", "true" or a repeated parameter do not, and then fail
 * validation with a message naming the field. JSON booleans never turn into numbers.
 */
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
