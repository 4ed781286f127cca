/** The numerics every decoder shares, in double precision as NumPy computes them in the Python pipelines. */
import { MbjaError } from '../errors.js';
import { describe } from '../options.js';

/** Softmax of `n` values of `x` from `from` (NumPy's max-shifted form). */
export function softmax(x: ArrayLike<number>, from = 0, n = x.length - from): Float64Array {
  let max = -Infinity;
  for (let j = 0; j < n; j++) max = Math.max(max, x[from + j]);
  const e = new Float64Array(n);
  let sum = 0;
  for (let j = 0; j < n; j++) {
    e[j] = Math.exp(x[from + j] - max);
    sum += e[j];
  }
  for (let j = 0; j < n; j++) e[j] /= sum;
  return e;
}

/** Index of the first maximum (NumPy's argmax). */
export function argmax(x: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < x.length; i++) if (x[i] > x[best]) best = i;
  return best;
}

/** Indices of the `k` largest values, best first, the lower index first on ties (NumPy's stable argsort of -x). */
export function topIndices(x: ArrayLike<number>, k: number): number[] {
  const top: number[] = [];
  for (let i = 0; i < x.length; i++) {
    if (top.length === k && x[i] <= x[top[k - 1]]) continue;
    let at = top.length;
    while (at > 0 && x[i] > x[top[at - 1]]) at--;
    top.splice(at, 0, i);
    if (top.length > k) top.pop();
  }
  return top;
}

/** `k` when it is a positive integer; an MbjaError naming `what` otherwise (Python refuses the same values). */
export function positiveInteger(k: unknown, what: string): number {
  if (typeof k !== 'number' || !Number.isInteger(k) || k < 1) throw new MbjaError(`${what} must be a positive integer, not ${describe(k)}`);
  return k;
}
