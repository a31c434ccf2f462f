#!/bin/sh
# Soak run of the twin: `gateway demo` (embedded broker, gateway, simulator at SPEED× over the
# Hubin district) and the twin against it, off-screen, redrawing continuously (at most FPS frames
# a second) and rewriting a snapshot every 30 s. Samples the resident memory (RSS, KiB) of the
# twin and of the gateway every minute into OUT/rss.tsv.
#
#   twin/bench/soak.sh MINUTES OUT [TWIN_BIN] [GATEWAY_BIN]
#
# Defaults: the release twin and the debug gateway of $CARGO_TARGET_DIR (or ./target).
# Environment: SPEED (60), FPS (2), SIZE (1280x720).
set -eu
MINUTES=${1:?minutes}
OUT=${2:?output folder}
T=${CARGO_TARGET_DIR:-target}
TWIN=${3:-$T/release/twin}
GATEWAY=${4:-$T/debug/gateway}
SPEED=${SPEED:-60}
FPS=${FPS:-2}
SIZE=${SIZE:-1280x720}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$OUT"
PORT=$((20000 + $$ % 10000))
HTTP=$((PORT + 1))
"$GATEWAY" demo --district "$ROOT/config/districts/hubin.toml" \
    --scenario "$ROOT/sensors-sim/scenarios/drill.toml" --mqtt-addr 127.0.0.1:$PORT --http-addr 127.0.0.1:$HTTP --data-dir "$OUT/data" \
    --speed "$SPEED" > "$OUT/gateway.log" 2>&1 &
GW=$!
sleep 5
"$TWIN" --config "$ROOT/config/districts/hubin.toml" --broker 127.0.0.1:$PORT \
    --screenshot "$OUT/snapshot.png" --every 30 --size "$SIZE" --max-fps "$FPS" > "$OUT/twin.log" 2>&1 &
TW=$!
trap 'kill $TW $GW 2>/dev/null || true' EXIT INT TERM
printf 'minute\twall\ttwin_rss_kib\tgateway_rss_kib\ttwin_cpu_s\n' > "$OUT/rss.tsv"
i=0
while [ $i -le "$MINUTES" ]; do
    kill -0 $TW 2>/dev/null || { echo "twin exited" >&2; exit 1; }
    trss=$(awk '/^VmRSS/ {print $2}' /proc/$TW/status)
    grss=$(awk '/^VmRSS/ {print $2}' /proc/$GW/status 2>/dev/null || echo 0)
    tck=$(awk '{print ($14 + $15) / 100}' /proc/$TW/stat)
    printf '%s\t%s\t%s\t%s\t%s\n' $i "$(date -u +%H:%M:%S)" "$trss" "$grss" "$tck" >> "$OUT/rss.tsv"
    i=$((i + 1))
    [ $i -le "$MINUTES" ] && sleep 60
done
echo "done: $OUT/rss.tsv"
