/**
 * Finds a key repeated within one object of a JSON text. JSON.parse keeps the last of repeated
 * keys silently, so `{"volume":1,"volume":2}` would trade 2; a repeated form key is refused, and
 * so is this.
 *
 * The text must already have parsed as JSON: this is a single pass that only tells keys from
 * other strings (a string is a key when it opens an object member), not a parser, and it never
 * recurses, so nesting depth costs nothing but its stack of key sets. Keys are compared decoded:
 * "a" and "\u0061" are the same key. A small pass rather than a second JSON parser from a library:
 * JSON.parse has already checked the syntax, and only where keys start and end is needed here. The
 * tests beside it check it against generated JSON with and without repeated keys.
 */

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const COMMA = 0x2c;

/** The first key (in text order) that repeats one before it in the same object, or undefined. */
export function firstRepeatedKey(json: string): string | undefined {
  // The keys the innermost open object has had (null inside an array or outside everything), and
  // the same for each container around it.
  let keys: Set<string> | null = null;
  const outer: (Set<string> | null)[] = [];
  let expectingKey = false;
  // The next backslash at or after the current key (-1: none), looked for again only once passed:
  // one scan in all. Unknown (0) until the first key.
  let backslash = 0;
  const length = json.length;
  for (let at = 0; at < length; at++) {
    const char = json.charCodeAt(at);
    if (char === QUOTE) {
      const end = closingQuote(json, at + 1);
      if (end < 0) return undefined;
      if (expectingKey && keys) {
        if (backslash !== -1 && backslash < at) backslash = json.indexOf('\\', at);
        const key =
          backslash !== -1 && backslash < end
            ? (JSON.parse(json.slice(at, end + 1)) as string)
            : json.slice(at + 1, end);
        if (keys.has(key)) return key;
        keys.add(key);
      }
      expectingKey = false;
      at = end;
    } else if (char === OPEN_BRACE) {
      outer.push(keys);
      keys = new Set();
      expectingKey = true;
    } else if (char === OPEN_BRACKET) {
      outer.push(keys);
      keys = null;
      expectingKey = false;
    } else if (char === CLOSE_BRACE || char === CLOSE_BRACKET) {
      keys = outer.pop() ?? null;
      expectingKey = false;
    } else if (char === COMMA) {
      expectingKey = keys !== null;
    }
  }
  return undefined;
}

/** Where the string whose text starts at `from` ends: the first quote not escaped, or -1. */
function closingQuote(json: string, from: number): number {
  let quote = json.indexOf('"', from);
  while (quote > 0) {
    // A quote after an odd run of backslashes is escaped (the run cannot pass the opening quote).
    let run = 0;
    while (json.charCodeAt(quote - 1 - run) === BACKSLASH) run++;
    if (run % 2 === 0) return quote;
    quote = json.indexOf('"', quote + 1);
  }
  return -1;
}
