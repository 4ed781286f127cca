/**
 * Sequence classification: a port of `score_function` and `decode_labels`
 * (runtime_py/mbja_runtime/pipelines/text_classification.py).
 */
import { MbjaError } from '../errors.js';
import { positiveInteger, softmax } from './numeric.js';
import type { Label } from './results.js';

export type ScoreFunction = 'softmax' | 'sigmoid';

/** transformers' rule: sigmoid for multi-label or single-output checkpoints (config.json), else softmax. */
export function scoreFunction(config: Record<string, unknown>): ScoreFunction {
  if (config.problem_type === 'multi_label_classification' || config.num_labels === 1) return 'sigmoid';
  const id2label = config.id2label;
  if (typeof id2label === 'object' && id2label !== null && Object.keys(id2label).length === 1) return 'sigmoid';
  return 'softmax';
}

/** Labels best first (the lower id first on ties); `topK` null = every label. */
export function decodeLabels(logits: ArrayLike<number>, labels: readonly string[] | null, topK: number | null = 1,
  fn: ScoreFunction = 'softmax'): Label[] {
  let scores: ArrayLike<number>;
  if (fn === 'softmax') scores = softmax(logits);
  else if (fn === 'sigmoid') scores = Float64Array.from(logits, (x) => 1 / (1 + Math.exp(-x)));
  else throw new MbjaError(`unknown score function '${fn}' (softmax or sigmoid)`);
  const k = topK === null ? scores.length : positiveInteger(topK, 'topK');
  const order = Array.from({ length: scores.length }, (_, i) => i).sort((a, b) => scores[b] - scores[a]); // stable
  return order.slice(0, k).map((i) => ({ label: labels?.[i] ?? `LABEL_${i}`, score: scores[i] }));
}
