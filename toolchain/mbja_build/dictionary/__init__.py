"""Compile unidic-lite's MeCab binary dictionary into the compact format the device tokenizer reads.

The toolchain compiles once; runtimes (``mbja_runtime.tokenize``, the Kotlin SDK) only map the
result. Format: docs/dictionary-format.md; its constants live in ``mbja_runtime.tokenize.format``.

    from mbja_build.dictionary import write_dictionary
    info = write_dictionary(bundle_dir / "dictionary")   # -> {"files": {...}, "stats": {...}, ...}
"""
from .compiler import CompiledDictionary, compile_dictionary
from .mecab_source import MecabDictionary, read_mecab_dictionary
from .writer import FORMAT_NAME, measure_sizes, write_compiled, write_dictionary

__all__ = ["CompiledDictionary", "MecabDictionary", "FORMAT_NAME", "compile_dictionary", "measure_sizes",
           "read_mecab_dictionary", "write_compiled", "write_dictionary"]
