/**
 * What the Node tests share: the demo bundle they run on and the vectors the Python side wrote.
 *
 * The bundle comes from `$MBJA_BUNDLE` or `build/demo-bundle` at the repository root (tests/run-all.sh
 * builds it). A missing bundle or vector file FAILS the test that needs it, with the command that makes
 * it: a parity test that silently skips proves nothing.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';

const here = dirname(fileURLToPath(import.meta.url));     // dist/test when compiled
/** The repository root (runtime_ts/..). */
export const REPO = resolve(here, '..', '..', '..');
/** The shared vectors folder every runtime reads. */
export const VECTORS = resolve(REPO, 'vectors');

export function bundleDir(envName = 'MBJA_BUNDLE', fallback = 'build/demo-bundle'): string {
  const dir = resolve(process.env[envName] ?? resolve(REPO, fallback));
  if (!existsSync(resolve(dir, 'manifest.json')) || !existsSync(resolve(dir, 'dictionary'))) {
    throw new Error(`no bundle at ${dir} (environment ${envName}). Build it first: cd ${REPO} && ` +
      `. .venv/bin/activate && mbja-build --target onnx --no-verify --out ${fallback}`);
  }
  return dir;
}

/** A gzip JSON-lines vector file: its header line and its records. */
export function readJsonl(name: string): { header: Record<string, unknown>; records: Record<string, unknown>[] } {
  const lines = readGz(name).split('\n').filter((l) => l.length > 0).map((l) => JSON.parse(l));
  return { header: lines[0], records: lines.slice(1) };
}

/** A gzip JSON vector file. */
export function readJson(name: string): Record<string, unknown> {
  return JSON.parse(readGz(name));
}

function readGz(name: string): string {
  const path = resolve(VECTORS, name);
  if (!existsSync(path)) throw new Error(`vector file ${path} missing: run mbja-build vectors --bundle build/demo-bundle`);
  return gunzipSync(readFileSync(path)).toString('utf8');
}

/** Code-point index -> UTF-16 index of `s` (one entry past the end): the vectors count code points,
 *  JS strings UTF-16 units. */
export function utf16Index(s: string): number[] {
  const out: number[] = [];
  let u = 0;
  for (const ch of s) {
    out.push(u);
    u += ch.length;
  }
  out.push(u);
  return out;
}
