/**
 * Whether this process should get traffic (`/readyz`), and if not why. Not while starting: until
 * the feed's first quotes are in (Leadership.firstQuotes), so no client sees an instrument
 * unquoted; not from the moment shutdown begins; not while the feed is failing or has failed. A
 * failed commit is checked by the route itself (health-routes.ts).
 */
import type { Feed } from '../application/ports.ts';

export class Readiness {
  readonly #feed: Feed | undefined;
  #starting = true;
  #closing = false;

  constructor(feed: Feed | undefined) {
    this.#feed = feed;
  }

  started(): void {
    this.#starting = false;
  }

  closing(): void {
    this.#closing = true;
  }

  /** Why this process is not ready; undefined when it is. */
  notReady(): string | undefined {
    if (this.#closing) return 'shutting down';
    if (this.#starting) return "starting: waiting for the feed's first quotes";
    const status = this.#feed?.status();
    if (status?.state === 'failing' || status?.state === 'failed') {
      const lastError = status.detail.last_error;
      return `the ${status.name} feed is ${status.state}${lastError ? `: ${String(lastError)}` : ''}`;
    }
    return undefined;
  }
}
