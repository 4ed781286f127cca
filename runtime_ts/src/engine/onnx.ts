/**
 * ONNX Runtime engines: onnxruntime-node (native, Node only) and onnxruntime-web (WASM, browsers
 * and Node). Both packages share onnxruntime-common's API, so one class drives either; each is
 * imported only when chosen, so neither must be installed for the other to work.
 */
import type * as Ort from 'onnxruntime-common';
import { BundleError, MbjaError } from '../errors.js';
import type { ModelSpec, TensorSpec } from '../bundle/manifest.js';
import { isNode } from '../bundle/sources.js';
import type { Engine, EngineBackend, ModelOutput } from './engine.js';

/** The runtime's inputs by the names the bundle format fixes (docs/bundle-format.md). */
const INPUT_NAMES = ['input_ids', 'attention_mask', 'token_type_ids'] as const;

export interface OnnxEngineOptions {
  /** Intra-op threads; 0, null or undefined = the runtime's default (onnxruntime-web under Node: 1). */
  numThreads?: number | null;
}

/** The ONNX Runtime package `backend` names, imported now; the import's failure is the caller's to report. */
export async function importOrt(backend: EngineBackend): Promise<typeof Ort> {
  return (backend === 'onnxruntime-node' ? await import('onnxruntime-node') : await import('onnxruntime-web')) as
    unknown as typeof Ort;
}

export class OnnxEngine implements Engine {
  private disposed = false;
  /** Runs in flight: `dispose` waits for them, since releasing a session mid-run makes onnxruntime-web spin forever. */
  private readonly running = new Set<Promise<unknown>>();

  private constructor(
    readonly backend: EngineBackend,
    readonly file: string,
    readonly precision: string,
    readonly outputWidth: number | null,
    private readonly ort: typeof Ort,
    private readonly session: Ort.InferenceSession,
    private readonly inputs: TensorSpec[],
    private readonly output: string,
  ) {}

  /**
   * Opens `spec`'s model (`bytes`, the file's content) with `backend`. A session the runtime cannot
   * create (a WASM build without a contrib op, a damaged file) is an MbjaError naming the engine,
   * the file and the cause.
   */
  static async create(backend: EngineBackend, spec: ModelSpec, bytes: Uint8Array,
    options: OnnxEngineOptions = {}): Promise<OnnxEngine> {
    const ort = await importOrt(backend);
    if (backend === 'onnxruntime-web') configureWasm(ort, options.numThreads);
    const sessionOptions: Ort.InferenceSession.SessionOptions = { logSeverityLevel: 3 };
    if (backend === 'onnxruntime-node' && options.numThreads) {
      sessionOptions.intraOpNumThreads = options.numThreads;
      sessionOptions.interOpNumThreads = 1;
    }
    let session: Ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(bytes, sessionOptions);
    } catch (e) {
      throw new MbjaError(`${backend} cannot create a session for ${spec.file}: ${(e as Error).message ?? e}`, { cause: e });
    }
    const output = spec.outputs?.[0]?.name ?? session.outputNames[0];
    if (!session.outputNames.includes(output)) {
      await session.release();
      throw new BundleError(`${spec.file} has no output '${output}' (it has ${session.outputNames.join(', ')})`, spec.file);
    }
    // The manifest's inputs the model really has (Kotlin's rule: a model without token_type_ids is fed without them).
    // `inputs` is informational (the names are fixed; Python and Kotlin never read it): one that is not
    // a list of {name, dtype} is ignored as they ignore it.
    const listed = Array.isArray(spec.inputs) &&
      spec.inputs.every((i) => typeof i?.name === 'string' && typeof i?.dtype === 'string');
    const declared = listed ? spec.inputs! : INPUT_NAMES.map((name) => ({ name, dtype: 'int64' }));
    const inputs = declared.filter((i) => session.inputNames.includes(i.name));
    const meta = session.outputMetadata?.find((o) => o.name === output);
    const width = meta?.isTensor ? meta.shape[meta.shape.length - 1] : undefined;
    const outputWidth = typeof width === 'number' && Number.isInteger(width) && width > 0 ? width : null;
    return new OnnxEngine(backend, spec.file, spec.precision, outputWidth, ort, session, inputs, output);
  }

  async run(inputIds: ArrayLike<number>, attentionMask: ArrayLike<number>, tokenTypeIds: ArrayLike<number>,
    batch: number, seq: number): Promise<ModelOutput> {
    if (this.disposed) throw new MbjaError(`the ${this.backend} engine of ${this.file} was disposed`);
    const n = batch * seq;
    if (n === 0 || inputIds.length !== n || attentionMask.length !== n || tokenTypeIds.length !== n) {
      throw new MbjaError(`input_ids, attention_mask and token_type_ids must each hold batch * seq = ${n} > 0 values`);
    }
    const values: Record<string, ArrayLike<number>> = {
      input_ids: inputIds, attention_mask: attentionMask, token_type_ids: tokenTypeIds,
    };
    const feeds: Record<string, Ort.Tensor> = {};
    for (const input of this.inputs) {
      const source = values[input.name];
      if (source === undefined) throw new BundleError(`${this.file}: unknown model input '${input.name}'`, this.file);
      feeds[input.name] = this.tensor(input, source, [batch, seq]);
    }
    let result: Ort.InferenceSession.OnnxValueMapType;
    const running = this.session.run(feeds, [this.output]);
    this.running.add(running);
    try {
      result = await running;
    } catch (e) {
      throw new MbjaError(`${this.backend} failed on ${batch} x ${seq} tokens with ${this.file}: ${(e as Error).message ?? e}`,
        { cause: e });
    } finally {
      this.running.delete(running);
    }
    const out = result[this.output];
    if (out.type !== 'float32') throw new MbjaError(`${this.file}: output '${this.output}' is ${out.type}, not float32`);
    return { data: out.data as Float32Array, dims: [...out.dims] };
  }

  /** Refuses new runs at once, lets the runs in flight finish, then releases the session. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await Promise.allSettled([...this.running]);
    await this.session.release();
  }

  private tensor(spec: TensorSpec, values: ArrayLike<number>, dims: number[]): Ort.Tensor {
    switch (spec.dtype) {
      case 'int64': {
        const data = new BigInt64Array(values.length);
        for (let i = 0; i < values.length; i++) data[i] = BigInt(values[i]);
        return new this.ort.Tensor('int64', data, dims);
      }
      case 'int32':
        return new this.ort.Tensor('int32', Int32Array.from(values), dims);
      default:
        throw new BundleError(`${this.file}: input '${spec.name}' has dtype ${spec.dtype}; the runtime feeds int64 or int32`,
          this.file);
    }
  }
}

/**
 * onnxruntime-web under Node runs one thread unless asked otherwise: multi-threaded WASM there
 * starts worker threads, and onnxruntime-node is the engine for throughput in Node. In browsers
 * its own default (which depends on cross-origin isolation) stands. `env.wasm` is process-wide:
 * the last engine created sets it.
 */
function configureWasm(ort: typeof Ort, numThreads: number | null | undefined): void {
  if (numThreads) ort.env.wasm.numThreads = numThreads;
  else if (isNode()) ort.env.wasm.numThreads = 1;
}
