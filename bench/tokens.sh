#!/usr/bin/env bash
# The cost of token checks (issue 18): renews/s of one muster binary without a tokens file and
# with one (3 admin, 20 write with 3 prefixes each, 2 read and 2 peer tokens of 40 characters, the
# renews' token the last write token), alternating ROUNDS times (default 3). Both runs send the
# same request bytes, Authorization header included.
# Usage: bench/tokens.sh MUSTER_BIN. Every process started here is stopped by its PID.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
MUSTER=$1
. "$ROOT/bench/lib.sh"
LUA="$ROOT/bench/lua"
WRK_THREADS=2; WRK_CONNS=64; WRK_SECONDS=10
ROUNDS=${ROUNDS:-3}
TOKENS="$TMP/tokens.yaml"
{
  echo "admin: [a-0123456789abcdef0123456789abcdef01, a-1123456789abcdef0123456789abcdef01, a-2123456789abcdef0123456789abcdef01]"
  echo "read: [r-0123456789abcdef0123456789abcdef0123, r-1123456789abcdef0123456789abcdef0123]"
  echo "peer: [p-0123456789abcdef0123456789abcdef0123, p-1123456789abcdef0123456789abcdef0123]"
  echo "write:"
  for i in $(seq 1 19); do
    printf '  - token: w-team%02d-456789abcdef0123456789abcdef01\n    appids: [team%02d., other%02d., x%02d]\n' "$i" "$i" "$i" "$i"
  done
  printf '  - token: w-bench-0123456789abcdef0123456789abcdef\n    appids: [team., other., bench.]\n'
} >"$TOKENS"
for r in $(seq 1 "$ROUNDS"); do
  for which in open tokens; do
    PORT=$(free_port)
    if [ $which = open ]; then start_muster "$PORT"; else start_muster "$PORT" --tokens "$TOKENS"; fi
    curl -s -X POST "http://127.0.0.1:$PORT/discovery/register" \
      -H 'Authorization: Bearer w-bench-0123456789abcdef0123456789abcdef' \
      -d 'zone=sh001&env=bench&appid=bench.renew&hostname=h1&status=1&addrs=http://10.0.0.1:8000' >/dev/null
    rps=$(wrk_run -s "$LUA/renew_token.lua" "http://127.0.0.1:$PORT/discovery/renew" | wrk_rps)
    code=$(curl -s -X POST "http://127.0.0.1:$PORT/discovery/renew" \
      -H 'Authorization: Bearer w-bench-0123456789abcdef0123456789abcdef' \
      -d 'zone=sh001&env=bench&appid=bench.renew&hostname=h1' | python3 -c 'import json,sys; print(json.load(sys.stdin)["code"])')
    stop_pid "$MPID"
    say "round $r $which: renew $rps/s (a last renew answered code $code)"
  done
done
