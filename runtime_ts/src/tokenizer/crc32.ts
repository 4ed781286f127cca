/**
 * CRC-32 (IEEE 802.3, as zlib and `java.util.zip.CRC32`), the checksum of every dictionary
 * file's payload. Implemented here rather than taken from `node:zlib` so that the tokenizer also
 * loads in browsers; slicing by 4 bytes keeps the 42 MB matrix at a few hundred milliseconds.
 */
const TABLES: Uint32Array = (() => {
  const t = new Uint32Array(4 * 256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xEDB88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c;
  }
  for (let n = 0; n < 256; n++) {
    for (let k = 1; k < 4; k++) t[k * 256 + n] = (t[(k - 1) * 256 + n] >>> 8) ^ t[t[(k - 1) * 256 + n] & 0xFF];
  }
  return t;
})();

/** CRC-32 of `bytes`, an unsigned 32-bit number. */
export function crc32(bytes: Uint8Array): number {
  const t = TABLES;
  let c = 0xFFFFFFFF;
  const n = bytes.length;
  const end4 = n - (n % 4);
  let i = 0;
  for (; i < end4; i += 4) {
    c ^= bytes[i] | (bytes[i + 1] << 8) | (bytes[i + 2] << 16) | (bytes[i + 3] << 24);
    c = t[768 + (c & 0xFF)] ^ t[512 + ((c >>> 8) & 0xFF)] ^ t[256 + ((c >>> 16) & 0xFF)] ^ t[c >>> 24];
  }
  for (; i < n; i++) c = t[(c ^ bytes[i]) & 0xFF] ^ (c >>> 8);
  return (c ^ 0xFFFFFFFF) >>> 0;
}
