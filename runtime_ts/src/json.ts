import { BundleError } from './errors.js';

/**
 * A bundle file's bytes as strict UTF-8 JSON. Every runtime file that holds JSON (manifest, labels,
 * tokenizer settings, config) is read through here, so each refusal names the file the same way:
 * a BundleError with `file`, the message saying `what` it is and `where` it came from.
 */
export function parseJson(bytes: Uint8Array, file: string, what: string, where: string): unknown {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (e) {
    throw new BundleError(`${what} ${where} is not UTF-8`, file, { cause: e });
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new BundleError(`corrupt ${what} ${where}: ${(e as Error).message}`, file, { cause: e });
  }
}

/** A JSON value as an error message shows it (Python's repr, roughly): its JSON, cut to 100 characters. */
export function showJson(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 100 ? `${text.slice(0, 97)}...` : text;
}
