/**
 * One inference runtime behind the SDK: token arrays in, the model's float32 output out, for a
 * batch of equally long sequences (the contract of `Backend.run` in runtime_py/mbja_runtime/backends.py
 * and of the Kotlin `Engine`, with a batch axis). Engines are asynchronous because onnxruntime-web
 * is; whoever creates one disposes of it.
 */

/** The engines this runtime drives. */
export const ENGINE_BACKENDS = ['onnxruntime-node', 'onnxruntime-web'] as const;
export type EngineBackend = (typeof ENGINE_BACKENDS)[number];

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
   * Runs `batch` sequences of `seq` tokens each; the three arrays are row-major `batch * seq`
   * values. Throws MbjaError when the runtime fails or the engine was disposed.
   */
  run(inputIds: ArrayLike<number>, attentionMask: ArrayLike<number>, tokenTypeIds: ArrayLike<number>,
    batch: number, seq: number): Promise<ModelOutput>;

  /** Releases the session (native or WASM memory). Idempotent. */
  dispose(): Promise<void>;
}
