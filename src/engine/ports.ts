/**
 * What the engine takes from outside: ids. Time comes in as the `now` argument of every call
 * (Unix seconds), so the same inputs always give the same outputs.
 */
export interface IdSource {
  nextOrderId(): string;
  nextDealId(): string;
}
