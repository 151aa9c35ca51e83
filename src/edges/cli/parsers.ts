/**
 * Command-line value parsers, shared by `serve`, `admin` and `migrate`. Each takes the raw text of a
 * flag, an argument or an environment variable and returns the value, or throws commander's
 * InvalidArgumentError, whose message commander prints after the flag's name.
 */
import { InvalidArgumentError } from 'commander';

export function integer(min: number, max: number) {
  return (value: string): number => {
    if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) {
      throw new InvalidArgumentError(`must be a whole number from ${min} to ${max}`);
    }
    return Number(value);
  };
}

export function positiveNumber(value: string): number {
  const number = Number(value);
  if (!/^\d+(\.\d+)?$/.test(value) || !(number > 0))
    throw new InvalidArgumentError('must be a positive number');
  return number;
}

export function nonNegativeNumber(value: string): number {
  const number = Number(value);
  if (!/^\d+(\.\d+)?$/.test(value) || !Number.isFinite(number))
    throw new InvalidArgumentError('must be a number ≥ 0');
  return number;
}

export function list(value: string): string[] {
  const items = value
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
  if (items.length === 0) throw new InvalidArgumentError('must name at least one item');
  return items;
}

export function nonEmpty(value: string): string {
  if (value.trim() === '') throw new InvalidArgumentError('must not be empty');
  return value;
}

export function decimal(value: string): number {
  const number = Number(value);
  if (!/^-?\d+(\.\d+)?$/.test(value) || !Number.isFinite(number))
    throw new InvalidArgumentError('must be a decimal number');
  return number;
}

/** A time as Unix seconds (`1795000000`, `1795000000.5`) or ISO 8601 with a zone (`2026-11-26T14:30:00Z`); in milliseconds. */
export function time(value: string): number {
  const ms = /^\d+(\.\d+)?$/.test(value)
    ? Number(value) * 1000
    : /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2}))?$/.test(value)
      ? Date.parse(value)
      : NaN;
  if (!Number.isFinite(ms) || ms > 1e14)
    throw new InvalidArgumentError(
      'must be Unix seconds (1795000000) or an ISO 8601 time with its zone (2026-11-26T14:30:00Z)',
    );
  return Math.round(ms);
}
