/**
 * One inference runtime behind the SDK: token arrays in, the model's float32 output out, for a
 * batch of equally long sequences (the contract of `Backend.run` in runtime_py/mbja_runtime/backends.py
 * and of the Kotlin `Engine`, with a batch axis). Engines are asynchronous because onnxruntime-web
 * is; whoever creates one disposes of it.
 */

import { MbjaError } from '../errors.js';
import { describe } from '../options.js';

/** The engines this runtime drives. */
export const ENGINE_BACKENDS = ['onnxruntime-node', 'onnxruntime-web'] as const;
export type EngineBackend = (typeof ENGINE_BACKENDS)[number];

/**
 * Most intra-op threads one may ask for: each is an OS thread (or a WASM worker) with its own
 * buffers, and a typo such as 100000 grew one process past 10,000 threads; the Python and Kotlin
 * runtimes have the same ceiling (Python's default is None, not 0).
 */
export const MAX_THREADS = 256;

/** 0 or undefined: the engine's default; else an integer up to MAX_THREADS (Python's `check_threads`). */
export function checkThreads(numThreads: number | null | undefined): void {
  if (numThreads === undefined || numThreads === null) return;     // null: Python's None, read from JSON
  if (typeof numThreads !== 'number' || !Number.isInteger(numThreads) || numThreads < 0 || numThreads > MAX_THREADS) {
    throw new MbjaError(`numThreads must be an integer from 0 (the engine's default) to ${MAX_THREADS}, not ${describe(numThreads)}`);
  }
}

/** A float32 model output, row-major, with its dimensions (e.g. `[batch, sequence, labels]`). */
export interface ModelOutput {
  data: Float32Array;
  dims: number[];
}

export interface Engine {
  /** Which runtime runs the model. */
  readonly backend: EngineBackend;
  /** The model file, as the manifest names it. */
  readonly file: string;
  /** `fp32`, `dynamic-int8`, ... from the manifest. */
  readonly precision: string;
  /**
   * The output's last axis (labels, vocabulary or hidden size) where the model declares it when
   * its session opens (ONNX Runtime's shape inference fills it in), else null: only a run tells.
   */
  readonly outputWidth: number | null;

  /**
   * Runs `batch` sequences of `seq` tokens each; the three arrays are row-major `batch * seq`
   * values. Throws MbjaError when the runtime fails or the engine was disposed.
   */
  run(inputIds: ArrayLike<number>, attentionMask: ArrayLike<number>, tokenTypeIds: ArrayLike<number>,
    batch: number, seq: number): Promise<ModelOutput>;

  /** Releases the session (native or WASM memory). Idempotent. */
  dispose(): Promise<void>;
}
