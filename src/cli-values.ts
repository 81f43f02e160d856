/** Parsers of option values shared by the command lines (commander's argParser); each throws commander's InvalidArgumentError. */
import { InvalidArgumentError } from 'commander';
import { RECORD_TYPES, type RecordType } from './records/types.js';

export function positiveNumber(value: string): number {
  const number = Number(value);
  if (!Number.isFinite(number) || number <= 0) throw new InvalidArgumentError('must be a positive number');
  return number;
}

export function positiveInteger(value: string): number {
  const number = positiveNumber(value);
  if (!Number.isInteger(number)) throw new InvalidArgumentError('must be a positive integer');
  return number;
}

/** Repeatable, and each value may be a comma-separated list. */
export function collectList(value: string, previous: string[]): string[] {
  return [
    ...previous,
    ...value
      .split(',')
      .map((item) => item.trim())
      .filter(Boolean),
  ];
}

/** Record types, repeatable and comma-separated. */
export function collectTypes(value: string, previous: RecordType[]): RecordType[] {
  return [
    ...previous,
    ...collectList(value, []).map((item) => {
      if (!(RECORD_TYPES as readonly string[]).includes(item)) throw new InvalidArgumentError(`${item} is not one of ${RECORD_TYPES.join(', ')}`);
      return item as RecordType;
    }),
  ];
}
