/**
 * Builds the market data feed the configuration names, refusing with a StartupError a feed that
 * lacks what it needs (replay files that exist, upstream URL, token, account and known tickers).
 * The manual feed is no feed: quotes arrive only through the admin API.
 */
import { existsSync } from 'node:fs';
import type { Logger } from 'pino';
import type { ControllableClock } from '../adapters/clock/controllable-clock.ts';
import { ReplayFeed } from '../adapters/feeds/replay-feed.ts';
import { SimulatorFeed, type MarketHours } from '../adapters/feeds/simulator-feed.ts';
import { simulatedHistory } from '../adapters/feeds/simulator-history.ts';
import { UpstreamFeed } from '../adapters/feeds/upstream-feed.ts';
import type { Feed } from '../application/ports.ts';
import type { Engine } from '../engine/engine.ts';
import { isMarketOpen } from '../engine/calendar/trading-calendar.ts';
import type { ServerConfig } from './config.ts';
import { StartupError } from './startup-error.ts';

export function createFeed(
  config: ServerConfig,
  { engine, clock, logger }: { engine: Engine; clock: ControllableClock; logger: Logger },
): Feed | undefined {
  switch (config.feed) {
    case 'manual':
      return undefined;
    case 'sim': {
      const isOpen: MarketHours = (instrument, now) =>
        config.marketHours === 'ignore' || isMarketOpen(instrument.calendar, now);
      return new SimulatorFeed({
        instruments: engine.instruments(),
        clock,
        seed: config.seed,
        initialQuotes: new Map(engine.allQuotes().map((quote) => [quote.ticker, quote])),
        isOpen,
        timeAcceleration: config.simulatorSpeed,
        // A fresh database starts with a day of candles to chart (docs/candles.md).
        history: (opening, endSeconds) =>
          simulatedHistory(opening, {
            seed: config.seed,
            endSeconds,
            isOpen,
            timeAcceleration: config.simulatorSpeed,
          }),
        onError: (error) => logger.error({ err: error }, 'simulator step failed'),
      });
    }
    case 'replay':
      if (config.replay.files.length === 0)
        throw new StartupError('--feed replay needs --replay-file <file.csv>[,more.csv]');
      for (const file of config.replay.files) {
        if (!existsSync(file)) throw new StartupError(`replay file ${file} does not exist`);
      }
      try {
        return new ReplayFeed({
          files: config.replay.files,
          instruments: (ticker) => engine.instrument(ticker),
          clock,
          speed: config.replay.speed,
          onMalformed: config.replay.onMalformed,
          start: config.replay.start,
          logger,
        });
      } catch (error) {
        throw new StartupError((error as Error).message);
      }
    case 'upstream': {
      const { url, token, account, watch, requestsPerSecond } = config.upstream;
      if (!url || !token || !account || watch.length === 0) {
        throw new StartupError(
          '--feed upstream needs --upstream-url, --upstream-token (or --upstream-token-file), --upstream-account and --watch',
        );
      }
      const unknown = watch.filter((ticker) => !engine.instrument(ticker));
      if (unknown.length > 0)
        throw new StartupError(`--watch names unknown instruments: ${unknown.join(', ')}`);
      return new UpstreamFeed({
        baseUrl: url,
        token,
        accountId: account,
        watch,
        requestsPerSecond,
        clock,
        logger,
      });
    }
  }
}
