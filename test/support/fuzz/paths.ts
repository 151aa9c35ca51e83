/** Paths from the contract's route tables, parameters left as given (hostile text included). */
import { PUBLIC_PREFIX } from '../../../src/contract/public-routes.ts';
import { ADMIN_PREFIX } from '../../../src/contract/admin-routes.ts';
import { EXT_PREFIX } from '../../../src/contract/ext-routes.ts';
import { STREAM_PREFIX } from '../../../src/contract/stream-routes.ts';
import { fillPath, type PathParams, type RouteSpec } from '../../../src/contract/route-spec.ts';

export const pub = <R extends RouteSpec>(route: R, params: PathParams<R>): string =>
  fillPath(PUBLIC_PREFIX, route, params);
export const adm = <R extends RouteSpec>(route: R, params: PathParams<R>): string =>
  fillPath(ADMIN_PREFIX, route, params);
export const ext = <R extends RouteSpec>(route: R, params: PathParams<R>): string =>
  fillPath(EXT_PREFIX, route, params);
export const stream = <R extends RouteSpec>(route: R, params: PathParams<R>): string =>
  fillPath(STREAM_PREFIX, route, params);
