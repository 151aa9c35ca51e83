import type { ClockControl } from '../../../application/clock-control.ts';
import { AdminRoutes } from '../../../contract/admin-routes.ts';
import { clockTargetInput } from '../wire-input.ts';
import type { TypedApp } from '../typed-app.ts';

/** The server clock: real, manual (frozen) or running at a speed. */
export function clockRoutes(app: TypedApp, clock: ClockControl): void {
  app.route({
    ...AdminRoutes.clock,
    handler: async () => ({ code: 'ok' as const, data: clock.view() }),
  });

  app.route({
    ...AdminRoutes.setClock,
    handler: async (request) => {
      await clock.set(clockTargetInput(request.body));
      return { code: 'ok' as const, data: clock.view() };
    },
  });

  app.route({
    ...AdminRoutes.advanceClock,
    handler: async (request) => {
      await clock.advance(Math.round(request.body.seconds * 1000));
      return { code: 'ok' as const, data: clock.view() };
    },
  });
}
