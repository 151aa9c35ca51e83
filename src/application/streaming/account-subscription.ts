/**
 * One client's subscription to one account's events: every event after the id it resumes from,
 * in id order, exactly once, then live ones.
 *
 * Invariants:
 * - The subscription is registered with the hub before it reads storage (subscribe, then
 *   backfill), and every event is published only after it is durable, so an event is either in
 *   storage when read or published afterwards: there is no gap. Ids at or below the last one sent
 *   are dropped: there is no duplicate.
 * - Storage is the source of truth, memory only a shortcut. Live events that arrive while the
 *   subscription catches up wait in a small queue; if the queue overflows, or a live event is not
 *   the next id (another process wrote it, or a page was still being read), the subscription reads
 *   storage again from the last id sent.
 * - An id the log no longer holds (pruned, or the account was reset since) is answered with a
 *   `reset`, after which the subscription goes on from the account's latest id.
 * - Events read from storage are sent only once every commit submitted before the read is
 *   durable (`durable`): a read may see a commit whose flush is still under way.
 */
import type { EngineEvent } from '../../engine/engine.ts';
import type { EventStore } from '../storage.ts';
import type { StreamSink } from './stream-sink.ts';

/** Live events kept while catching up; past this, storage is read again instead. */
const LIVE_QUEUE_LIMIT = 1_000;
const PAGE_SIZE = 500;

export interface AccountSubscriptionOptions {
  accountId: string;
  /** The id to resume after; undefined starts at the account's latest event. */
  since: number | undefined;
  sink: StreamSink;
  store: EventStore;
  /** Resolves once every commit submitted so far is durable. */
  durable: () => Promise<void>;
  /** Called when a storage read fails: the subscription cannot keep its promise and must end. */
  onError: (error: unknown) => void;
}

export class AccountSubscription {
  readonly accountId: string;
  readonly #options: AccountSubscriptionOptions;
  #lastSent = 0;
  #catchingUp = true;
  #live: EngineEvent[] = [];
  #overflowed = false;
  /** A poke came while catching up: read once more before going live. */
  #poked = false;
  #stopped = false;

  constructor(options: AccountSubscriptionOptions) {
    this.accountId = options.accountId;
    this.#options = options;
  }

  /** The id of the last event sent. */
  get lastSent(): number {
    return this.#lastSent;
  }

  /** Announces the starting point, then catches up from storage. Resolves once live. */
  async start(): Promise<void> {
    const { accountId, since, store, sink } = this.#options;
    await this.#options.durable();
    const bounds = await store.eventBounds(accountId);
    // The latest id may be a commit still being flushed: announce it only once that is durable.
    await this.#options.durable();
    if (!bounds || this.#stopped) return;
    if (since === undefined) {
      this.#lastSent = bounds.last;
      sink.send({ kind: 'subscribed', accountId, lastId: bounds.last });
    } else if (since > bounds.last || (since < bounds.last && (bounds.oldest ?? Infinity) > since + 1)) {
      this.#lastSent = bounds.last;
      sink.send({ kind: 'subscribed', accountId, lastId: since });
      sink.send({
        kind: 'reset',
        accountId,
        oldestId: bounds.oldest,
        lastId: bounds.last,
        message:
          since > bounds.last
            ? `event ${since} is newer than the account's latest event ${bounds.last}: resynchronise through the REST API`
            : `events after ${since} are no longer kept: resynchronise through the REST API`,
      });
    } else {
      this.#lastSent = since;
      sink.send({ kind: 'subscribed', accountId, lastId: since });
    }
    await this.#catchUp();
  }

  /** Live events of this account, in id order, each already durable. */
  offer(events: readonly EngineEvent[]): void {
    if (this.#stopped) return;
    if (this.#catchingUp) {
      if (this.#overflowed) return;
      this.#live.push(...events);
      if (this.#live.length > LIVE_QUEUE_LIMIT) {
        this.#overflowed = true;
        this.#live = [];
      }
      return;
    }
    for (const [index, event] of events.entries()) {
      if (event.id <= this.#lastSent) continue;
      if (event.id !== this.#lastSent + 1) {
        // A gap: the missing ids are in storage (written through another path or process).
        this.#live = events.slice(index);
        this.#restartCatchUp();
        return;
      }
      if (!this.#options.sink.send({ kind: 'event', event })) {
        this.stop();
        return;
      }
      this.#lastSent = event.id;
    }
  }

  /** The account may have new events written elsewhere (another process): read storage. */
  poke(): void {
    if (this.#stopped) return;
    if (this.#catchingUp) this.#poked = true;
    else this.#restartCatchUp();
  }

  /** The account was reset: its log is gone, ids go on from its latest. */
  async resetNotice(): Promise<void> {
    const { accountId, store, sink } = this.#options;
    const bounds = await store.eventBounds(accountId);
    if (!bounds || this.#stopped) return;
    this.#lastSent = Math.max(this.#lastSent, bounds.last);
    sink.send({
      kind: 'reset',
      accountId,
      oldestId: bounds.oldest,
      lastId: this.#lastSent,
      message: 'the account was reset: resynchronise through the REST API',
    });
  }

  stop(): void {
    this.#stopped = true;
    this.#live = [];
  }

  #restartCatchUp(): void {
    this.#catchingUp = true;
    this.#catchUp().catch(this.#options.onError);
  }

  /** Reads storage from the last id sent until it is exhausted and the live queue follows on. */
  async #catchUp(): Promise<void> {
    const { accountId, store, sink } = this.#options;
    this.#catchingUp = true;
    while (!this.#stopped && !sink.closed) {
      const page = await store.readEvents(accountId, this.#lastSent, PAGE_SIZE);
      if (page.length > 0) await this.#options.durable();
      for (const event of page) {
        if (this.#stopped || sink.closed) return;
        if (event.id <= this.#lastSent) continue;
        if (!sink.isReady()) await sink.ready();
        if (this.#stopped || sink.closed) return;
        sink.send({ kind: 'event', event });
        this.#lastSent = event.id;
      }
      if (page.length === PAGE_SIZE) continue;
      // Storage is exhausted: hand over to the live queue, unless it lost events, or a poke came
      // during the read, or it does not follow on while storage still had events: what it lacks
      // is in storage by now. (With an empty read, ids missing before it are really gone.)
      if (this.#overflowed || this.#poked) {
        this.#overflowed = false;
        this.#poked = false;
        continue;
      }
      const queued = this.#live.filter((event) => event.id > this.#lastSent);
      this.#live = [];
      const first = queued[0];
      if (first && first.id !== this.#lastSent + 1) {
        if (page.length > 0) continue;
        this.#lastSent = first.id - 1;
      }
      this.#catchingUp = false;
      this.offer(queued);
      return;
    }
  }
}
