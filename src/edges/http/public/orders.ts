import type { TradingService } from '../../../application/trading-service.ts';
import { PublicRoutes } from '../../../contract/public-routes.ts';
import { orderToWire } from '../wire-format.ts';
import { listQueryInput, orderChangesInput, placeOrderInput } from '../wire-input.ts';
import type { TypedApp } from '../typed-app.ts';

export function orderRoutes(app: TypedApp, trading: TradingService): void {
  app.route({
    ...PublicRoutes.orders,
    handler: async (request) => {
      const query = listQueryInput(request.query);
      const orders = await trading.listOrders(request.userId, request.params.account_id, query);
      return { code: 'ok' as const, data: orders.map(orderToWire) };
    },
  });

  app.route({
    ...PublicRoutes.placeOrder,
    handler: async (request) => {
      const input = placeOrderInput(request.body);
      const orderId = await trading.placeOrder(request.userId, request.params.account_id, input);
      return { code: 'ok' as const, data: { order_id: orderId } };
    },
  });

  app.route({
    ...PublicRoutes.modifyOrder,
    handler: async (request) => {
      const { account_id, order_id } = request.params;
      await trading.modifyOrder(request.userId, account_id, order_id, orderChangesInput(request.body));
      return { code: 'ok' as const };
    },
  });

  app.route({
    ...PublicRoutes.cancelOrder,
    handler: async (request) => {
      await trading.cancelOrder(request.userId, request.params.account_id, request.params.order_id);
      return { code: 'ok' as const };
    },
  });
}
