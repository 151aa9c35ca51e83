/**
 * Builds the HTTP application from its dependencies. It reads no environment and listens on
 * nothing: `main` does that, tests use `app.inject()` or listen on a random port.
 */
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TSchema } from '@sinclair/typebox';
import type { IdentityService } from '../../application/identity-service.ts';
import type { TradingService } from '../../application/trading-service.ts';
import type { ControllableClock } from '../../adapters/clock/controllable-clock.ts';
import type { Feed } from '../../application/ports.ts';
import { BODY_LIMIT_BYTES, installBodyParsing } from './body-parsing.ts';
import { installErrorHandling } from './error-handling.ts';
import { coerceNumericFields } from './request-coercion.ts';
import { publicRoutes } from './public-routes.ts';
import { adminRoutes } from './admin-routes.ts';

export interface AppDependencies {
  trading: TradingService;
  identity: IdentityService;
  clock: ControllableClock;
  feed: Feed | undefined;
  logger: FastifyBaseLogger;
  version: string;
}

export async function buildApp(deps: AppDependencies): Promise<FastifyInstance> {
  let requestCounter = 0;
  const app = Fastify({
    loggerInstance: deps.logger,
    bodyLimit: BODY_LIMIT_BYTES,
    requestIdHeader: 'x-request-id',
    genReqId: () => `req-${(++requestCounter).toString(36)}`,
    requestTimeout: 30_000,
    return503OnClosing: true,
    routerOptions: { maxParamLength: 200, ignoreTrailingSlash: true },
    ajv: {
      customOptions: { coerceTypes: false, removeAdditional: false, useDefaults: true, allErrors: false },
    },
  });

  installBodyParsing(app);
  installErrorHandling(app);

  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });
  app.addHook('preValidation', async (request) => {
    const schema = request.routeOptions.schema;
    if (!schema) return;
    coerceNumericFields(request.query, schema.querystring as TSchema | undefined);
    // An empty body on a route with a body schema is an empty form, not a missing object.
    if (schema.body && (request.body === undefined || request.body === null)) request.body = {};
    coerceNumericFields(request.body, schema.body as TSchema | undefined);
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'StocksTrader REST API (stockstrader-server)',
        version: '0.12.1',
        description: `Wire-compatible implementation of the StocksTrader REST API 0.12.1, served by stockstrader-server ${deps.version}.`,
      },
      components: {
        securitySchemes: {
          bearerAuth: {
            type: 'http',
            scheme: 'bearer',
            description: 'A user token issued through the admin API.',
          },
          adminAuth: { type: 'http', scheme: 'bearer', description: 'The admin token.' },
        },
      },
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  await app.register((scope) => publicRoutes(scope, deps), { prefix: '/api/v1' });
  await app.register((scope) => adminRoutes(scope, deps), { prefix: '/admin/v1' });

  app.get('/healthz', { schema: { hide: true } }, async () => ({ code: 'ok', status: 'live' }));
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  return app;
}
