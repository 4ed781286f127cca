package io.mbja.bundle

import io.mbja.BundleException
import io.mbja.Task
import java.io.IOException
import java.io.InputStream
import java.nio.charset.CharacterCodingException
import java.nio.charset.CodingErrorAction
import java.nio.file.Files
import java.nio.file.Path
import java.security.MessageDigest

/**
 * An opened bundle directory: the checked manifest and the label names. Immutable and cheap to
 * share between threads; it holds no open files, so it needs no closing.
 *
 * [open] checks format, format version, and (by default) the existence, size and sha256 of every
 * file the manifest lists before anything is loaded, exactly as the Python runtime's
 * `read_manifest`, so a truncated copy, a tampered model and a newer bundle format are each
 * refused with a message naming the file.
 */
public class Bundle private constructor(
    /** The bundle directory. */
    public val directory: Path,
    public val manifest: Manifest,
) {
    public val task: Task get() = manifest.task

    /**
     * Label names by id (labels.json, `{"0": "O", ...}`), or null for tasks without labels
     * (fill-mask, feature-extraction). Read once, when the bundle is opened.
     */
    public val labels: List<String>? = manifest.labels?.let { readLabels(resolve(it)) }

    /** The path of bundle file [name] (a manifest-relative POSIX path), refusing paths outside the bundle. */
    public fun resolve(name: String): Path {
        Manifest.checkRelative(name) ?: throw BundleException("bundle path '$name' points outside ${directory}", directory)
        return directory.resolve(name)
    }

    override fun toString(): String = "Bundle($directory, ${manifest.task.id})"

    public companion object {
        /**
         * Opens the bundle in [directory]. With [verify] (the default) every listed file's size and
         * sha256 is checked first (the demo bundle: ~72 MB to hash); pass false only for a
         * directory this process has just verified, e.g. right after [Bundles.install].
         *
         * @throws BundleException naming the offending file.
         */
        @JvmStatic
        @JvmOverloads
        @Throws(BundleException::class)
        public fun open(directory: Path, verify: Boolean = true): Bundle {
            if (Files.isRegularFile(directory)) throw BundleException("$directory is a file, not a bundle directory", directory)
            if (!Files.isDirectory(directory)) throw BundleException("bundle directory not found: $directory", directory)
            val path = directory.resolve(Manifest.FILE_NAME)
            if (!Files.isRegularFile(path)) throw BundleException("not a bundle: $path is missing", path)
            val manifest = Manifest.parse(readUtf8(path), path)
            if (verify) {
                for ((name, entry) in manifest.files) verifyFile(directory.resolve(name), entry)
            }
            return Bundle(directory, manifest)
        }

        internal fun verifyFile(file: Path, entry: FileEntry) {
            if (!Files.isRegularFile(file)) throw BundleException("bundle file missing: $file", file)
            val (size, sha) = try {
                Files.size(file) to Files.newInputStream(file).use { sha256(it) }
            } catch (e: IOException) {
                throw BundleException("cannot read bundle file $file: ${e.message}", file, e)
            }
            if (size != entry.size) {
                throw BundleException("bundle file $file has size $size, manifest says ${entry.size}", file)
            }
            if (sha != entry.sha256) {
                throw BundleException("bundle file $file does not match its sha256 in the manifest (corrupt or tampered)", file)
            }
        }

        internal fun sha256(input: InputStream): String {
            val md = MessageDigest.getInstance("SHA-256")
            val buf = ByteArray(1 shl 16)
            while (true) {
                val n = input.read(buf)
                if (n < 0) break
                md.update(buf, 0, n)
            }
            return md.digest().joinToString("") { "%02x".format(it) }
        }

        /** Strict UTF-8 (a malformed byte is an error, not a replacement character). */
        internal fun decodeUtf8(bytes: ByteArray, path: Path): String = try {
            Charsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT)
                .decode(java.nio.ByteBuffer.wrap(bytes)).toString()
        } catch (e: CharacterCodingException) {
            throw BundleException("$path is not UTF-8", path, e)
        }

        internal fun readUtf8(path: Path): String = try {
            decodeUtf8(Files.readAllBytes(path), path)
        } catch (e: BundleException) {
            throw e
        } catch (e: IOException) {
            throw BundleException("cannot read $path: ${e.message}", path, e)
        }

        /**
         * labels.json as a list by id: a JSON object mapping exactly the ids 0..n-1 (decimal
         * strings), n >= 1, to strings; anything else is refused naming the file (the Python
         * runtime's `Bundle.id2label`).
         */
        private fun readLabels(path: Path): List<String> {
            if (!Files.isRegularFile(path)) throw BundleException("bundle file missing: $path", path)
            val json = try {
                Json.parse(readUtf8(path))
            } catch (e: Json.JsonException) {
                throw BundleException("corrupt labels file $path: ${e.message}", path, e)
            }
            val map = json as? Map<*, *> ?: throw BundleException("$path is not a JSON object", path)
            val byId = HashMap<Int, String>()
            for ((k, v) in map) {
                val id = (k as String).takeIf { key -> key.isNotEmpty() && key.all { it in '0'..'9' } }?.toIntOrNull()
                if (id == null || v !is String) break
                byId[id] = v
            }
            if (map.isEmpty() || byId.size != map.size || byId.keys != (0 until map.size).toSet()) {
                throw BundleException(
                    "$path must map the ids 0..n-1 (decimal strings) to label names, as {\"0\": \"O\", \"1\": \"B-人名\"}",
                    path,
                )
            }
            return List(byId.size) { byId.getValue(it) }
        }
    }
}
