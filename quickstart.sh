#!/usr/bin/env bash
# neuroai quick start.
#   ./quickstart.sh run    set up, build, and train the default pruned MLP on Fashion-MNIST (10 epochs)
#   ./quickstart.sh test   set up, build, and run the whole test suite
# Environment: BUILD_DIR (default build), NEUROAI_CUDA (AUTO|ON|OFF), JOBS (default: all cores);
# run: EPOCHS (default 10), RUN_DIR (default runs/quickstart-mlp).
set -euo pipefail
cd "$(dirname "$0")"
source tools/apt-install.sh

mode=${1:-}
case "$mode" in
  run|test|setup|build) ;;
  *) echo "usage: $0 run|test   (also: setup, build)" >&2; exit 2 ;;
esac

BUILD_DIR=${BUILD_DIR:-build}
NEUROAI_CUDA=${NEUROAI_CUDA:-AUTO}
JOBS=${JOBS:-$(nproc)}

# Debian packages the build, the tests and the main job need.
packages=(build-essential cmake pkg-config libopenblas-dev libgtest-dev libbenchmark-dev libcli11-dev
          nlohmann-json3-dev libfmt-dev zlib1g-dev libigraph-dev dataset-fashion-mnist
          libtomlplusplus-dev python3-matplotlib libboost-context-dev)

setup() { apt_install quickstart "${packages[@]}"; }

build() {
  cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DNEUROAI_CUDA="$NEUROAI_CUDA" | grep -E "CUDA backend|cuda-sim backend|Error" || true
  cmake --build "$BUILD_DIR" -j "$JOBS"
}

setup
build
case "$mode" in
  test)
    # Each suite runs per backend; CUDA cases skip with their reason when no GPU is usable.
    ctest --test-dir "$BUILD_DIR" --output-on-failure -j "$JOBS"
    ;;
  run)
    # The default pruned MLP (784 -> 32x32 -> 32x32 -> 10, gradual magnitude pruning to 90 % sparsity,
    # CSR hand-off below the break-even density measured on this machine) on Fashion-MNIST, the full
    # 10-epoch experiment (about a minute on 2 idle cores; EPOCHS=3 for a quicker look).
    # It ends with a table: test accuracy, density and format per layer, step time dense vs CSR.
    "$BUILD_DIR/neuroai" train mlp --epochs "${EPOCHS:-10}" --out "${RUN_DIR:-runs/quickstart-mlp}"
    ;;
esac
