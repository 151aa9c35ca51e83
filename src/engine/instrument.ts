/**
 * Instrument trading conditions, with per-account overrides applied on top of the catalogue.
 */
import { PRICE_DECIMALS, decimalsOf, fromScaled, type Price } from './decimal.ts';
import type { ConditionOverrides, Instrument, TradingConditions } from './model.ts';

export function effectiveConditions(
  instrument: Instrument,
  overrides: ConditionOverrides | undefined,
): TradingConditions {
  return {
    minVolume: overrides?.minVolume ?? instrument.minVolume,
    maxVolume: overrides?.maxVolume ?? instrument.maxVolume,
    volumeStep: overrides?.volumeStep ?? instrument.volumeStep,
    minTick: overrides?.minTick ?? instrument.minTick,
    leverage: overrides?.leverage ?? instrument.leverage,
    tradeMode: overrides?.tradeMode ?? instrument.tradeMode,
  };
}

/** Decimal places per minimum tick: a few distinct ticks, asked for by every fill's rule text. */
const TICK_DECIMALS = new Map<number, number>();

/** Decimal places the instrument's prices are shown with. */
export function priceDecimals(instrument: Instrument): number {
  let decimals = TICK_DECIMALS.get(instrument.minTick);
  if (decimals === undefined) {
    decimals = decimalsOf(instrument.minTick, PRICE_DECIMALS);
    TICK_DECIMALS.set(instrument.minTick, decimals);
  }
  return decimals;
}

/** A price as the wire shows it, e.g. in rejection messages. */
export function formatPrice(price: Price, instrument: Instrument): string {
  return fromScaled(price, PRICE_DECIMALS).toFixed(Math.max(priceDecimals(instrument), 0));
}
