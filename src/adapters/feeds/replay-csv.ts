/**
 * Parsing for the replay feed's CSV files: the header that names a file's shape, the rows of each shape,
 * times, and the conversion of a bar into the quotes that replay it.
 *
 * Shapes (columns may come in any order; names are case-insensitive):
 * - Ticks: `time,ticker,bid,ask[,last]`. Each row is one quote.
 * - Bars: `time,ticker,open,high,low,close[,volume]`. Bar prices are bid prices; `volume` is checked
 *   and ignored.
 *
 * Invariants:
 * - Nothing is guessed. A value that does not parse exactly (prices through `toScaled`, times through
 *   the patterns below) makes the row malformed with a reason naming the column; no row is rounded into
 *   meaning something else. Plain CSV: fields are split on commas, with no quoting.
 * - Tick prices are the market's own quotes, so they must already sit on the instrument's min_tick grid
 *   (as the admin quote endpoint requires): 0 < bid ≤ ask, and `last` > 0 when given.
 * - Bar quotes never offer a price the bar did not reach (see `barPathQuotes`), with one documented
 *   exception for a bar that spans a single grid price.
 * - `time` is Unix seconds (integer or decimal; sub-millisecond digits are dropped) or ISO-8601 with an
 *   explicit zone (`Z` or `±HH:MM`), or a bare date meaning 00:00 UTC. An ISO time without a zone is
 *   refused rather than assumed to be UTC, since exchange-local exports are common. Numbers too large
 *   to be Unix seconds (e.g. milliseconds) are refused for the same reason.
 */
import {
  PRICE_DECIMALS,
  QUANTITY_DECIMALS,
  scaledToText,
  toScaled,
  type Price,
  type Quantity,
} from '../../engine/decimal.ts';
import type { Instrument, Quote } from '../../engine/model.ts';

export type ReplayShape = 'ticks' | 'bars';

/** Column positions of a tick file. */
export interface TickHeader {
  shape: 'ticks';
  width: number;
  time: number;
  ticker: number;
  bid: number;
  ask: number;
  last: number | undefined;
}

/** Column positions of a bar file. */
export interface BarHeader {
  shape: 'bars';
  width: number;
  time: number;
  ticker: number;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number | undefined;
}

export type ReplayHeader = TickHeader | BarHeader;

/** A reason a line cannot be used, worded to follow `file:line: `. */
export interface Malformed {
  reason: string;
}

/** What a replay does with a malformed line: count it and go on, or fail on it. */
export const REPLAY_ON_MALFORMED = ['skip', 'fail'] as const;
export type ReplayMalformedPolicy = (typeof REPLAY_ON_MALFORMED)[number];

export const TICK_COLUMNS = 'time,ticker,bid,ask[,last]';
export const BAR_COLUMNS = 'time,ticker,open,high,low,close[,volume]';
const KNOWN_COLUMNS = new Set([
  'time',
  'ticker',
  'bid',
  'ask',
  'last',
  'open',
  'high',
  'low',
  'close',
  'volume',
]);

/** 9999-12-31T23:59:59Z: anything later is not Unix seconds (it is most likely milliseconds). */
const LATEST_UNIX_SECONDS = 253_402_300_799;

export function isMalformed(value: object): value is Malformed {
  return 'reason' in value;
}

/** Reads a header line; a line that names neither shape is malformed. */
export function parseHeader(line: string): ReplayHeader | Malformed {
  const names = splitFields(line).map((name) => name.toLowerCase());
  const expected = `expected a header ${TICK_COLUMNS} or ${BAR_COLUMNS}`;
  const index = new Map<string, number>();
  for (const [position, name] of names.entries()) {
    if (!KNOWN_COLUMNS.has(name)) return { reason: `unknown column "${name}" in the header: ${expected}` };
    if (index.has(name)) return { reason: `column "${name}" appears twice in the header` };
    index.set(name, position);
  }
  const time = index.get('time');
  const ticker = index.get('ticker');
  if (time === undefined || ticker === undefined)
    return { reason: `missing time or ticker column: ${expected}` };
  const width = names.length;
  const bid = index.get('bid');
  const ask = index.get('ask');
  const open = index.get('open');
  const high = index.get('high');
  const low = index.get('low');
  const close = index.get('close');
  const isTicks = bid !== undefined || ask !== undefined || index.has('last');
  const isBars = [open, high, low, close].some((column) => column !== undefined) || index.has('volume');
  if (isTicks && !isBars && bid !== undefined && ask !== undefined) {
    return { shape: 'ticks', width, time, ticker, bid, ask, last: index.get('last') };
  }
  if (
    isBars &&
    !isTicks &&
    open !== undefined &&
    high !== undefined &&
    low !== undefined &&
    close !== undefined
  ) {
    return { shape: 'bars', width, time, ticker, open, high, low, close, volume: index.get('volume') };
  }
  return { reason: `the header mixes or lacks columns: ${expected}` };
}

/** Parses a `time` cell into milliseconds since the epoch. */
export function parseTime(text: string): number | Malformed {
  const unix = /^(\d+)(?:\.(\d+))?$/.exec(text);
  if (unix) {
    const [, whole = '', fraction = ''] = unix;
    const seconds = Number(whole);
    if (whole.length > 12 || seconds > LATEST_UNIX_SECONDS) {
      return { reason: `time ${text} is too large for Unix seconds (is it in milliseconds?)` };
    }
    // Sub-millisecond digits are dropped: the clock and batching work in milliseconds.
    return seconds * 1000 + Number(fraction.slice(0, 3).padEnd(3, '0'));
  }
  const iso =
    /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?(Z|[+-]\d{2}(?::?\d{2})?)?)?$/i.exec(
      text,
    );
  if (!iso) return { reason: `time "${text}" is neither Unix seconds nor ISO-8601` };
  const [, year, month, day, hour, minute, second = '0', fraction = '', zone] = iso;
  if (hour !== undefined && zone === undefined) {
    return { reason: `time "${text}" has no time zone: add Z for UTC (or an offset such as -05:00)` };
  }
  const fields = [year, month, day, hour ?? '0', minute ?? '0', second].map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const [y, mo, d, h, mi, s] = fields;
  const ms = Date.UTC(y, mo - 1, d, h, mi, s, Number(fraction.slice(0, 3).padEnd(3, '0')));
  const check = new Date(ms);
  if (
    check.getUTCFullYear() !== y ||
    check.getUTCMonth() !== mo - 1 ||
    check.getUTCDate() !== d ||
    h > 23 ||
    mi > 59 ||
    s > 59
  ) {
    return { reason: `time "${text}" is not a valid date and time` };
  }
  const offsetMs = zone === undefined ? 0 : zoneOffsetMs(zone);
  const utcMs = ms - offsetMs;
  if (utcMs < 0) return { reason: `time "${text}" is before 1970` };
  return utcMs;
}

function zoneOffsetMs(zone: string): number {
  if (zone.toUpperCase() === 'Z') return 0;
  const digits = zone.slice(1).replace(':', '');
  const hours = Number(digits.slice(0, 2));
  const minutes = Number(digits.slice(2) || '0');
  return (zone.startsWith('-') ? -1 : 1) * (hours * 60 + minutes) * 60_000;
}

/** One bid/ask pair of a bar's path. */
export interface PathQuote {
  bid: Price;
  ask: Price;
}

export interface BarPrices {
  open: Price;
  high: Price;
  low: Price;
  close: Price;
}

/**
 * The four quotes that replay a bar: open → the extreme nearer the open → the other extreme → close.
 * When the open is equally far from both extremes, the high comes first. This is the usual reading of
 * a bar in backtesters: the least movement that explains the bar, with no swings inside it beyond the
 * ones it must have made.
 *
 * Each bar price is a target bid, turned into a quote on the min_tick grid (`tick`) that stays inside
 * the bar, so no order can fill at a price the bar never reached:
 * - The usable grid is [low rounded up, high rounded down]. If it is empty (high and low between the
 *   same two grid prices) there is no such quote and the bar is malformed.
 * - bid = target rounded down to the grid, kept within the usable grid (rounding the bid down and the
 *   ask up is the side that never flatters the trader).
 * - ask = bid + spreadTicks · tick. If that passes the high, the bid is lowered so that ask = high,
 *   but never below the low; when the bar is narrower than the spread, bid = low and ask = high.
 * - Exception: when the usable grid is a single price (high = low) and the spread is at least one tick,
 *   the quote is bid = that price, ask = one tick above it. A two-sided market needs a positive spread
 *   (and the feed keeps spreads positive, like the simulator); the bid side keeps the bar's price, so
 *   only a buy can fill outside the bar, by one tick, against the buyer.
 */
export function barPathQuotes(bar: BarPrices, tick: Price, spreadTicks: number): PathQuote[] | Malformed {
  const lowTicks = ceilDiv(bar.low, tick);
  const highTicks = floorDiv(bar.high, tick);
  if (lowTicks > highTicks) {
    return {
      reason: `no min_tick (${showPrice(tick)}) price lies between low ${showPrice(bar.low)} and high ${showPrice(bar.high)}`,
    };
  }
  const highFirst = bar.high - bar.open <= bar.open - bar.low;
  const targets = highFirst
    ? [bar.open, bar.high, bar.low, bar.close]
    : [bar.open, bar.low, bar.high, bar.close];
  return targets.map((target) => {
    let bidTicks = Math.min(highTicks, Math.max(lowTicks, floorDiv(target, tick)));
    let askTicks = bidTicks + spreadTicks;
    if (askTicks > highTicks) {
      bidTicks = Math.max(lowTicks, highTicks - spreadTicks);
      askTicks = highTicks > bidTicks ? highTicks : bidTicks + 1;
    }
    return { bid: bidTicks * tick, ask: askTicks * tick };
  });
}

/** A row ready for the timeline. */
export type ReplayRow =
  | { kind: 'tick'; timeMs: number; quote: Quote }
  | {
      kind: 'bar';
      timeMs: number;
      ticker: string;
      path: PathQuote[];
      /** The bar as the file gives it, for charts (its quotes are the path). */
      prices: BarPrices;
      /** Fixed-point (1e-6 units); 0 when the file has no volume. */
      volume: Quantity;
    };

export interface ReplayRowParserOptions {
  instruments: (ticker: string) => Instrument | undefined;
  /** Spread of bar quotes in ticks; undefined means each instrument's own `spreadTicks`. */
  barSpreadTicks: number | undefined;
}

/** Parses the data rows of one file, given its header. */
export class ReplayRowParser {
  readonly header: ReplayHeader;
  readonly #options: ReplayRowParserOptions;

  constructor(header: ReplayHeader, options: ReplayRowParserOptions) {
    this.header = header;
    this.#options = options;
  }

  parse(line: string): ReplayRow | Malformed {
    const cells = splitFields(line);
    const header = this.header;
    if (cells.length !== header.width) {
      return { reason: `expected ${header.width} columns, found ${cells.length}` };
    }
    const timeMs = parseTime(cells[header.time] ?? '');
    if (typeof timeMs !== 'number') return timeMs;
    const tickerText = cells[header.ticker] ?? '';
    const instrument = this.#options.instruments(tickerText);
    if (!instrument) return { reason: `unknown ticker "${tickerText}"` };
    return header.shape === 'ticks'
      ? this.#tick(header, cells, timeMs, instrument)
      : this.#bar(header, cells, timeMs, instrument);
  }

  #tick(header: TickHeader, cells: string[], timeMs: number, instrument: Instrument): ReplayRow | Malformed {
    const bid = gridPrice('bid', cells[header.bid], instrument);
    if (typeof bid !== 'number') return bid;
    const ask = gridPrice('ask', cells[header.ask], instrument);
    if (typeof ask !== 'number') return ask;
    if (bid > ask) return { reason: `bid ${showPrice(bid)} is above ask ${showPrice(ask)}` };
    const time = Math.floor(timeMs / 1000);
    const quote: Quote = { ticker: instrument.ticker, bid, ask, time };
    const lastText = header.last === undefined ? '' : (cells[header.last] ?? '');
    // An empty `last` cell means no trade price for this quote, not zero.
    if (lastText !== '') {
      const last = gridPrice('last', lastText, instrument);
      if (typeof last !== 'number') return last;
      quote.last = last;
      quote.lastTime = time;
    }
    return { kind: 'tick', timeMs, quote };
  }

  #bar(header: BarHeader, cells: string[], timeMs: number, instrument: Instrument): ReplayRow | Malformed {
    const prices: Partial<BarPrices> = {};
    for (const column of ['open', 'high', 'low', 'close'] as const) {
      const value = positivePrice(column, cells[header[column]]);
      if (typeof value !== 'number') return value;
      prices[column] = value;
    }
    const bar = prices as BarPrices;
    if (bar.low > bar.high)
      return { reason: `low ${showPrice(bar.low)} is above high ${showPrice(bar.high)}` };
    for (const column of ['open', 'close'] as const) {
      if (bar[column] < bar.low || bar[column] > bar.high) {
        return {
          reason: `${column} ${showPrice(bar[column])} is outside [low ${showPrice(bar.low)}, high ${showPrice(bar.high)}]`,
        };
      }
    }
    let volume = 0;
    if (header.volume !== undefined) {
      const text = cells[header.volume] ?? '';
      if (text !== '' && !/^\d+(?:\.\d+)?$/.test(text)) {
        return { reason: `volume "${text}" is not a non-negative number` };
      }
      if (text !== '') volume = barVolume(text);
    }
    const spreadTicks = this.#options.barSpreadTicks ?? defaultBarSpreadTicks(instrument);
    const path = barPathQuotes(bar, instrument.minTick, spreadTicks);
    if (isMalformed(path)) return path;
    return { kind: 'bar', timeMs, ticker: instrument.ticker, path, prices: bar, volume };
  }
}

/**
 * A bar's volume as a fixed-point quantity: decimals past the sixth are dropped and a volume past
 * 2^53 − 1 units of 1e-6 reads as that, so no volume the format accepts makes a line malformed.
 */
function barVolume(text: string): Quantity {
  const [whole = '0', fraction = ''] = text.split('.');
  return (
    toScaled(`${whole}.${fraction.slice(0, QUANTITY_DECIMALS) || '0'}`, QUANTITY_DECIMALS) ??
    Number.MAX_SAFE_INTEGER
  );
}

/** The instrument's typical spread as whole ticks, never below one (as the simulator draws it). */
export function defaultBarSpreadTicks(instrument: Instrument): number {
  return Math.max(1, Math.round(instrument.spreadTicks));
}

function splitFields(line: string): string[] {
  return line.split(',').map((field) => field.trim());
}

function positivePrice(column: string, text: string | undefined): Price | Malformed {
  const value = toScaled(text ?? '', PRICE_DECIMALS);
  if (value === undefined) return { reason: `${column} "${text ?? ''}" is not a valid price` };
  if (value <= 0) return { reason: `${column} ${text ?? ''} must be greater than 0` };
  return value;
}

function gridPrice(column: string, text: string | undefined, instrument: Instrument): Price | Malformed {
  const value = positivePrice(column, text);
  if (typeof value !== 'number') return value;
  if (value % instrument.minTick !== 0) {
    return {
      reason: `${column} ${showPrice(value)} is not on the min_tick grid ${showPrice(instrument.minTick)} of ${instrument.ticker}`,
    };
  }
  return value;
}

/** Division of non-negative safe integers without float rounding (a / b could round up to the next integer). */
function floorDiv(value: number, divisor: number): number {
  return (value - (value % divisor)) / divisor;
}

function ceilDiv(value: number, divisor: number): number {
  const floor = floorDiv(value, divisor);
  return value % divisor === 0 ? floor : floor + 1;
}

function showPrice(value: Price): string {
  return scaledToText(value, PRICE_DECIMALS);
}
