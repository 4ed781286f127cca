/**
 * Option objects as JavaScript callers pass them: untyped. `undefined` or `null` means no options;
 * anything but a plain object, or a name the call does not know (a typo that TypeScript would have
 * caught), is an MbjaError naming the known ones, as the Python pipelines' `check_options` refuses
 * them; a call never silently ignores what it was told.
 */
import { MbjaError } from './errors.js';

export function checkOptions<T extends object>(options: T | null | undefined, known: readonly string[], what: string): T {
  if (options === undefined || options === null) return {} as T;
  if (typeof options !== 'object' || Array.isArray(options)) {
    throw new MbjaError(`the options of ${what} must be an object, not ${describe(options)}`);
  }
  const unknown = Object.keys(options).filter((k) => !known.includes(k));
  if (unknown.length > 0) {
    throw new MbjaError(`unknown option(s) ${unknown.sort().join(', ')} for ${what}; known: ${known.join(', ')}`);
  }
  return options;
}

/** A value as messages show it: strings quoted (`'2'` is not 2), arrays and objects as JSON. */
export function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint' ||
    value === null || value === undefined) return String(value);
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}
