import { invalid } from '../../../application/errors.ts';
import { parseMoney } from '../../../application/parse-input.ts';
import type { TradingService } from '../../../application/trading-service.ts';
import { AdminRoutes } from '../../../contract/admin-routes.ts';
import { accountStateToWire, adminAccountToWire, fillToWire, ledgerToWire } from '../wire-format.ts';
import { pageInput } from '../wire-input.ts';
import type { TypedApp } from '../typed-app.ts';

/** Accounts: creation, details, status, balance, and their ledger and fills. */
export function accountRoutes(app: TypedApp, trading: TradingService): void {
  app.route({
    ...AdminRoutes.createAccount,
    handler: async (request) => {
      const body = request.body;
      const account = await trading.createAccount({
        userId: body.user_id,
        name: body.name,
        type: body.type,
        system: body.system,
        currency: body.currency,
        balance: body.balance === undefined ? 0 : parseMoney('balance', body.balance),
      });
      return { code: 'ok' as const, data: { id: account.id } };
    },
  });

  app.route({
    ...AdminRoutes.account,
    handler: async (request) => {
      const book = trading.requireBook(null, request.params.account_id);
      const state = accountStateToWire(trading.accountState(null, book.account.id));
      return { code: 'ok' as const, data: { account: adminAccountToWire(book.account), state } };
    },
  });

  app.route({
    ...AdminRoutes.updateAccount,
    handler: async (request) => {
      const { name, status } = request.body;
      if (name === undefined && status === undefined) throw invalid('nothing to change: give name or status');
      await trading.updateAccount(request.params.account_id, {
        ...(name === undefined ? {} : { name }),
        ...(status === undefined ? {} : { status }),
      });
      return { code: 'ok' as const };
    },
  });

  app.route({
    ...AdminRoutes.adjustBalance,
    handler: async (request) => {
      const amount = parseMoney('amount', request.body.amount);
      const comment = request.body.comment ?? (amount >= 0 ? 'deposit' : 'withdrawal');
      const balance = await trading.adjustBalance(request.params.account_id, amount, comment);
      return { code: 'ok' as const, data: { balance: balance / 100 } };
    },
  });

  app.route({
    ...AdminRoutes.ledger,
    handler: async (request) => {
      const entries = await trading.listLedger(request.params.account_id, pageInput(request.query));
      return { code: 'ok' as const, data: entries.map(ledgerToWire) };
    },
  });

  app.route({
    ...AdminRoutes.fills,
    handler: async (request) => {
      const fills = await trading.listFills(request.params.account_id, pageInput(request.query));
      return { code: 'ok' as const, data: fills.map(fillToWire) };
    },
  });
}
