package io.mbja.tokenizer

import java.nio.Buffer
import java.nio.ByteBuffer
import java.nio.ByteOrder
import java.nio.IntBuffer
import java.nio.MappedByteBuffer
import java.nio.ShortBuffer
import java.nio.channels.FileChannel
import java.nio.file.Files
import java.nio.file.Path
import java.nio.file.StandardOpenOption
import java.util.zip.CRC32

/**
 * One memory-mapped dictionary file whose header has been checked against the format
 * ([DictionaryFormat]): the arrays are views on the mapping, never copied to the heap (the
 * connection matrix alone is 42 MB). The kernel pages them in on demand and may drop them again
 * under memory pressure, which is why an app can keep a tokenizer loaded cheaply.
 *
 * Views are only read with absolute `get(index)`, which touches no buffer state, so one mapping
 * can serve any number of threads.
 */
internal class DictionaryFile private constructor(
    val path: Path,
    val params: Map<String, Long>,
    private val buffer: MappedByteBuffer,
    private val arrays: Map<String, Pair<Int, Int>>,   // name -> (byte offset, byte length)
) {
    /** A header param; u32 values above Int.MAX_VALUE (never valid counts) read as Int.MAX_VALUE. */
    fun param(name: String): Int = minOf(params.getValue(name), Int.MAX_VALUE.toLong()).toInt()

    private fun slice(name: String): ByteBuffer {
        val (off, len) = arrays[name] ?: error("no array $name in $path")
        val d = buffer.duplicate()
        (d as Buffer).position(off).limit(off + len)    // Buffer's methods: Android lacks JDK 9's covariant ones
        return d.slice().order(ByteOrder.LITTLE_ENDIAN)
    }

    fun bytes(name: String): ByteBuffer = slice(name)
    fun shorts(name: String): ShortBuffer = slice(name).asShortBuffer()
    fun ints(name: String): IntBuffer = slice(name).asIntBuffer()

    /** Why this file is refused, as a [TokenizerException] naming it. */
    fun corrupt(what: String): TokenizerException =
        TokenizerException("dictionary file $path is inconsistent: $what")

    companion object {
        /**
         * Map [path] and refuse it -- naming it -- unless it is a whole file of [kind] in this
         * reader's format version: magic, kind, version, header and payload sizes, the size the
         * params describe, and (when [verifyCrc]) the CRC-32 of the payload.
         */
        fun open(path: Path, kind: String, verifyCrc: Boolean): DictionaryFile {
            val f = DictionaryFormat
            if (!Files.isRegularFile(path)) throw TokenizerException("dictionary file missing: $path")
            val buf = try {
                FileChannel.open(path, StandardOpenOption.READ).use { ch ->
                    val size = ch.size()
                    if (size < f.HEADER_SIZE) {
                        throw TokenizerException("dictionary file $path is truncated ($size bytes, the header alone is ${f.HEADER_SIZE})")
                    }
                    if (size > Int.MAX_VALUE) throw TokenizerException("dictionary file $path is too large ($size bytes)")
                    ch.map(FileChannel.MapMode.READ_ONLY, 0, size)   // the mapping outlives the channel
                }
            } catch (e: TokenizerException) {
                throw e
            } catch (e: java.io.IOException) {
                throw TokenizerException("cannot read dictionary file $path: $e")
            }
            buf.order(ByteOrder.LITTLE_ENDIAN)
            val size = buf.capacity().toLong()
            val magic = ascii(buf, 0)
            if (magic != f.MAGIC) throw TokenizerException("$path is not an mbja dictionary file (bad magic '$magic')")
            val gotKind = ascii(buf, 4)
            if (gotKind != kind) throw TokenizerException("$path holds a '$gotKind' section, expected '$kind'")
            val version = buf.getShort(8).toInt() and 0xFFFF
            if (version != f.VERSION) {
                throw TokenizerException("$path: dictionary format version $version is not supported (this SDK reads " +
                    "version ${f.VERSION}); rebuild the bundle with a matching mbja-build")
            }
            val headerSize = buf.getShort(10).toInt() and 0xFFFF
            val crc = buf.getInt(12).toLong() and 0xFFFFFFFFL
            val payload = buf.getLong(16)
            if (headerSize != f.HEADER_SIZE || payload != size - f.HEADER_SIZE) {
                throw TokenizerException("$path is truncated or padded: header says $payload payload bytes, " +
                    "file has ${size - f.HEADER_SIZE}")
            }
            val raw = LongArray(8) { buf.getInt(24 + 4 * it).toLong() and 0xFFFFFFFFL }
            val params = f.paramNames(kind).withIndex().associate { (i, n) -> n to raw[i] }
            val specs = try {
                f.layout(kind, params)
            } catch (e: ArithmeticException) {
                throw TokenizerException("$path: bad header (array sizes overflow)")
            }
            val arrays = LinkedHashMap<String, Pair<Int, Int>>()
            var pos = f.HEADER_SIZE.toLong()
            for (s in specs) {
                val len = s.itemSize * s.count
                if (pos + len <= size) arrays[s.name] = pos.toInt() to len.toInt()
                pos += f.padded(len)
            }
            if (pos != size) {
                throw TokenizerException("$path: header counts describe $pos bytes, file has $size (corrupt header)")
            }
            if (verifyCrc) {
                val c = CRC32()
                c.update(buf.duplicate().also { (it as Buffer).position(f.HEADER_SIZE) })
                if (c.value != crc) throw TokenizerException("dictionary file $path fails its CRC-32 check (corrupt or tampered)")
            }
            return DictionaryFile(path, params, buf, arrays)
        }

        private fun ascii(buf: ByteBuffer, at: Int): String =
            String(CharArray(4) { (buf.get(at + it).toInt() and 0xFF).toChar() })
    }
}
