package io.mbja.tokenizer

import org.junit.jupiter.api.Test
import org.junit.jupiter.api.condition.EnabledIfSystemProperty

/**
 * Tokenization speed on the JVM: all 5,343 ner.json sentences, one `encode` call per text, on
 * one thread (what an app does per request). Not part of the normal test run and never
 * asserted -- timings depend on the machine. Run it with
 *
 *     mvn -q -f android-demo/sdk/pom.xml test -Dtest=TokenizerBenchmark -Dmbja.benchmark=true
 *
 * (needs the bundle, as the parity tests). It prints load times and sentences/s, by wall clock and
 * by the thread's CPU time (the latter is what to compare on a shared, busy machine).
 */
class TokenizerBenchmark {
    @Test
    @EnabledIfSystemProperty(named = "mbja.benchmark", matches = "true")
    fun sentencesPerSecond() {
        val texts = TestSupport.vectors("tokens_ner.jsonl.gz").second.map { it["text"] as String }
        var t0 = System.nanoTime()
        val tok = Tokenizer.fromBundle(TestSupport.bundle)
        val load = (System.nanoTime() - t0) / 1e6
        t0 = System.nanoTime()
        Tokenizer.fromBundle(TestSupport.bundle, verifyChecksums = true).close()
        val loadCrc = (System.nanoTime() - t0) / 1e6
        val chars = texts.sumOf { it.length }
        var tokens = 0L
        repeat(3) { texts.forEach { tokens += tok.encode(it).size } }        // warm-up (JIT)
        val cpu = java.lang.management.ManagementFactory.getThreadMXBean()
        val cpuRates = ArrayList<Double>()
        val rates = (1..5).map {
            val c = cpu.currentThreadCpuTime
            val s = System.nanoTime()
            for (t in texts) tokens += tok.encode(t).size
            cpuRates.add(texts.size / ((cpu.currentThreadCpuTime - c) / 1e9))
            texts.size / ((System.nanoTime() - s) / 1e9)
        }.sorted()
        val median = rates[rates.size / 2]
        val cpuMedian = cpuRates.sorted()[cpuRates.size / 2]
        println("[mbja benchmark] load %.0f ms (mapped, validated), %.0f ms with CRC-32".format(load, loadCrc))
        println("[mbja benchmark] ${texts.size} ner.json sentences, one at a time: median %.0f sentences/s (%.0f chars/s); runs %s"
            .format(median, median * chars / texts.size, rates.joinToString { "%.0f".format(it) }))
        println("[mbja benchmark] per CPU second of the encoding thread (what a busy machine does not distort): median %.0f sentences/s"
            .format(cpuMedian))
        if (tokens < 0) println(tokens)
    }
}
