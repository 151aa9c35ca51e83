import type { IdentityService } from '../../../application/identity-service.ts';
import { AdminRoutes } from '../../../contract/admin-routes.ts';
import type { TypedApp } from '../typed-app.ts';

/** Users and their bearer tokens. */
export function userRoutes(app: TypedApp, identity: IdentityService): void {
  app.route({
    ...AdminRoutes.createUser,
    handler: async (request) => ({
      code: 'ok' as const,
      data: { user_id: await identity.createUser(request.body.name) },
    }),
  });

  app.route({
    ...AdminRoutes.issueToken,
    handler: async (request) => {
      const { token, tokenId } = await identity.issueToken(request.params.user_id);
      return { code: 'ok' as const, data: { token, token_id: tokenId } };
    },
  });

  app.route({
    ...AdminRoutes.revokeTokenById,
    handler: async (request) => {
      await identity.revokeTokenById(request.params.user_id, request.params.token_id);
      return { code: 'ok' as const };
    },
  });

  app.route({
    ...AdminRoutes.revokeToken,
    handler: async (request) => {
      await identity.revokeToken(request.body.token);
      return { code: 'ok' as const };
    },
  });
}
