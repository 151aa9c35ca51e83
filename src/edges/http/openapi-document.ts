/**
 * The OpenAPI document (`/openapi.json`) and its docs page (`/docs`), generated from the routes'
 * TypeBox schemas; routes marked `hide` (the operational ones) stay out of it.
 */
import type { FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';

/** Registers the generator; must come before the routes it documents. */
export async function registerOpenApi(app: FastifyInstance, version: string): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'StocksTrader REST API (stockstrader-server)',
        version: '0.12.1',
        description: `Wire-compatible implementation of the StocksTrader REST API 0.12.1, served by stockstrader-server ${version}.`,
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
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
}
