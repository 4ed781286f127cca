#!/usr/bin/env bash
# The whole test suite: Python (pytest), then the Kotlin SDK's JVM tests against a demo bundle
# built here (ONNX; the SDK's parity tests compare with vectors the Python side generated), the
# Android demo app's compile-check against the SDK's classes, then the TypeScript runtime's Node
# tests on the same bundle and vectors.
# Run from the repository root with the dev install active:  bash tests/run-all.sh [pytest args]
set -euo pipefail
cd "$(dirname "$0")/.."
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1

python -m pytest "$@"

mbja-build --quiet --target onnx --no-verify --out build/demo-bundle
# an int8 bundle the build had to repair (the demo's outlier twin) and the Python runtime's outputs
# on it: the Kotlin SDK must load it unchanged and pass the int8 gate against them
rm -rf build/twin1000 build/twin1000-bundle build/twin1000-vectors
mbja-build --quiet outlier-twin --scale 1000 --out build/twin1000
mbja-build --quiet --model build/twin1000 --target onnx --quantize dynamic-int8 --max-length 128 --no-verify \
  --out build/twin1000-bundle > /dev/null
mbja-build vectors --bundle build/twin1000-bundle --model-only --out build/twin1000-vectors > /dev/null
mvn -B -ntp -f android-demo/sdk/pom.xml test -Dmbja.bundle="$PWD/build/demo-bundle" \
  -Dmbja.repairedBundle="$PWD/build/twin1000-bundle" -Dmbja.repairedVectors="$PWD/build/twin1000-vectors"
# compiles MainActivity.kt against the Android API stubs and the classes the test run just built
mvn -B -ntp -q -f android-demo/app/compile-check/pom.xml compile
echo "android-demo/app compile-check: ok"

# the TypeScript runtime's Node tests (onnxruntime-node and onnxruntime-web) on the same demo bundle
# and the shared vectors; its dependencies come from the lockfile
[ -d runtime_ts/node_modules ] || (cd runtime_ts && npm ci --no-audit --no-fund)
MBJA_BUNDLE="$PWD/build/demo-bundle" npm --prefix runtime_ts test
