/**
 * Trading calendars: whether an instrument's market is open at a moment, and when it next opens or closes.
 *
 * Invariants:
 * - Times are Unix seconds (UTC). Sessions are defined in America/New_York wall-clock time and mapped
 *   to UTC through `Intl`, so both DST transitions are exact. No session boundary falls inside the
 *   01:00–03:00 window where New York clocks jump or repeat, so the wall-clock → UTC mapping is unique.
 * - Pure and deterministic: no ambient clock or randomness. The only state is a bounded memo of the
 *   New York UTC offset per UTC day, which never changes a result, only its cost.
 * - `us_equities`: 09:30–16:00 New York, Monday–Friday, minus NYSE full-day closures, ending at 13:00
 *   on early-close days. The holiday tables (nyse-holidays.ts) cover 2025–2027 only: outside those
 *   years only the weekly schedule applies, so holidays there are treated as trading days.
 * - `fx`: Sunday 17:00 to Friday 17:00 New York, closed for the 17:00–17:05 break Monday–Thursday.
 * - `always`: never closed, so there is no next open or close (null).
 * - Sessions are half-open: open at the start second, closed at the end second.
 */
import type { CalendarId } from '../model.ts';
import { NYSE_EARLY_CLOSES, NYSE_FULL_CLOSURES, type NyseDate } from './nyse-holidays.ts';

const SECONDS_PER_DAY = 86_400;
const MS_PER_SECOND = 1_000;

/** A session within one New York calendar day, as [start, end) seconds after local midnight. */
type Session = readonly [start: number, end: number];

const at = (hours: number, minutes: number): number => hours * 3_600 + minutes * 60;

const NO_SESSIONS: readonly Session[] = [];
const EQUITY_REGULAR: readonly Session[] = [[at(9, 30), at(16, 0)]];
const EQUITY_EARLY_CLOSE: readonly Session[] = [[at(9, 30), at(13, 0)]];
// FX sessions that end at local midnight continue into the next day's session starting at 0.
const FX_SUNDAY: readonly Session[] = [[at(17, 0), SECONDS_PER_DAY]];
const FX_MONDAY_TO_THURSDAY: readonly Session[] = [
  [0, at(17, 0)],
  [at(17, 5), SECONDS_PER_DAY],
];
const FX_FRIDAY: readonly Session[] = [[0, at(17, 0)]];

/** No calendar is closed this long, so a longer scan means a broken table rather than a long holiday. */
const MAX_SCAN_DAYS = 14;

/** New York calendar days as day numbers since 1970-01-01, for O(1) lookup on the hot path. */
function toDaySet(dates: readonly NyseDate[]): ReadonlySet<number> {
  const days = new Set<number>();
  for (const { date } of dates) {
    const ms = Date.parse(date);
    if (!/^\d{4}-\d{2}-\d{2}$/.test(date) || !Number.isFinite(ms)) {
      throw new Error(`invalid NYSE table date: ${date}`);
    }
    days.add(ms / (SECONDS_PER_DAY * MS_PER_SECOND));
  }
  return days;
}

const FULL_CLOSURE_DAYS = toDaySet(NYSE_FULL_CLOSURES);
const EARLY_CLOSE_DAYS = toDaySet(NYSE_EARLY_CLOSES);

/** 0 = Sunday … 6 = Saturday; day 0 (1970-01-01) was a Thursday. */
function weekdayOf(day: number): number {
  return (((day + 4) % 7) + 7) % 7;
}

function sessionsOn(calendar: Exclude<CalendarId, 'always'>, day: number): readonly Session[] {
  const weekday = weekdayOf(day);
  switch (calendar) {
    case 'us_equities':
      if (weekday === 0 || weekday === 6 || FULL_CLOSURE_DAYS.has(day)) return NO_SESSIONS;
      return EARLY_CLOSE_DAYS.has(day) ? EQUITY_EARLY_CLOSE : EQUITY_REGULAR;
    case 'fx':
      if (weekday === 0) return FX_SUNDAY;
      if (weekday === 5) return FX_FRIDAY;
      if (weekday === 6) return NO_SESSIONS;
      return FX_MONDAY_TO_THURSDAY;
    default: {
      const unknown: never = calendar;
      throw new Error(`unknown calendar: ${String(unknown)}`);
    }
  }
}

// ---- New York wall clock <-> UTC ----

const NEW_YORK = new Intl.DateTimeFormat('en-US', {
  timeZone: 'America/New_York',
  hourCycle: 'h23',
  year: 'numeric',
  month: 'numeric',
  day: 'numeric',
  hour: 'numeric',
  minute: 'numeric',
  second: 'numeric',
});

/** New York local time minus UTC, in seconds (-18000 in EST, -14400 in EDT), straight from Intl. */
function intlOffset(unixSeconds: number): number {
  let year = 0;
  let month = 1;
  let day = 1;
  let hour = 0;
  let minute = 0;
  let second = 0;
  for (const part of NEW_YORK.formatToParts(new Date(unixSeconds * MS_PER_SECOND))) {
    const value = Number(part.value);
    if (part.type === 'year') year = value;
    else if (part.type === 'month') month = value;
    else if (part.type === 'day') day = value;
    else if (part.type === 'hour') hour = value;
    else if (part.type === 'minute') minute = value;
    else if (part.type === 'second') second = value;
  }
  const localMs = Date.UTC(year, month - 1, day, hour, minute, second);
  return localMs / MS_PER_SECOND - unixSeconds;
}

/** Offsets over one UTC day: `before` until `switchAt`, `after` from it (switchAt = Infinity if none). */
interface DayOffsets {
  readonly before: number;
  readonly after: number;
  readonly switchAt: number;
}

// Intl formatting costs microseconds, so it runs a few times per UTC day and the answer is memoised.
const offsetsByUtcDay = new Map<number, DayOffsets>();
const OFFSET_CACHE_LIMIT = 4_096;

function offsetsFor(utcDay: number): DayOffsets {
  const start = utcDay * SECONDS_PER_DAY;
  const end = start + SECONDS_PER_DAY;
  const before = intlOffset(start);
  const after = intlOffset(end);
  if (before === after) return { before, after, switchAt: Infinity };
  // New York changes offset at most once per UTC day; bisect to the exact second it does.
  let lo = start;
  let hi = end;
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (intlOffset(mid) === before) lo = mid;
    else hi = mid;
  }
  return { before, after, switchAt: hi };
}

function offsetAt(unixSeconds: number): number {
  const utcDay = Math.floor(unixSeconds / SECONDS_PER_DAY);
  let entry = offsetsByUtcDay.get(utcDay);
  if (entry === undefined) {
    entry = offsetsFor(utcDay);
    // Clearing wholesale keeps the memo bounded without LRU bookkeeping; refills are cheap.
    if (offsetsByUtcDay.size >= OFFSET_CACHE_LIMIT) offsetsByUtcDay.clear();
    offsetsByUtcDay.set(utcDay, entry);
  }
  return unixSeconds < entry.switchAt ? entry.before : entry.after;
}

interface WallClock {
  /** New York calendar day, as days since 1970-01-01. */
  day: number;
  /** Seconds since New York local midnight (may be fractional if the input is). */
  second: number;
}

function toNewYork(unixSeconds: number): WallClock {
  const local = unixSeconds + offsetAt(unixSeconds);
  const day = Math.floor(local / SECONDS_PER_DAY);
  return { day, second: local - day * SECONDS_PER_DAY };
}

/** Valid for wall-clock times outside the 01:00–03:00 DST window, which covers every session boundary. */
function fromNewYork(day: number, second: number): number {
  const local = day * SECONDS_PER_DAY + second;
  const guess = local - offsetAt(local);
  return local - offsetAt(guess);
}

function assertFinite(unixSeconds: number): void {
  if (!Number.isFinite(unixSeconds)) throw new RangeError(`time must be finite Unix seconds: ${unixSeconds}`);
}

// ---- Public API ----

/** Whether the calendar's market is open at `unixSeconds` (session start inclusive, end exclusive). */
export function isMarketOpen(calendar: CalendarId, unixSeconds: number): boolean {
  if (calendar === 'always') return true;
  assertFinite(unixSeconds);
  const { day, second } = toNewYork(unixSeconds);
  for (const [start, end] of sessionsOn(calendar, day)) {
    if (second >= start && second < end) return true;
  }
  return false;
}

/**
 * The first moment at or after `unixSeconds` when the market is open: `unixSeconds` itself if it is
 * open now, otherwise the start of the next session. Null for `always`, which never opens because it
 * never closes.
 */
export function nextMarketOpen(calendar: CalendarId, unixSeconds: number): number | null {
  if (calendar === 'always') return null;
  assertFinite(unixSeconds);
  const now = toNewYork(unixSeconds);
  for (let day = now.day; day <= now.day + MAX_SCAN_DAYS; day++) {
    for (const [start, end] of sessionsOn(calendar, day)) {
      if (day === now.day && now.second >= start && now.second < end) return unixSeconds;
      if (day > now.day || start > now.second) return fromNewYork(day, start);
    }
  }
  throw new Error(`${calendar} has no session within ${MAX_SCAN_DAYS} days`);
}

/**
 * The moment the market next goes from open to closed: the end of the current session if open at
 * `unixSeconds`, otherwise the end of the next session. Sessions that run through New York midnight
 * (fx) are followed to their real end. Null for `always`.
 */
export function nextMarketClose(calendar: CalendarId, unixSeconds: number): number | null {
  if (calendar === 'always') return null;
  assertFinite(unixSeconds);
  const now = toNewYork(unixSeconds);
  for (let day = now.day; day <= now.day + MAX_SCAN_DAYS; day++) {
    for (const [, end] of sessionsOn(calendar, day)) {
      if (day > now.day || end > now.second) return fromNewYork(...followThroughMidnight(calendar, day, end));
    }
  }
  throw new Error(`${calendar} has no session within ${MAX_SCAN_DAYS} days`);
}

function followThroughMidnight(
  calendar: Exclude<CalendarId, 'always'>,
  day: number,
  end: number,
): [day: number, second: number] {
  let currentDay = day;
  let currentEnd = end;
  for (let hops = 0; currentEnd === SECONDS_PER_DAY && hops < MAX_SCAN_DAYS; hops++) {
    const next = sessionsOn(calendar, currentDay + 1)[0];
    if (next === undefined || next[0] !== 0) break;
    currentDay += 1;
    currentEnd = next[1];
  }
  return [currentDay, currentEnd];
}

/** `YYYY-MM-DD HH:MM UTC`, truncated to the minute. */
export function formatUtcMinute(unixSeconds: number): string {
  const iso = new Date(Math.floor(unixSeconds / 60) * 60 * MS_PER_SECOND).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;
}

/**
 * The rejection text for an order on a closed market, e.g.
 * `market is closed for AAPL.nq until 2026-11-30 14:30 UTC`. For `always` (which has no next open)
 * the `until …` clause is omitted.
 */
export function marketClosedMessage(ticker: string, calendar: CalendarId, unixSeconds: number): string {
  const reopens = nextMarketOpen(calendar, unixSeconds);
  const base = `market is closed for ${ticker}`;
  return reopens === null ? base : `${base} until ${formatUtcMinute(reopens)}`;
}
