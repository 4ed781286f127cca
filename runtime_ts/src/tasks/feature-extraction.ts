/**
 * Feature extraction: a port of `pool` (runtime_py/mbja_runtime/pipelines/feature_extraction.py).
 * Mean pooling averages every real token, [CLS] and [SEP] included (sentence-transformers' rule
 * with the attention mask); computed in double, returned as float32 as Python does.
 */
import { MbjaError } from '../errors.js';
import type { Matrix } from './results.js';

export const POOLINGS = ['cls', 'mean'] as const;
export type Pooling = (typeof POOLINGS)[number];

/** (tokens x hidden) -> (hidden): the [CLS] row or the mean of all rows, optionally L2-normalised. */
export function pool(hidden: Matrix, pooling: Pooling = 'cls', normalize = false): Float32Array {
  if (!(POOLINGS as readonly string[]).includes(pooling)) {
    throw new MbjaError(`unknown pooling '${pooling}'; choose one of: ${POOLINGS.join(', ')}`);
  }
  if (hidden.rows === 0) throw new MbjaError('hidden states must have at least one row');
  const d = hidden.cols;
  const v = new Float64Array(d);
  const rows = pooling === 'cls' ? 1 : hidden.rows;
  for (let r = 0; r < rows; r++) for (let j = 0; j < d; j++) v[j] += hidden.data[r * d + j];
  if (rows > 1) for (let j = 0; j < d; j++) v[j] /= rows;
  if (normalize) {
    let sq = 0;
    for (const x of v) sq += x * x;
    const norm = Math.sqrt(sq);
    if (norm > 0) for (let j = 0; j < d; j++) v[j] /= norm;
  }
  return Float32Array.from(v);
}
