/**
 * Fill-mask: a port of `decode_masks` (runtime_py/mbja_runtime/pipelines/fill_mask.py). One list
 * per [MASK] (a list of lists even for one mask: a stable type); each candidate's `sequence` is the
 * ORIGINAL text with that [MASK] replaced, where transformers decodes ids and puts spaces between
 * Japanese words.
 */
import { positiveInteger, softmax, topIndices } from './numeric.js';
import type { Filler, Matrix, Offset } from './results.js';

/** Per [MASK] of the encoding (vocabulary logits, one row per token): the `topK` best candidates. */
export function decodeMasks(logits: Matrix, inputIds: readonly number[], offsets: readonly Offset[], text: string,
  maskId: number, idToToken: (id: number) => string, topK = 5): Filler[][] {
  positiveInteger(topK, 'topK');
  const out: Filler[][] = [];
  inputIds.forEach((id, i) => {
    const span = offsets[i];
    if (id !== maskId || span === null) return;
    const probs = softmax(logits.data, i * logits.cols, logits.cols);
    out.push(topIndices(probs, topK).map((j) => {
      const token = idToToken(j);
      const filled = token.startsWith('##') ? token.slice(2) : token;
      return { token: j, token_str: token, score: probs[j], sequence: text.slice(0, span[0]) + filled + text.slice(span[1]) };
    }));
  });
  return out;
}
