/**
 * Row mapping of the account event log (`account_events`, migration 0004), shared by the adapters.
 *
 * A row is the event's account, id and time as columns and the rest of the engine event as JSON
 * (`payload`): its type, message and the snapshot of the order or deal it is about, in the
 * engine's fixed-point integers. JSON rather than columns because each type carries different
 * facts, and a stream only ever reads whole events back in id order.
 */
import type { EngineEvent } from '../../engine/engine.ts';
import { ACCOUNT_ID_WIDTH, formatId } from '../../engine/ids.ts';
import type { Row } from './rows.ts';

export const EVENT_COLUMNS = ['account_id', 'id', 'time', 'payload'] as const;

export function eventValues(event: EngineEvent): unknown[] {
  const { accountId, id, time, ...payload } = event;
  return [Number(accountId), id, time, JSON.stringify(payload)];
}

export function eventRow(event: EngineEvent): Row {
  const [account_id, id, time, payload] = eventValues(event);
  return { account_id, id, time, payload };
}

export function eventFromRow(row: Row): EngineEvent {
  const payload = JSON.parse(String(row.payload)) as Omit<EngineEvent, 'accountId' | 'id' | 'time'>;
  return {
    ...payload,
    accountId: formatId(Number(row.account_id), ACCOUNT_ID_WIDTH),
    id: Number(row.id),
    time: Number(row.time),
  } as EngineEvent;
}

/** The highest event id per account among the events (accounts without events are absent). */
export function lastEventIds(events: readonly EngineEvent[]): Map<string, number> {
  const last = new Map<string, number>();
  for (const event of events) {
    if (event.id > (last.get(event.accountId) ?? 0)) last.set(event.accountId, event.id);
  }
  return last;
}

/** The most events one read returns: a stream catching up reads page after page. */
export const MAX_EVENTS_PER_READ = 1_000;
