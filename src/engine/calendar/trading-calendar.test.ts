import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import type { CalendarId } from '../model.ts';
import { NYSE_EARLY_CLOSES, NYSE_FULL_CLOSURES } from './nyse-holidays.ts';
import {
  formatUtcMinute,
  isMarketOpen,
  marketClosedMessage,
  nextMarketClose,
  nextMarketOpen,
} from './trading-calendar.ts';

const utc = (iso: string): number => {
  const ms = Date.parse(iso);
  assert.ok(Number.isFinite(ms), `bad test timestamp ${iso}`);
  return ms / 1000;
};
const iso = (unixSeconds: number | null): string | null =>
  unixSeconds === null ? null : new Date(unixSeconds * 1000).toISOString().replace('.000', '');

/** Asserts the market opens exactly at `openIso` and closes exactly at `closeIso` (half-open). */
function assertSession(calendar: CalendarId, openIso: string, closeIso: string): void {
  const open = utc(openIso);
  const close = utc(closeIso);
  assert.equal(isMarketOpen(calendar, open - 1), false, `closed just before ${openIso}`);
  assert.equal(isMarketOpen(calendar, open), true, `open at ${openIso}`);
  assert.equal(isMarketOpen(calendar, close - 1), true, `open just before ${closeIso}`);
  assert.equal(isMarketOpen(calendar, close), false, `closed at ${closeIso}`);
  assert.equal(iso(nextMarketOpen(calendar, open - 60)), iso(open));
  assert.equal(iso(nextMarketClose(calendar, open)), iso(close));
  assert.equal(iso(nextMarketClose(calendar, close - 1)), iso(close));
}

describe('us_equities regular sessions', () => {
  it('winter (EST) session is 14:30–21:00 UTC', () => {
    assertSession('us_equities', '2026-01-14T14:30:00Z', '2026-01-14T21:00:00Z');
  });

  it('summer (EDT) session is 13:30–20:00 UTC', () => {
    assertSession('us_equities', '2026-07-15T13:30:00Z', '2026-07-15T20:00:00Z');
  });

  it('is closed on weekends', () => {
    assert.equal(isMarketOpen('us_equities', utc('2026-01-17T16:00:00Z')), false); // Saturday
    assert.equal(isMarketOpen('us_equities', utc('2026-01-18T16:00:00Z')), false); // Sunday
  });

  it('opens Monday 09:30 New York when asked on Friday evening', () => {
    const friday = utc('2026-02-06T23:00:00Z'); // Friday 18:00 EST
    assert.equal(isMarketOpen('us_equities', friday), false);
    assert.equal(iso(nextMarketOpen('us_equities', friday)), '2026-02-09T14:30:00Z');
    // Monday 2026-01-19 is Martin Luther King, Jr. Day, so that weekend runs to Tuesday.
    assert.equal(iso(nextMarketOpen('us_equities', utc('2026-01-16T23:00:00Z'))), '2026-01-20T14:30:00Z');
    const summerFriday = utc('2026-07-10T21:00:00Z');
    assert.equal(iso(nextMarketOpen('us_equities', summerFriday)), '2026-07-13T13:30:00Z');
  });

  it('returns the given time from nextMarketOpen while open', () => {
    const t = utc('2026-07-15T15:00:00Z') + 0.5;
    assert.equal(nextMarketOpen('us_equities', t), t);
  });

  it('before the open on a trading day, the next close is that day’s close', () => {
    assert.equal(iso(nextMarketClose('us_equities', utc('2026-07-15T10:00:00Z'))), '2026-07-15T20:00:00Z');
  });
});

describe('us_equities across DST switches', () => {
  it('2026 spring forward: Friday March 6 in EST, Monday March 9 in EDT', () => {
    assertSession('us_equities', '2026-03-06T14:30:00Z', '2026-03-06T21:00:00Z');
    assertSession('us_equities', '2026-03-09T13:30:00Z', '2026-03-09T20:00:00Z');
    assert.equal(iso(nextMarketOpen('us_equities', utc('2026-03-06T21:00:00Z'))), '2026-03-09T13:30:00Z');
  });

  it('2026 fall back: Friday October 30 in EDT, Monday November 2 in EST', () => {
    assertSession('us_equities', '2026-10-30T13:30:00Z', '2026-10-30T20:00:00Z');
    assertSession('us_equities', '2026-11-02T14:30:00Z', '2026-11-02T21:00:00Z');
    assert.equal(iso(nextMarketOpen('us_equities', utc('2026-10-30T20:00:00Z'))), '2026-11-02T14:30:00Z');
  });

  it('2025 switches: March 10 and November 3 Mondays', () => {
    assertSession('us_equities', '2025-03-07T14:30:00Z', '2025-03-07T21:00:00Z');
    assertSession('us_equities', '2025-03-10T13:30:00Z', '2025-03-10T20:00:00Z');
    assertSession('us_equities', '2025-10-31T13:30:00Z', '2025-10-31T20:00:00Z');
    assertSession('us_equities', '2025-11-03T14:30:00Z', '2025-11-03T21:00:00Z');
  });
});

describe('us_equities holidays and early closes', () => {
  it('is closed all of Thanksgiving 2026 and reopens Friday 09:30 EST', () => {
    assert.equal(isMarketOpen('us_equities', utc('2026-11-26T15:00:00Z')), false);
    assert.equal(iso(nextMarketOpen('us_equities', utc('2026-11-25T21:00:00Z'))), '2026-11-27T14:30:00Z');
    assert.equal(iso(nextMarketOpen('us_equities', utc('2026-11-26T15:00:00Z'))), '2026-11-27T14:30:00Z');
  });

  it('closes at 13:00 New York (18:00 UTC) the day after Thanksgiving 2026', () => {
    assertSession('us_equities', '2026-11-27T14:30:00Z', '2026-11-27T18:00:00Z');
  });

  it('closes early on 2025-07-03 (EDT, 17:00 UTC) and Christmas Eves 2025/2026', () => {
    assertSession('us_equities', '2025-07-03T13:30:00Z', '2025-07-03T17:00:00Z');
    assertSession('us_equities', '2025-12-24T14:30:00Z', '2025-12-24T18:00:00Z');
    assertSession('us_equities', '2026-12-24T14:30:00Z', '2026-12-24T18:00:00Z');
  });

  it('handles observed holidays and the 2025-01-09 closure', () => {
    for (const day of ['2025-01-09', '2026-07-03', '2027-06-18', '2027-07-05', '2027-12-24']) {
      assert.equal(isMarketOpen('us_equities', utc(`${day}T16:00:00Z`)), false, day);
    }
    // Neither the day before an observed holiday nor New Year's Eve 2027 (no Saturday observance) is short.
    assertSession('us_equities', '2026-07-02T13:30:00Z', '2026-07-02T20:00:00Z');
    assertSession('us_equities', '2027-07-02T13:30:00Z', '2027-07-02T20:00:00Z');
    assertSession('us_equities', '2027-12-23T14:30:00Z', '2027-12-23T21:00:00Z');
    assertSession('us_equities', '2027-12-31T14:30:00Z', '2027-12-31T21:00:00Z');
  });

  it('applies only the weekly schedule outside 2025–2027', () => {
    assertSession('us_equities', '2028-12-25T14:30:00Z', '2028-12-25T21:00:00Z');
  });
});

describe('fx', () => {
  it('opens Sunday 17:00 New York and closes Friday 17:00 New York in EST', () => {
    assert.equal(isMarketOpen('fx', utc('2026-01-17T12:00:00Z')), false); // Saturday
    assertSession('fx', '2026-01-18T22:00:00Z', '2026-01-19T22:00:00Z'); // Sunday open → Monday break
    assert.equal(iso(nextMarketClose('fx', utc('2026-01-23T12:00:00Z'))), '2026-01-23T22:00:00Z');
    assert.equal(isMarketOpen('fx', utc('2026-01-23T22:00:00Z')), false);
    assert.equal(iso(nextMarketOpen('fx', utc('2026-01-23T22:00:00Z'))), '2026-01-25T22:00:00Z');
  });

  it('opens Sunday 17:00 New York and closes Friday 17:00 New York in EDT', () => {
    assertSession('fx', '2026-07-12T21:00:00Z', '2026-07-13T21:00:00Z');
    assertSession('fx', '2026-07-16T21:05:00Z', '2026-07-17T21:00:00Z'); // Thursday after break → Friday close
    assert.equal(iso(nextMarketOpen('fx', utc('2026-07-17T21:00:00Z'))), '2026-07-19T21:00:00Z');
  });

  it('pauses 17:00–17:05 New York Monday to Thursday', () => {
    assert.equal(isMarketOpen('fx', utc('2026-01-20T21:59:59Z')), true);
    assert.equal(isMarketOpen('fx', utc('2026-01-20T22:00:00Z')), false);
    assert.equal(isMarketOpen('fx', utc('2026-01-20T22:04:59Z')), false);
    assert.equal(isMarketOpen('fx', utc('2026-01-20T22:05:00Z')), true);
    assert.equal(iso(nextMarketOpen('fx', utc('2026-01-20T22:02:00Z'))), '2026-01-20T22:05:00Z');
    assert.equal(iso(nextMarketClose('fx', utc('2026-01-20T22:02:00Z'))), '2026-01-21T22:00:00Z');
  });

  it('has no break at the Sunday open', () => {
    assert.equal(isMarketOpen('fx', utc('2026-01-18T22:02:00Z')), true);
  });

  it('opens on DST-switch Sundays at 17:00 of the new offset', () => {
    // Switches happen at 02:00 the same Sunday, so the open already uses the new offset.
    assert.equal(iso(nextMarketOpen('fx', utc('2026-03-07T12:00:00Z'))), '2026-03-08T21:00:00Z');
    assert.equal(iso(nextMarketOpen('fx', utc('2026-10-31T12:00:00Z'))), '2026-11-01T22:00:00Z');
    assert.equal(iso(nextMarketClose('fx', utc('2026-03-06T12:00:00Z'))), '2026-03-06T22:00:00Z');
  });
});

describe('always', () => {
  it('is always open and has no next open or close', () => {
    assert.equal(isMarketOpen('always', utc('2026-01-17T12:00:00Z')), true);
    assert.equal(nextMarketOpen('always', 0), null);
    assert.equal(nextMarketClose('always', 0), null);
    assert.equal(marketClosedMessage('BTCUSD', 'always', 0), 'market is closed for BTCUSD');
  });
});

describe('marketClosedMessage', () => {
  it('names the next open in UTC to the minute', () => {
    assert.equal(
      marketClosedMessage('AAPL.nq', 'us_equities', utc('2026-11-28T12:00:00Z')),
      'market is closed for AAPL.nq until 2026-11-30 14:30 UTC',
    );
    assert.equal(
      marketClosedMessage('EURUSD', 'fx', utc('2026-07-18T00:00:00Z')),
      'market is closed for EURUSD until 2026-07-19 21:00 UTC',
    );
  });

  it('formats single-digit fields with zero padding and truncates seconds', () => {
    assert.equal(formatUtcMinute(utc('2027-03-05T04:07:59Z')), '2027-03-05 04:07 UTC');
  });
});

it('rejects non-finite times', () => {
  assert.throws(() => isMarketOpen('us_equities', Number.NaN), RangeError);
  assert.throws(() => nextMarketOpen('fx', Number.POSITIVE_INFINITY), RangeError);
});

// ---- Cross-checks against an independent reference model ----

/** Days since 1970-01-01 of a calendar date. */
const dayOf = (year: number, month: number, day: number): number =>
  Date.UTC(year, month - 1, day) / 86_400_000;
const weekday = (day: number): number => (((day + 4) % 7) + 7) % 7;
const dateText = (day: number): string => new Date(day * 86_400_000).toISOString().slice(0, 10);
const nthWeekday = (year: number, month: number, dow: number, n: number): number => {
  const first = dayOf(year, month, 1);
  return first + ((dow - weekday(first) + 7) % 7) + (n - 1) * 7;
};
const lastMonday = (year: number, month: number): number => nthWeekday(year, month + 1, 1, 1) - 7;
/** Anonymous Gregorian computus. */
function easter(year: number): number {
  const a = year % 19;
  const b = Math.floor(year / 100);
  const c = year % 100;
  const d = Math.floor(b / 4);
  const e = b % 4;
  const f = Math.floor((b + 8) / 25);
  const g = Math.floor((b - f + 1) / 3);
  const h = (19 * a + b - d - g + 15) % 30;
  const i = Math.floor(c / 4);
  const k = c % 4;
  const l = (32 + 2 * e + 2 * i - h - k) % 7;
  const m = Math.floor((a + 11 * h + 22 * l) / 451);
  const month = Math.floor((h + l - 7 * m + 114) / 31);
  return dayOf(year, month, ((h + l - 7 * m + 114) % 31) + 1);
}
/** Saturday → Friday, Sunday → Monday (NYSE Rule 7.2); New Year's on Saturday is simply skipped. */
const observed = (day: number, skipSaturday = false): number | undefined => {
  if (weekday(day) === 6) return skipSaturday ? undefined : day - 1;
  return weekday(day) === 0 ? day + 1 : day;
};

function ruleHolidays(year: number): number[] {
  return [
    observed(dayOf(year, 1, 1), true),
    nthWeekday(year, 1, 1, 3),
    nthWeekday(year, 2, 1, 3),
    easter(year) - 2,
    lastMonday(year, 5),
    observed(dayOf(year, 6, 19)),
    observed(dayOf(year, 7, 4)),
    nthWeekday(year, 9, 1, 1),
    nthWeekday(year, 11, 4, 4),
    observed(dayOf(year, 12, 25)),
  ].filter((day): day is number => day !== undefined);
}

function ruleEarlyCloses(year: number, holidays: ReadonlySet<number>): number[] {
  const tradingWeekday = (day: number): boolean =>
    weekday(day) !== 0 && weekday(day) !== 6 && !holidays.has(day);
  const july4 = dayOf(year, 7, 4);
  const christmasEve = dayOf(year, 12, 24);
  return [
    ...(weekday(july4) >= 2 && weekday(july4) <= 5 ? [july4 - 1] : []),
    nthWeekday(year, 11, 4, 4) + 1,
    ...(tradingWeekday(christmasEve) ? [christmasEve] : []),
  ];
}

const YEARS = [2025, 2026, 2027];
const referenceHolidays = new Set(YEARS.flatMap(ruleHolidays));
referenceHolidays.add(dayOf(2025, 1, 9)); // National day of mourning, not rule-derived
const referenceEarly = new Set(YEARS.flatMap((year) => ruleEarlyCloses(year, referenceHolidays)));

/** US DST by the Energy Policy Act rule: 02:00 local on the second Sunday of March to the first Sunday of November. */
function referenceOffset(unixSeconds: number): number {
  const year = new Date(unixSeconds * 1000).getUTCFullYear();
  const start = nthWeekday(year, 3, 0, 2) * 86_400 + 7 * 3_600; // 02:00 EST = 07:00 UTC
  const end = nthWeekday(year, 11, 0, 1) * 86_400 + 6 * 3_600; // 02:00 EDT = 06:00 UTC
  return unixSeconds >= start && unixSeconds < end ? -4 * 3_600 : -5 * 3_600;
}

function referenceIsOpen(calendar: CalendarId, unixSeconds: number): boolean {
  const local = unixSeconds + referenceOffset(unixSeconds);
  const day = Math.floor(local / 86_400);
  const minute = (local - day * 86_400) / 60;
  const dow = weekday(day);
  if (calendar === 'always') return true;
  if (calendar === 'fx') {
    if (dow === 6) return false;
    if (dow === 0) return minute >= 17 * 60;
    if (dow === 5) return minute < 17 * 60;
    return minute < 17 * 60 || minute >= 17 * 60 + 5;
  }
  if (dow === 0 || dow === 6 || referenceHolidays.has(day)) return false;
  const close = referenceEarly.has(day) ? 13 * 60 : 16 * 60;
  return minute >= 9 * 60 + 30 && minute < close;
}

describe('cross-checks', () => {
  it('the explicit tables match the rule-derived dates', () => {
    assert.deepEqual(
      NYSE_FULL_CLOSURES.map(({ date }) => date).sort(),
      [...referenceHolidays].map(dateText).sort(),
    );
    assert.deepEqual(
      NYSE_EARLY_CLOSES.map(({ date }) => date).sort(),
      [...referenceEarly].map(dateText).sort(),
    );
  });

  it('isMarketOpen agrees with the reference model every 5 minutes from Dec 2024 to Jan 2028', () => {
    const from = utc('2024-12-01T00:00:00Z');
    const to = utc('2028-01-31T00:00:00Z');
    for (const calendar of ['us_equities', 'fx'] as const) {
      for (let t = from; t < to; t += 300) {
        if (isMarketOpen(calendar, t) !== referenceIsOpen(calendar, t)) {
          assert.fail(`${calendar} disagrees at ${iso(t)}`);
        }
      }
    }
  });

  it('nextMarketOpen / nextMarketClose match a minute-by-minute scan around DST switches and holidays', () => {
    const windows = [
      ['2026-03-01T00:00:00Z', '2026-03-16T00:00:00Z'],
      ['2026-10-25T00:00:00Z', '2026-12-02T00:00:00Z'],
      ['2027-12-18T00:00:00Z', '2028-01-06T00:00:00Z'],
    ] as const;
    for (const calendar of ['us_equities', 'fx'] as const) {
      for (const [fromIso, toIso] of windows) {
        const from = utc(fromIso);
        const to = utc(toIso);
        const states: boolean[] = [];
        for (let t = from; t <= to; t += 60) states.push(isMarketOpen(calendar, t));
        // Walk backwards so each step knows the next transition at or after it within the window.
        let nextOpen: number | undefined;
        let nextClose: number | undefined;
        for (let i = states.length - 1; i >= 0; i--) {
          const t = from + i * 60;
          const open = states[i] === true;
          const wasOpen = i > 0 && states[i - 1] === true;
          if (open && !wasOpen) nextOpen = t;
          if (!open && wasOpen) nextClose = t;
          if (open) {
            assert.equal(nextMarketOpen(calendar, t), t);
          } else if (nextOpen !== undefined) {
            assert.equal(iso(nextMarketOpen(calendar, t)), iso(nextOpen), `${calendar} open after ${iso(t)}`);
          }
          if (nextClose !== undefined && (open || (nextOpen !== undefined && nextOpen < nextClose))) {
            assert.equal(
              iso(nextMarketClose(calendar, t)),
              iso(nextClose),
              `${calendar} close after ${iso(t)}`,
            );
          }
        }
      }
    }
  });
});
