/** sha256 through WebCrypto, the one digest both Node 20 and browsers provide without a package. */
import { MbjaError } from '../errors.js';

export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const subtle = globalThis.crypto?.subtle;
  if (!subtle) {
    throw new MbjaError('WebCrypto (crypto.subtle) is not available here (browsers offer it only on https or ' +
      'localhost pages); open the bundle with verify: false to skip the sha256 check');
  }
  // The bundle's bytes live in ordinary ArrayBuffers (file reads, fetch, the caller's buffers).
  const digest = new Uint8Array(await subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>));
  let hex = '';
  for (const b of digest) hex += b.toString(16).padStart(2, '0');
  return hex;
}
