#!/usr/bin/env bash
# TLS (issue 18): renews/s of muster over HTTPS against nginx serving a 16-byte JSON answer over
# HTTPS, both with keep-alive, TLS 1.2+ and the same EC P-256 certificate made here with openssl;
# and muster over plain HTTP beside them, for what TLS costs it. Alternates ROUNDS times
# (default 3). Then the memory of parked long polls over TLS against plain HTTP
# (bench/tls_conns.py, N polls, default 2000).
# Usage: bench/tls.sh MUSTER_BIN. Every process started here is stopped by its PID.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
MUSTER=$1
. "$ROOT/bench/lib.sh"
LUA="$ROOT/bench/lua"
WRK_THREADS=2; WRK_CONNS=64; WRK_SECONDS=10
ROUNDS=${ROUNDS:-3}
POLLS=${POLLS:-2000}
( cd "$TMP"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ca.key \
    -out ca.pem -days 2 -subj "/CN=bench CA" 2>/dev/null
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout node.key \
    -out node.csr -subj "/CN=bench" 2>/dev/null
  printf "subjectAltName=IP:127.0.0.1\n" >ext.cnf
  openssl x509 -req -in node.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out node.pem -days 2 \
    -extfile ext.cnf 2>/dev/null )
CERT="$TMP/node.pem"; KEY="$TMP/node.key"
register() {  # register SCHEME PORT
  curl -s --cacert "$TMP/ca.pem" -X POST "$1://127.0.0.1:$2/discovery/register" \
    -d 'zone=sh001&env=bench&appid=bench.renew&hostname=h1&status=1&addrs=http://10.0.0.1:8000' >/dev/null
}
for r in $(seq 1 "$ROUNDS"); do
  PORT=$(free_port)
  start_nginx "$PORT" "$CERT" "$KEY"
  nginx_tls=$(wrk_run -s "$LUA/renew.lua" "https://127.0.0.1:$PORT/discovery/renew" | wrk_rps)
  stop_pid "$NGINX_PID"
  PORT=$(free_port)
  start_muster "$PORT" --tls-cert "$CERT" --tls-key "$KEY"
  register https "$PORT"
  muster_tls=$(wrk_run -s "$LUA/renew.lua" "https://127.0.0.1:$PORT/discovery/renew" | wrk_rps)
  stop_pid "$MPID"
  PORT=$(free_port)
  start_muster "$PORT"
  register http "$PORT"
  muster_plain=$(wrk_run -s "$LUA/renew.lua" "http://127.0.0.1:$PORT/discovery/renew" | wrk_rps)
  stop_pid "$MPID"
  say "round $r: renew/s over TLS: muster $muster_tls, nginx $nginx_tls, ratio" \
    "$(python3 -c "print(round($muster_tls/$nginx_tls, 2))");" \
    "muster over plain HTTP $muster_plain (TLS/plain $(python3 -c "print(round($muster_tls/$muster_plain, 2))"))"
done
for scheme in http https; do
  PORT=$(free_port)
  if [ $scheme = https ]; then start_muster "$PORT" --tls-cert "$CERT" --tls-key "$KEY" --poll-hold 60s
  else start_muster "$PORT" --poll-hold 60s; fi
  register "$scheme" "$PORT"
  say "$scheme: $(python3 "$ROOT/bench/tls_conns.py" "$scheme" "$PORT" "$MPID" "$POLLS" "$TMP/ca.pem")"
  stop_pid "$MPID"
done
