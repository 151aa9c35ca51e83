import type { IdentityService } from '../../../application/identity-service.ts';
import { PublicRoutes } from '../../../contract/public-routes.ts';
import { bearerToken } from '../bearer-token.ts';
import type { TypedApp } from '../typed-app.ts';

export function authRoutes(app: TypedApp, identity: IdentityService): void {
  app.route({
    ...PublicRoutes.logout,
    handler: async (request) => {
      const token = bearerToken(request);
      if (token) await identity.revokeToken(token);
      return { code: 'ok' as const };
    },
  });
}
