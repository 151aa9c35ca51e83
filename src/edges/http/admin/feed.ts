/**
 * The market data feed: its status, pause and resume, and stepping a paused replay. With the
 * manual feed (no feed object) the status is a running "manual" feed that can do none of these.
 */
import { AppError, invalid } from '../../../application/errors.ts';
import type { Feed, FeedStatus } from '../../../application/ports.ts';
import type { TradingService } from '../../../application/trading-service.ts';
import { AdminRoutes } from '../../../contract/admin-routes.ts';
import type { TypedApp } from '../typed-app.ts';

export function feedRoutes(app: TypedApp, trading: TradingService, feed: Feed | undefined): void {
  const feedStatus = (): FeedStatus => feed?.status() ?? { name: 'manual', state: 'running', detail: {} };

  app.route({
    ...AdminRoutes.feed,
    handler: async () => ({ code: 'ok' as const, data: feedStatus() }),
  });

  for (const [spec, action] of [
    [AdminRoutes.pauseFeed, 'pause'],
    [AdminRoutes.resumeFeed, 'resume'],
  ] as const) {
    app.route({
      ...spec,
      handler: async () => {
        const control = feed?.[action];
        if (!feed || !control) throw invalid(`the ${feedStatus().name} feed cannot ${action}`);
        control.call(feed);
        return { code: 'ok' as const, data: feedStatus() };
      },
    });
  }

  app.route({
    ...AdminRoutes.stepFeed,
    handler: async (request) => {
      const { quotes, seconds } = request.body;
      if ((quotes === undefined) === (seconds === undefined)) {
        throw invalid('give either quotes (how many quotes) or seconds (how much data time) to step');
      }
      if (seconds !== undefined && Math.round(seconds * 1000) < 1) {
        throw invalid('seconds must be at least 0.001: the replay steps in whole milliseconds');
      }
      const step = feed?.step;
      if (!feed || !step) {
        throw new AppError('feed_state', `the ${feedStatus().name} feed cannot step: only a replay can`);
      }
      const outcome = await step.call(feed, quotes === undefined ? { seconds: seconds ?? 0 } : { quotes });
      if ('refused' in outcome) throw new AppError('feed_state', outcome.refused);
      // Expirations and stop-outs run at the clock the step moved to, before the reply.
      await trading.tick();
      return { code: 'ok' as const, data: { ...feedStatus(), delivered: outcome.delivered } };
    },
  });
}
