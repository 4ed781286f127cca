"""mbja_build: turn a (Japanese) MobileBERT/BERT checkpoint into an on-device bundle.

The CLI (`mbja-build`) is a thin layer over :func:`mbja_build.build.build_bundle`; heavy
libraries (torch, transformers, converters) are imported lazily so `--help` stays fast.
"""

__version__ = "0.1.0"
