#!/usr/bin/env bash
# Before/after in one run: the renew and register steps of run_all.sh for two muster binaries,
# alternating with nginx as the reference, ROUNDS times (default 3), so that a change that should
# not move the figures can be checked against the binary before it on the same machine.
# Usage: bench/ab.sh BEFORE_BIN AFTER_BIN. Every process started here is stopped by its PID.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BEFORE=$1
AFTER=$2
. "$ROOT/bench/lib.sh"
LUA="$ROOT/bench/lua"
WRK_THREADS=2; WRK_CONNS=64; WRK_SECONDS=10
ROUNDS=${ROUNDS:-3}
NPORT=$(free_port)
for r in $(seq 1 "$ROUNDS"); do
  start_nginx "$NPORT"
  n_renew=$(wrk_run -s "$LUA/renew.lua" "http://127.0.0.1:$NPORT/discovery/renew" | wrk_rps)
  n_reg=$(wrk_run -s "$LUA/register.lua" "http://127.0.0.1:$NPORT/" | wrk_rps)
  stop_pid "$NGINX_PID"
  for which in before after; do
    if [ $which = before ]; then MUSTER=$BEFORE; else MUSTER=$AFTER; fi
    PORT=$(free_port)
    start_muster "$PORT"
    curl -s -X POST "http://127.0.0.1:$PORT/discovery/register" \
      -d 'zone=sh001&env=bench&appid=bench.renew&hostname=h1&status=1&addrs=http://10.0.0.1:8000' >/dev/null
    m_renew=$(wrk_run -s "$LUA/renew.lua" "http://127.0.0.1:$PORT/discovery/renew" | wrk_rps)
    m_reg=$(wrk_run -s "$LUA/register.lua" "http://127.0.0.1:$PORT/" | wrk_rps)
    stop_pid "$MPID"
    say "round $r $which: renew $m_renew (nginx $n_renew, ratio $(python3 -c "print(round($m_renew/$n_renew,2))")), register $m_reg (nginx $n_reg, ratio $(python3 -c "print(round($m_reg/$n_reg,2))"))"
  done
done
