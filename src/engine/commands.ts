/**
 * The commands the engine handles (imperative: place, modify, cancel, close, adjust, update) and
 * what handling one returns. A command either applies completely or not at all.
 */
import type { ChangeSet } from './change-set.ts';
import type { Money, Price, Quantity } from './decimal.ts';
import type { AccountStatus, ClientOrderType, Side } from './model.ts';
import type { Rejection } from './rejection.ts';

export type PlaceOrder = {
  kind: 'place_order';
  accountId: string;
  ticker: string;
  side: Side;
  type: ClientOrderType;
  volume: Quantity;
  price: Price | null;
  expiration: number;
  stopLoss: Price | null;
  takeProfit: Price | null;
};
/** Absent fields stay as they are; a stop loss or take profit of 0 clears it. */
export type ModifyOrder = {
  kind: 'modify_order';
  accountId: string;
  orderId: string;
  volume?: Quantity;
  price?: Price;
  expiration?: number;
  stopLoss?: Price;
  takeProfit?: Price;
};
export type CancelOrder = { kind: 'cancel_order'; accountId: string; orderId: string };
export type ModifyDeal = {
  kind: 'modify_deal';
  accountId: string;
  dealId: string;
  stopLoss?: Price;
  takeProfit?: Price;
};
export type CloseDeal = { kind: 'close_deal'; accountId: string; dealId: string };
export type AdjustBalance = { kind: 'adjust_balance'; accountId: string; amount: Money; comment: string };
export type UpdateAccount = {
  kind: 'update_account';
  accountId: string;
  name?: string;
  status?: AccountStatus;
};
export type Command =
  PlaceOrder | ModifyOrder | CancelOrder | ModifyDeal | CloseDeal | AdjustBalance | UpdateAccount;

export type CommandResult =
  | { ok: true; orderId?: string; balance?: Money; changes: ChangeSet }
  | { ok: false; rejection: Rejection; changes: ChangeSet };

/** What a command handler returns: a rejection, or the ids and figures the caller reports. */
export type CommandOutcome = Rejection | { orderId?: string; balance?: Money } | undefined;
