package io.mbja.tokenizer

import java.nio.file.Files
import java.nio.file.Path
import java.nio.file.Paths
import java.security.MessageDigest
import java.util.zip.GZIPInputStream

/**
 * The bundle the JVM tests run on (system property `mbja.bundle`, set by the pom; default
 * `build/demo-bundle` at the repository root) and the token vectors the Python side wrote from
 * the same kind of bundle (`mbja-build vectors`). A missing bundle FAILS the tests that need it,
 * with the command that builds it: a parity test that silently skips proves nothing.
 */
internal object TestSupport {
    val bundle: Path by lazy {
        val p = Paths.get(System.getProperty("mbja.bundle") ?: "../../build/demo-bundle").toAbsolutePath().normalize()
        if (!Files.isDirectory(p.resolve("dictionary")) || !Files.isRegularFile(p.resolve("vocab.txt"))) {
            throw AssertionError(
                "no bundle with a dictionary at $p (system property mbja.bundle). Build it first: " +
                    "cd <repo> && . .venv/bin/activate && mbja-build --target onnx --out build/demo-bundle",
            )
        }
        p
    }

    val tokenizer: Tokenizer by lazy { Tokenizer.fromBundle(bundle) }

    /** Header and records of a vector file under vectors/ at the repository root (test resources, see the pom). */
    fun vectors(name: String): Pair<Map<String, Any?>, List<Map<String, Any?>>> {
        val stream = TestSupport::class.java.getResourceAsStream("/vectors/$name")
            ?: throw AssertionError("vector file $name missing: run mbja-build vectors --bundle build/demo-bundle")
        val text = GZIPInputStream(stream).use { String(it.readBytes(), Charsets.UTF_8) }
        @Suppress("UNCHECKED_CAST")
        val lines = text.split('\n').filter { it.isNotEmpty() }.map { TokenizerSettings.parseJson(it, name) as Map<String, Any?> }
        return lines.first() to lines.drop(1)
    }

    fun sha256(file: Path): String =
        MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(file)).joinToString("") { "%02x".format(it) }

    /** Code-point index -> UTF-16 index of [s] (one entry past the end). */
    fun utf16Index(s: String): IntArray {
        val n = s.codePointCount(0, s.length)
        val out = IntArray(n + 1)
        var u = 0
        for (i in 0 until n) { out[i] = u; u += Character.charCount(s.codePointAt(u)) }
        out[n] = u
        return out
    }
}
