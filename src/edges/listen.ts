/** Listens on the configured address; the usual reasons it cannot become start-up refusals. */
import type { FastifyInstance } from 'fastify';
import { StartupError } from './startup-error.ts';

/** Resolves with the address listened on; on failure the app is closed. */
export async function listenOrRefuse(
  app: FastifyInstance,
  { port, host }: { port: number; host: string },
): Promise<string> {
  try {
    return await app.listen({ port, host });
  } catch (error) {
    await app.close();
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') throw new StartupError(`port ${port} on ${host} is already in use`);
    if (code === 'EACCES') throw new StartupError(`no permission to listen on ${host}:${port}`);
    if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND')
      throw new StartupError(`cannot listen on host ${host}`);
    throw error;
  }
}
