import type { TradingService } from '../../../application/trading-service.ts';
import { PublicRoutes } from '../../../contract/public-routes.ts';
import { dealToWire } from '../wire-format.ts';
import { dealChangesInput, listQueryInput } from '../wire-input.ts';
import type { TypedApp } from '../typed-app.ts';

export function dealRoutes(app: TypedApp, trading: TradingService): void {
  app.route({
    ...PublicRoutes.deals,
    handler: async (request) => {
      const query = listQueryInput(request.query);
      const deals = await trading.listDeals(request.userId, request.params.account_id, query);
      return { code: 'ok' as const, data: deals.map(dealToWire) };
    },
  });

  app.route({
    ...PublicRoutes.modifyDeal,
    handler: async (request) => {
      const { account_id, deal_id } = request.params;
      await trading.modifyDeal(request.userId, account_id, deal_id, dealChangesInput(request.body));
      return { code: 'ok' as const };
    },
  });

  app.route({
    ...PublicRoutes.closeDeal,
    handler: async (request) => {
      await trading.closeDeal(request.userId, request.params.account_id, request.params.deal_id);
      return { code: 'ok' as const };
    },
  });
}
