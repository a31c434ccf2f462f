#!/usr/bin/env bash
# Runs every test of the workspace. Installs the system packages the tests use if they are
# missing (real MQTT clients and broker for interop, VictoriaMetrics for the InfluxDB API,
# Mesa's software Vulkan and a CJK font for the twin's captures, OpenCV for the people
# counter), then runs cargo's tests in debug.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/packages.sh
ensure_packages mosquitto mosquitto-clients python3-paho-mqtt victoria-metrics \
  mesa-vulkan-drivers libvulkan1 fonts-wqy-microhei \
  libopencv-dev clang libclang-dev opencv-doc
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/smart-district/target}"
cargo test --workspace --exclude twin --locked "$@"
# The 3D twin on its own, so that Bevy is built with the features `scripts/demo.sh` builds it
# with (`cargo build -p twin --tests`): one Bevy build serves the tests and the demo.
cargo test --locked -p twin "$@"
# The OpenCV people counter, with its optional feature on (synthetic video, vtest.avi).
cargo test --locked -p footfall-vision --features vision "$@"
