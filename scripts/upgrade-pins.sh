#!/usr/bin/env bash
# Move the pinned build stack (constraints.txt) to the newest versions pip resolves, then make
# everything that depends on it current: rebuild the demo bundle, regenerate the shared test
# vectors, run the whole suite. Commit constraints.txt with the vectors it produced.
#   bash scripts/upgrade-pins.sh            # from the repository root, ~30 min on 2 cores
set -euo pipefail
cd "$(dirname "$0")/.."
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 PIP_DISABLE_PIP_VERSION_CHECK=1
venv="$(mktemp -d -t mbja-pins-XXXXXX)"
trap 'rm -rf "$venv"' EXIT

python3 -m venv "$venv"
"$venv/bin/pip" install -q --upgrade pip
# no constraints: the newest versions setup.py's own ranges allow (the build extra's exact pins
# come from constraints.txt, so they are lifted for this one install)
MBJA_UNPINNED=1 "$venv/bin/pip" install -q -e '.[dev]'
{
  sed -n '/^#/p' constraints.txt
  "$venv/bin/pip" freeze --all | grep -v -E '^(-e |mobilebert-ja-sdk|pip==|setuptools==|wheel==)'
} > constraints.txt.new
mv constraints.txt.new constraints.txt
echo "constraints.txt rewritten; changes:"
git --no-pager diff --stat -- constraints.txt || true

# the vectors the Kotlin (and every other) runtime compares with, from the new stack
"$venv/bin/mbja-build" --quiet --target onnx --no-verify --out build/demo-bundle
"$venv/bin/mbja-build" vectors --bundle build/demo-bundle
# reinstall exactly as CI does, then the suite
"$venv/bin/pip" install -q -c constraints.txt -e '.[dev]'
PATH="$venv/bin:$PATH" bash tests/run-all.sh
echo "all green: commit constraints.txt and the shared vectors"
