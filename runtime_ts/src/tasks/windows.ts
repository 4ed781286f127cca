/**
 * Sliding windows over a token sequence longer than the model takes: a port of
 * runtime_py/mbja_runtime/pipelines/windows.py and the Kotlin `Windows`. The content tokens
 * (between [CLS] and [SEP]) are covered by overlapping windows of the largest length the model
 * takes; each token keeps the prediction of the window in which it has the most context on both
 * sides (the SQuAD rule). Long texts are never cut.
 */
import { MbjaError } from '../errors.js';
import { describe } from '../options.js';
import type { Matrix } from './results.js';

/** Overlap between neighbouring windows, in tokens (capped at half a window for short models). */
export const DEFAULT_STRIDE = 32;

export function defaultStride(maxLength: number): number {
  return Math.min(DEFAULT_STRIDE, Math.floor((maxLength - 2) / 2));
}

/** A stride windows of `size` content tokens can take (checked before any text, whatever its length). */
export function checkStride(stride: unknown, size: number): number {
  if (size < 1) throw new MbjaError('the model takes no content tokens (max length < 3)');
  if (typeof stride !== 'number' || !Number.isInteger(stride) || stride < 0 || stride >= size) {
    throw new MbjaError(`stride must be an integer >= 0 and < the window's ${size} content tokens, not ${describe(stride)}`);
  }
  return stride;
}

/** Starts of windows of `size` tokens covering `n` tokens, overlapping by at least `stride`; the last ends at `n`. */
export function windowStarts(n: number, size: number, stride: number): number[] {
  checkStride(stride, size);
  if (n <= size) return [0];
  const starts: number[] = [];
  for (let s = 0; s < n - size; s += size - stride) starts.push(s);
  starts.push(n - size);
  return starts;
}

/** For each of `n` tokens, the window where it is farthest from an edge (the earliest on ties). */
export function bestWindow(n: number, size: number, starts: readonly number[]): number[] {
  return Array.from({ length: n }, (_, i) => {
    let best = 0;
    let bestContext = -Infinity;
    starts.forEach((s, w) => {
      const context = i >= s && i < s + size ? Math.min(i - s, s + size - 1 - i) : -1;
      if (context > bestContext) {
        bestContext = context;
        best = w;
      }
    });
    return best;
  });
}

/**
 * Token-level output for `[CLS] content [SEP]` `ids` of any length. `run` runs the model on one
 * window (starting with [CLS], ending with [SEP]) and returns one row per token. Rows 0 and last
 * come from the first and the last window.
 */
export async function windowed(ids: readonly number[], maxLength: number, stride: number,
  run: (window: number[]) => Promise<Matrix>): Promise<Matrix> {
  if (ids.length <= maxLength) return run([...ids]);
  const cls = ids[0];
  const sep = ids[ids.length - 1];
  const content = ids.slice(1, -1);
  const size = maxLength - 2;
  const starts = windowStarts(content.length, size, stride);
  const outs: Matrix[] = [];
  for (const s of starts) {
    const out = await run([cls, ...content.slice(s, s + size), sep]);
    if (out.rows !== size + 2) throw new MbjaError(`windows need token-level output, got ${out.rows} rows for ${size + 2} tokens`);
    outs.push(out);
  }
  const cols = outs[0].cols;
  const data = new Float32Array(ids.length * cols);
  const copyRow = (from: Matrix, row: number, to: number) => {
    for (let c = 0; c < cols; c++) data[to * cols + c] = from.data[row * cols + c];
  };
  copyRow(outs[0], 0, 0);
  bestWindow(content.length, size, starts).forEach((w, i) => copyRow(outs[w], 1 + i - starts[w], 1 + i));
  const last = outs[outs.length - 1];
  copyRow(last, last.rows - 1, ids.length - 1);
  return { data, rows: ids.length, cols };
}
