/**
 * NYSE full-day closures and 13:00 early closes for 2025–2027, as explicit New York calendar dates.
 *
 * Source: NYSE Group's holiday and early-closings calendars announced 2024-11-08 (2025–2027) and
 * 2025-12-23 (2026–2028). The tables are written out rather than derived from rules because the
 * exchange occasionally deviates (e.g. the 2025-01-09 day of mourning); the unit test re-derives the
 * rule-based entries independently to catch typos.
 *
 * Observance rules applied by NYSE (Rule 7.2): a holiday on Saturday is observed the Friday before,
 * on Sunday the Monday after, except that New Year's Day on a Saturday is not observed at all
 * (so 2027-12-31 is a normal trading day). Early closes are the weekday trading day before
 * Independence Day (only when July 4 itself falls Tuesday–Friday), the day after Thanksgiving, and
 * Christmas Eve when it is a weekday trading day.
 */

export interface NyseDate {
  /** New York calendar date, `YYYY-MM-DD`. */
  date: string;
  reason: string;
}

/** First and last calendar years covered by the tables; outside them only the weekly schedule applies. */
export const NYSE_TABLE_FIRST_YEAR = 2025;
export const NYSE_TABLE_LAST_YEAR = 2027;

export const NYSE_FULL_CLOSURES: readonly NyseDate[] = [
  // 2025
  { date: '2025-01-01', reason: "New Year's Day" },
  { date: '2025-01-09', reason: 'National Day of Mourning for President Jimmy Carter' },
  { date: '2025-01-20', reason: 'Martin Luther King, Jr. Day (third Monday of January)' },
  { date: '2025-02-17', reason: "Washington's Birthday (third Monday of February)" },
  { date: '2025-04-18', reason: 'Good Friday (Easter Sunday 2025-04-20)' },
  { date: '2025-05-26', reason: 'Memorial Day (last Monday of May)' },
  { date: '2025-06-19', reason: 'Juneteenth National Independence Day' },
  { date: '2025-07-04', reason: 'Independence Day' },
  { date: '2025-09-01', reason: 'Labor Day (first Monday of September)' },
  { date: '2025-11-27', reason: 'Thanksgiving Day (fourth Thursday of November)' },
  { date: '2025-12-25', reason: 'Christmas Day' },
  // 2026
  { date: '2026-01-01', reason: "New Year's Day" },
  { date: '2026-01-19', reason: 'Martin Luther King, Jr. Day (third Monday of January)' },
  { date: '2026-02-16', reason: "Washington's Birthday (third Monday of February)" },
  { date: '2026-04-03', reason: 'Good Friday (Easter Sunday 2026-04-05)' },
  { date: '2026-05-25', reason: 'Memorial Day (last Monday of May)' },
  { date: '2026-06-19', reason: 'Juneteenth National Independence Day' },
  { date: '2026-07-03', reason: 'Independence Day observed (July 4 is a Saturday)' },
  { date: '2026-09-07', reason: 'Labor Day (first Monday of September)' },
  { date: '2026-11-26', reason: 'Thanksgiving Day (fourth Thursday of November)' },
  { date: '2026-12-25', reason: 'Christmas Day' },
  // 2027
  { date: '2027-01-01', reason: "New Year's Day" },
  { date: '2027-01-18', reason: 'Martin Luther King, Jr. Day (third Monday of January)' },
  { date: '2027-02-15', reason: "Washington's Birthday (third Monday of February)" },
  { date: '2027-03-26', reason: 'Good Friday (Easter Sunday 2027-03-28)' },
  { date: '2027-05-31', reason: 'Memorial Day (last Monday of May)' },
  { date: '2027-06-18', reason: 'Juneteenth observed (June 19 is a Saturday)' },
  { date: '2027-07-05', reason: 'Independence Day observed (July 4 is a Sunday)' },
  { date: '2027-09-06', reason: 'Labor Day (first Monday of September)' },
  { date: '2027-11-25', reason: 'Thanksgiving Day (fourth Thursday of November)' },
  { date: '2027-12-24', reason: 'Christmas Day observed (December 25 is a Saturday)' },
];

/**
 * Days the regular session ends at 13:00 New York time instead of 16:00.
 * Deliberately absent: 2026-07-02 and 2027-07-02 (the Independence Day holiday is observed on the
 * adjacent Friday/Monday, and NYSE does not shorten the day before an observed holiday), and
 * 2027-12-23 (Christmas Eve itself is the observed holiday that year).
 */
export const NYSE_EARLY_CLOSES: readonly NyseDate[] = [
  // 2025
  { date: '2025-07-03', reason: 'Day before Independence Day' },
  { date: '2025-11-28', reason: 'Day after Thanksgiving' },
  { date: '2025-12-24', reason: 'Christmas Eve' },
  // 2026
  { date: '2026-11-27', reason: 'Day after Thanksgiving' },
  { date: '2026-12-24', reason: 'Christmas Eve' },
  // 2027
  { date: '2027-11-26', reason: 'Day after Thanksgiving' },
];
