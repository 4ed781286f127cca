#!/usr/bin/env bash
# The whole test suite: Python (pytest), then the Kotlin SDK's JVM tests against a demo bundle
# built here (ONNX; the SDK's parity tests compare with vectors the Python side generated).
# Run from the repository root with the dev install active:  bash tests/run-all.sh [pytest args]
set -euo pipefail
cd "$(dirname "$0")/.."
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1

python -m pytest "$@"

mbja-build --target onnx --no-verify --out build/demo-bundle
mvn -B -ntp -f android-demo/sdk/pom.xml test -Dmbja.bundle="$PWD/build/demo-bundle"
