#!/usr/bin/env bash
# The data directory (issue 19): registrations/s (a new instance with each request, so each one
# is a journal record) and renews/s (never written) of one muster binary without and with
# --data-dir, alternating ROUNDS times (default 3); then a restart: N instances (default 100,000)
# registered, kill -9, and the time from starting the node again to its first answer holding
# them all.
# Usage: bench/data_dir.sh MUSTER_BIN. Every process started here is stopped by its PID.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
MUSTER=$1
. "$ROOT/bench/lib.sh"
LUA="$ROOT/bench/lua"
WRK_THREADS=2; WRK_CONNS=64; WRK_SECONDS=10
ROUNDS=${ROUNDS:-3}
N=${N:-100000}
for r in $(seq 1 "$ROUNDS"); do
  for which in memory disk; do
    PORT=$(free_port)
    rm -rf "$TMP/data"
    if [ $which = memory ]; then start_muster "$PORT"; else start_muster "$PORT" --data-dir "$TMP/data"; fi
    reg=$(wrk_run -s "$LUA/register.lua" "http://127.0.0.1:$PORT/" | wrk_rps)
    curl -s -X POST "http://127.0.0.1:$PORT/discovery/register" \
      -d 'zone=sh001&env=bench&appid=bench.renew&hostname=h1&status=1&addrs=http://10.0.0.1:8000' >/dev/null
    renew=$(wrk_run -s "$LUA/renew.lua" "http://127.0.0.1:$PORT/discovery/renew" | wrk_rps)
    size=$(du -sk "$TMP/data" 2>/dev/null | cut -f1 || echo 0)
    stop_pid "$MPID"
    say "round $r $which: register $reg/s, renew $renew/s${size:+ (data dir ${size} KiB)}"
  done
done
PORT=$(free_port)
rm -rf "$TMP/data"
start_muster "$PORT" --data-dir "$TMP/data"
wrk -t2 -c64 -d120s -s "$LUA/fill.lua" "http://127.0.0.1:$PORT/" -- "$N" 2 >/dev/null 2>&1 &
WPID=$!; PIDS+=("$WPID")
wait_filled "$PORT" "$N"
stop_pid "$WPID"
kill -9 "$MPID"; wait "$MPID" 2>/dev/null || true
say "filled $n instances; data dir $(du -sk "$TMP/data" | cut -f1) KiB before the restart"
start_ns=$(date +%s%N)
"$MUSTER" serve --listen "127.0.0.1:$PORT" --log-level warn --data-dir "$TMP/data" >"$TMP/restart.log" 2>&1 &
MPID=$!; PIDS+=("$MPID")
for _ in $(seq 1 2000); do
  got=$(curl -s "http://127.0.0.1:$PORT/metrics" 2>/dev/null | awk '/^muster_instances / {print $2}')
  [ "${got:-0}" -ge "$n" ] && break
  sleep 0.01
done
end_ns=$(date +%s%N)
say "restart after kill -9: $got instances served $(( (end_ns - start_ns) / 1000000 )) ms after the start; RSS $(rss_mib "$MPID") MiB"
stop_pid "$MPID"
