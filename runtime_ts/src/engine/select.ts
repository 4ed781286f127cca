/**
 * Which model of the bundle runs, on which engine, and why: the manifest's first ONNX model (or
 * the one `model` names), on onnxruntime-node under Node when it is installed, else onnxruntime-web.
 * TFLite models are skipped: LiteRT.js is not supported yet.
 */
import { BundleError, MbjaError } from '../errors.js';
import type { Bundle } from '../bundle/bundle.js';
import type { ModelSpec } from '../bundle/manifest.js';
import { isNode } from '../bundle/sources.js';
import { ENGINE_BACKENDS, checkThreads, type Engine, type EngineBackend } from './engine.js';
import { OnnxEngine, importOrt } from './onnx.js';

export type BackendChoice = 'auto' | EngineBackend;

export interface EngineOptions {
  /** Default `'auto'`: onnxruntime-node when running in Node and importable, else onnxruntime-web. */
  backend?: BackendChoice;
  /**
   * Which ONNX model: `'fp32'`, `'int8'` (any int8 precision) or a precision or file name as the
   * manifest writes it; default the first ONNX model the manifest lists (the Python runtime's rule).
   */
  model?: string;
  /** Intra-op threads, up to MAX_THREADS; 0 or undefined: the engine's default (onnxruntime-web under Node: 1). */
  numThreads?: number | null;
}

export interface ChosenEngine {
  engine: Engine;
  /** Why this engine runs, in words (e.g. "running in Node and onnxruntime-node is installed"). */
  reason: string;
}

export async function openEngine(bundle: Bundle, options: EngineOptions = {}): Promise<ChosenEngine> {
  checkThreads(options.numThreads);
  const spec = chooseModel(bundle, options.model);
  const { backend, reason } = await chooseBackend(options.backend ?? 'auto');
  const engine = await OnnxEngine.create(backend, spec, bundle.file(spec.file), { numThreads: options.numThreads });
  return { engine, reason };
}

function chooseModel(bundle: Bundle, wanted: string | undefined): ModelSpec {
  const models = bundle.manifest.models;
  const onnx = models.filter((m) => m.backend === 'onnx');
  if (onnx.length === 0) {
    const tflite = models.filter((m) => m.backend === 'tflite').map((m) => m.file);
    const why = tflite.length > 0
      ? `it has only TFLite models (${tflite.join(', ')}), and LiteRT.js is not supported yet: ` +
        'build the bundle with mbja-build --target onnx (or all)'
      : `it has: ${models.map((m) => m.backend).join(', ') || 'none'}`;
    throw new BundleError(`bundle ${bundle.location} has no ONNX model; ${why}`, tflite[0] ?? 'manifest.json');
  }
  if (wanted === undefined) return onnx[0];
  const found = onnx.find((m) => m.file === wanted || m.precision === wanted ||
    (wanted === 'int8' && m.precision.endsWith('-int8')));
  if (found === undefined) {
    throw new MbjaError(`bundle ${bundle.location} has no ONNX model '${wanted}' (it has: ` +
      `${onnx.map((m) => `${m.file} ${m.precision}`).join(', ')})`);
  }
  return found;
}

async function chooseBackend(choice: BackendChoice): Promise<{ backend: EngineBackend; reason: string }> {
  if (choice !== 'auto') {
    if (!(ENGINE_BACKENDS as readonly string[]).includes(choice)) {
      throw new MbjaError(`unknown backend '${choice}'; choose one of: auto, ${ENGINE_BACKENDS.join(', ')}`);
    }
    await importOrFail(choice);
    return { backend: choice, reason: 'asked for' };
  }
  if (!isNode()) return { backend: 'onnxruntime-web', reason: 'not running in Node, so the WASM engine' };
  try {
    await importOrt('onnxruntime-node');
    return { backend: 'onnxruntime-node', reason: 'running in Node and onnxruntime-node is installed' };
  } catch (e) {
    await importOrFail('onnxruntime-web', 'onnxruntime-node');
    return { backend: 'onnxruntime-web', reason: `running in Node, but onnxruntime-node cannot be imported (${firstLine(e)})` };
  }
}

async function importOrFail(backend: EngineBackend, alsoTried?: EngineBackend): Promise<void> {
  try {
    await importOrt(backend);
  } catch (e) {
    const what = alsoTried ? `neither ${alsoTried} nor ${backend} can` : `${backend} cannot`;
    throw new MbjaError(`${what} be imported here (${firstLine(e)}); install it: npm install ${backend}`, { cause: e });
  }
}

function firstLine(e: unknown): string {
  return String((e as Error)?.message ?? e).split('\n')[0];
}
