/**
 * Request bodies: form-encoded (what the spec documents), JSON, and a form sent with a JSON content
 * type (real clients do all three). The JSON parser is Fastify's own, with prototype-poisoning
 * protection; forms parse into prototype-less objects, repeated keys into arrays (which then fail
 * validation); a JSON key repeated within an object is refused outright.
 *
 * JSON nested deeper than MAX_JSON_DEPTH is refused before it is parsed: one pass over the text
 * is cheap, while JSON.parse spends tens of milliseconds on tens of thousands of levels. No body
 * of this API nests at all.
 */
import { parse as parseForm } from 'node:querystring';
import type { FastifyInstance } from 'fastify';
import { invalid } from '../../application/errors.ts';
import { firstRepeatedKey } from './json-repeated-keys.ts';

export const BODY_LIMIT_BYTES = 64 * 1024;
export const MAX_JSON_DEPTH = 32;

/** Whether JSON text nests arrays and objects deeper than `max`; brackets inside strings do not count. */
export function nestsDeeperThan(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let index = 0; index < text.length; index++) {
    const char = text.charCodeAt(index);
    if (inString) {
      if (char === 0x5c)
        index++; // a backslash: the next character is escaped
      else if (char === 0x22) inString = false;
    } else if (char === 0x22) inString = true;
    else if (char === 0x5b || char === 0x7b) {
      if (++depth > max) return true;
    } else if (char === 0x5d || char === 0x7d) depth--;
  }
  return false;
}

export function installBodyParsing(app: FastifyInstance): void {
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeAllContentTypeParsers();

  const parseAny = (
    request: Parameters<typeof parseJson>[0],
    body: string,
    done: (error: Error | null, value?: unknown) => void,
  ): void => {
    const text = body.trim();
    if (text === '') {
      done(null, undefined);
      return;
    }
    if (text.startsWith('{') || text.startsWith('[') || text.startsWith('"')) {
      if (nestsDeeperThan(text, MAX_JSON_DEPTH)) {
        done(invalid(`request body must not nest JSON more than ${MAX_JSON_DEPTH} levels deep`));
        return;
      }
      void parseJson(request, text, (error, value) => {
        if (error && /"(__proto__|constructor)"/.test(text)) {
          // The JSON may be valid; it is refused for its key, and the message should say so.
          done(invalid('request body must not contain __proto__ or constructor keys'));
          return;
        }
        const repeated = error ? undefined : firstRepeatedKey(text);
        if (repeated !== undefined) {
          done(invalid(`repeated parameter ${repeated}: send each once`));
          return;
        }
        done(error, value);
      });
      return;
    }
    done(null, parseForm(text));
  };

  app.addContentTypeParser(
    ['application/x-www-form-urlencoded', 'application/json', 'text/plain'],
    { parseAs: 'string', bodyLimit: BODY_LIMIT_BYTES },
    parseAny,
  );
  app.addContentTypeParser('*', { parseAs: 'string', bodyLimit: BODY_LIMIT_BYTES }, parseAny);
}
