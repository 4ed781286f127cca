package io.mbja.bundle

import io.mbja.BundleException
import java.io.IOException
import java.io.InputStream
import java.nio.file.AtomicMoveNotSupportedException
import java.nio.file.Files
import java.nio.file.Path
import java.nio.file.Paths
import java.nio.file.StandardCopyOption
import java.security.DigestInputStream
import java.security.MessageDigest
import java.util.UUID

/**
 * Where [Bundles.install] reads a bundle's files from, by manifest-relative POSIX name
 * (`manifest.json`, `model.onnx`, `dictionary/trie.bin`, ...). The caller owns nothing: the SDK
 * closes every stream it opens.
 *
 * On Android: `BundleSource { name -> context.assets.open("bundle/$name") }`.
 */
public fun interface BundleSource {
    @Throws(IOException::class)
    public fun open(name: String): InputStream
}

/** Installing bundles from streams (Android assets, downloads) into a directory the engines can map. */
public object Bundles {
    /**
     * Copies the bundle [source] provides into [targetDir] and returns it opened.
     *
     * Why copy: ONNX Runtime and LiteRT load a model from a file path (memory-mapped), and Android
     * assets are compressed entries of the APK, not files. So the app copies once into `filesDir`.
     *
     * - Idempotent: when [targetDir] already holds a bundle with a byte-identical manifest and every
     *   file has its listed size, nothing is copied (app start stays fast).
     * - Atomic: files go to a temporary directory next to [targetDir], each checked against its
     *   size and sha256 while streaming, then the directory is renamed into place. An interrupted or
     *   failed install leaves the previous bundle (or nothing) in place, never half a bundle.
     * - A non-empty [targetDir] that is not a bundle is never overwritten.
     *
     * The returned bundle was verified by this call (or, when reused, size-checked: open it again
     * with `verify = true` for a full sha256 check).
     *
     * Not safe to run concurrently for the same [targetDir] from two processes; within one process,
     * calls for the same directory are serialised.
     *
     * @throws BundleException naming the file that is missing, truncated or does not match its sha256.
     */
    @JvmStatic
    @Throws(BundleException::class)
    public fun install(source: BundleSource, targetDir: Path): Bundle = synchronized(lock) {
        val target = targetDir.toAbsolutePath().normalize()
        try {
            installLocked(source, target)
        } catch (e: BundleException) {
            throw e
        } catch (e: IOException) {
            throw BundleException("installing the bundle into $target failed: ${e.message}", target, e)
        } catch (e: RuntimeException) { // a source (an AssetManager closed, a null stream from Java)
            throw BundleException("installing the bundle into $target failed: ${e.javaClass.simpleName}: ${e.message}", target, e)
        }
    }

    private fun installLocked(source: BundleSource, target: Path): Bundle {
        val manifestBytes = readSource(source, Manifest.FILE_NAME)
        val label = Paths.get("<source>", Manifest.FILE_NAME)
        val manifest = Manifest.parse(Bundle.decodeUtf8(manifestBytes, label), label)
        if (isSameBundle(target, manifestBytes, manifest)) return Bundle.open(target, verify = false)
        if (Files.exists(target) && !isReplaceable(target)) {
            throw BundleException("$target exists and is not a bundle; refusing to overwrite it", target)
        }
        val parent = target.parent ?: throw BundleException("no parent directory for $target", target)
        removeLeftovers(parent, target.fileName.toString())
        val tmp = parent.resolve(".${target.fileName}.tmp-${UUID.randomUUID()}")
        try {
            Files.createDirectories(tmp)
            for ((name, entry) in manifest.files) copyVerified(source, name, entry, tmp.resolve(name))
            Files.write(tmp.resolve(Manifest.FILE_NAME), manifestBytes)
            replace(tmp, target)
        } catch (e: Throwable) { // also a source failing with an unchecked exception: no half copy stays
            deleteTree(tmp)
            throw e
        }
        return Bundle.open(target, verify = false)
    }

    private val lock = Any()

    /** Temporary directories of an install that was killed midway (the process died, not an exception). */
    private fun removeLeftovers(parent: Path, name: String) {
        if (!Files.isDirectory(parent)) return
        val stale = Files.list(parent).use { s ->
            s.filter { val n = it.fileName.toString(); n.startsWith(".$name.tmp-") || n.startsWith(".$name.old-") }
                .collect(java.util.stream.Collectors.toList())
        }
        stale.forEach { deleteTree(it) }
    }

    private fun readSource(source: BundleSource, name: String): ByteArray = try {
        source.open(name).use { it.readBytes() }
    } catch (e: IOException) {
        throw BundleException("bundle source has no readable '$name': ${e.message}", Paths.get(name), e)
    }

    private fun copyVerified(source: BundleSource, name: String, entry: FileEntry, dest: Path) {
        dest.parent?.let { Files.createDirectories(it) }
        val md = MessageDigest.getInstance("SHA-256")
        val size = try {
            source.open(name).use { raw ->
                DigestInputStream(raw, md).use { Files.copy(it, dest, StandardCopyOption.REPLACE_EXISTING) }
            }
        } catch (e: IOException) {
            throw BundleException("bundle source file '$name' could not be copied: ${e.message}", Paths.get(name), e)
        }
        if (size != entry.size) {
            throw BundleException("bundle source file '$name' has size $size, manifest says ${entry.size}", Paths.get(name))
        }
        val sha = md.digest().joinToString("") { "%02x".format(it) }
        if (sha != entry.sha256) {
            throw BundleException("bundle source file '$name' does not match its sha256 in the manifest (corrupt or tampered)", Paths.get(name))
        }
    }

    private fun isSameBundle(target: Path, manifestBytes: ByteArray, manifest: Manifest): Boolean {
        val existing = target.resolve(Manifest.FILE_NAME)
        if (!Files.isRegularFile(existing)) return false
        if (!Files.readAllBytes(existing).contentEquals(manifestBytes)) return false
        return manifest.files.all { (name, e) ->
            val f = target.resolve(name)
            Files.isRegularFile(f) && Files.size(f) == e.size
        }
    }

    /** An absent or empty directory, or a directory holding a manifest.json (a previous bundle). */
    private fun isReplaceable(target: Path): Boolean {
        if (!Files.isDirectory(target)) return false
        if (Files.isRegularFile(target.resolve(Manifest.FILE_NAME))) return true
        return Files.list(target).use { !it.findAny().isPresent }
    }

    /** Renames [tmp] to [target]; a previous [target] is moved aside first and deleted afterwards. */
    private fun replace(tmp: Path, target: Path) {
        var old: Path? = null
        if (Files.exists(target)) {
            old = target.resolveSibling(".${target.fileName}.old-${UUID.randomUUID()}")
            move(target, old)
        }
        try {
            move(tmp, target)
        } catch (e: IOException) {
            if (old != null) move(old, target) // put the previous bundle back
            throw e
        }
        old?.let { deleteTree(it) }
    }

    private fun move(from: Path, to: Path) {
        try {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE)
        } catch (_: AtomicMoveNotSupportedException) {
            Files.move(from, to)
        }
    }

    internal fun deleteTree(root: Path) {
        if (!Files.exists(root)) return
        Files.walk(root).use { s -> s.sorted(Comparator.reverseOrder()).forEach { Files.deleteIfExists(it) } }
    }
}
