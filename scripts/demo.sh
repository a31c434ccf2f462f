#!/usr/bin/env bash
# Runs the whole district demo: embedded MQTT broker, gateway, simulator, embedded store and
# HTTP API on localhost, and the 3D twin beside it: in a window when a display is present
# (DISPLAY or WAYLAND_DISPLAY), otherwise as a PNG snapshot rewritten every 30 s into
# data/demo/twin.png. Extra arguments go to `gateway demo` (see `--help`; `--twin off` skips
# the twin).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/packages.sh
# The twin renders with Vulkan (Mesa's software renderer where there is no GPU) and draws
# Chinese labels with a CJK font.
ensure_packages mesa-vulkan-drivers libvulkan1 fonts-wqy-microhei
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/smart-district/target}"
if [[ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]]; then
  ensure_packages libx11-6 libxcursor1 libxi6 libxrandr2 libxkbcommon-x11-0
  cargo build --locked -p twin --features window
else
  cargo build --locked -p twin
fi
twin="$CARGO_TARGET_DIR/debug/twin"
exec cargo run --locked -p gateway -- demo --twin-bin "$twin" "$@"
