#!/usr/bin/env bash
# Runs every benchmark of the registry node beside its references (nginx, etcd 3.4) in one go, on
# loopback only, and prints one line per figure. Usage: bench/run_all.sh [BUILD_DIR]
# Every process started here is stopped by its PID on exit.
set -euo pipefail
BUILD=${1:-build}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
MUSTER="$ROOT/$BUILD/muster"
FANOUT="$ROOT/$BUILD/bench/fanout"
LUA="$ROOT/bench/lua"
WRK_THREADS=${WRK_THREADS:-2}
WRK_CONNS=${WRK_CONNS:-64}
WRK_SECONDS=${WRK_SECONDS:-10}
FILL=${FILL:-1000000}
. "$ROOT/bench/lib.sh"

say "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -r)"
say "wrk: -t$WRK_THREADS -c$WRK_CONNS -d${WRK_SECONDS}s; muster threads: one per core"

# --- nginx: a 16-byte JSON answer on keep-alive --------------------------------------------
NPORT=$(free_port)
start_nginx "$NPORT"
nginx_renew=$(wrk_run -s "$LUA/renew.lua" "http://127.0.0.1:$NPORT/discovery/renew" | wrk_rps)
nginx_register=$(wrk_run -s "$LUA/register.lua" "http://127.0.0.1:$NPORT/" | wrk_rps)
stop_pid "$NGINX_PID"

# --- muster: renew and register -------------------------------------------------------------
PORT=$(free_port)
start_muster "$PORT"
curl -s -X POST "http://127.0.0.1:$PORT/discovery/register" \
  -d 'zone=sh001&env=bench&appid=bench.renew&hostname=h1&status=1&addrs=http://10.0.0.1:8000' >/dev/null
muster_renew=$(wrk_run -s "$LUA/renew.lua" "http://127.0.0.1:$PORT/discovery/renew" | wrk_rps)
muster_register=$(wrk_run -s "$LUA/register.lua" "http://127.0.0.1:$PORT/" | wrk_rps)
say "renew/s: muster $muster_renew, nginx $nginx_renew, ratio $(python3 -c "print(round($muster_renew/$nginx_renew, 2))")"
say "register/s (new hostnames): muster $muster_register, nginx $nginx_register, ratio $(python3 -c "print(round($muster_register/$nginx_register, 2))")"

# --- fetch of an app with 100 instances -----------------------------------------------------
for i in $(seq 1 100); do
  curl -s -X POST "http://127.0.0.1:$PORT/discovery/register" \
    -d "zone=sh00$((i % 2))&env=bench&appid=bench.fetch&hostname=host-$i&status=1&version=1" \
    --data-urlencode "addrs=http://10.0.0.$i:8000" --data-urlencode "addrs=grpc://10.0.0.$i:9000" \
    --data-urlencode 'metadata={"weight":"10","cluster":"c1"}' >/dev/null
done
fetch_out=$(wrk_run "http://127.0.0.1:$PORT/discovery/fetch?env=bench&appid=bench.fetch&status=3")
fetch_bytes=$(curl -s "http://127.0.0.1:$PORT/discovery/fetch?env=bench&appid=bench.fetch&status=3" | wc -c)
say "fetch of 100 instances ($fetch_bytes bytes): $(echo "$fetch_out" | wrk_rps) req/s, $(echo "$fetch_out" | awk '/Transfer\/sec/ {print $2}')/s"
stop_pid "$MPID"

# --- etcd 3.4: lease grant + put through its JSON gateway -------------------------------------
EPORT=$(free_port)
EPEER=$(free_port)
etcd --data-dir "$TMP/etcd" --listen-client-urls "http://127.0.0.1:$EPORT" \
  --advertise-client-urls "http://127.0.0.1:$EPORT" --listen-peer-urls "http://127.0.0.1:$EPEER" \
  --initial-advertise-peer-urls "http://127.0.0.1:$EPEER" --initial-cluster "default=http://127.0.0.1:$EPEER" \
  --quota-backend-bytes 8589934592 >"$TMP/etcd.log" 2>&1 &
ETCD_PID=$!
PIDS+=("$ETCD_PID")
wait_port "$EPORT"
sleep 1
etcd_out=$(wrk_run -s "$LUA/etcd_register.lua" "http://127.0.0.1:$EPORT/")
etcd_register=$(echo "$etcd_out" | awk '/^registrations/ {print $NF}' | sed 's|/s||')
etcd_count=$(echo "$etcd_out" | awk '/^registrations/ {print $2}')
say "register/s: etcd 3.4 lease grant + put $etcd_register; muster/etcd ratio $(python3 -c "print(round($muster_register/$etcd_register, 1))")"
say "etcd RSS holding $etcd_count lease+key registrations: $(rss_mib "$ETCD_PID") MiB"
stop_pid "$ETCD_PID"

# --- fan-out: 10,000 parked polls on one app, one register ------------------------------------
PORT=$(free_port)
start_muster "$PORT" --poll-hold 60s
for run in 1 2 3 4 5; do say "default (2 workers, client unpinned), run $run: $("$FANOUT" "$PORT" 10000 "$MPID")"; done
stop_pid "$MPID"
# One worker: on two cores shared with the generator, a second worker contends for the cores the
# generator needs, and each answer costs the node more CPU (server_cpu_ms).
PORT=$(free_port)
start_muster "$PORT" --poll-hold 60s --threads 1
for run in 1 2 3 4 5; do say "1 worker (node and client unpinned), run $run: $("$FANOUT" "$PORT" 10000 "$MPID")"; done
stop_pid "$MPID"
# The same with the node on core 0 and the client on core 1: what the node does when it does not
# share its core with the load generator.
PORT=$(free_port)
taskset -c 0 "$MUSTER" serve --listen "127.0.0.1:$PORT" --log-level warn --poll-hold 60s --threads 1 >/dev/null 2>&1 &
MPID=$!
PIDS+=("$MPID")
wait_port "$PORT"
for run in 1 2 3 4 5; do say "pinned (1 worker on core 0, client on core 1), run $run: $(taskset -c 1 "$FANOUT" "$PORT" 10000 "$MPID")"; done
stop_pid "$MPID"

# --- Consul blocking queries: 1,000 parked on one service, one register, beside as many native
# polls on the same node (the issue's figure, and its peer in the same run) ------------------------
PORT=$(free_port)
start_muster "$PORT" --poll-hold 60s --zone sh001
for run in 1 2 3; do
  say "1,000 native polls, run $run: $("$FANOUT" "$PORT" 1000 "$MPID" native)"
  say "1,000 Consul blocking health queries, run $run: $("$FANOUT" "$PORT" 1000 "$MPID" consul)"
done
stop_pid "$MPID"

# --- memory: RSS with FILL instances (2 addrs, 2 metadata keys each) --------------------------
PORT=$(free_port)
start_muster "$PORT"
idle_rss=$(rss_mib "$MPID")
fill_start=$(date +%s.%N)
wrk -t2 -c64 -d600s -s "$LUA/fill.lua" "http://127.0.0.1:$PORT/" -- "$FILL" 2 >"$TMP/fill.log" 2>&1 &
WRK_PID=$!
PIDS+=("$WRK_PID")
wait_filled "$PORT" "$FILL"
fill_end=$(date +%s.%N)
stop_pid "$WRK_PID"
sleep 1
say "memory: $n instances in $(python3 -c "print(round($fill_end-$fill_start,1))")s, RSS $(rss_mib "$MPID") MiB (idle $idle_rss MiB)"
stop_pid "$MPID"

# --- latency while 100,000 expired instances are evicted --------------------------------------
latency_with_eviction() {  # $1 = --evict-after
  local port
  port=$(free_port)
  start_muster "$port" --evict-after "$1" --evict-interval 1s --self-protection false
  curl -s -X POST "http://127.0.0.1:$port/discovery/register" \
    -d 'zone=sh001&env=bench&appid=bench.renew&hostname=h1&status=1&addrs=http://10.0.0.1:8000' >/dev/null
  wrk -t2 -c64 -d120s -s "$LUA/fill.lua" "http://127.0.0.1:$port/" -- 100000 2 >/dev/null 2>&1 &
  local w=$!
  PIDS+=("$w")
  wait_filled "$port" 100000
  stop_pid "$w"
  # The renewed instance h1 stays; the 100,000 expire a few seconds into this window.
  local out
  out=$(wrk -t2 -c64 -d15s --latency -s "$LUA/renew.lua" "http://127.0.0.1:$port/discovery/renew" 2>&1)
  local evicted
  evicted=$(curl -s "http://127.0.0.1:$port/metrics" | awk '/^muster_evictions_total / {print $2}')
  echo "evicted=$evicted p50=$(echo "$out" | awk '$1=="50%" {print $2}') p99=$(echo "$out" | awk '$1=="99%" {print $2}') rps=$(echo "$out" | wrk_rps)"
  stop_pid "$MPID"
}
say "renew latency while 100,000 expired instances are evicted: $(latency_with_eviction 3s)"
say "renew latency, same load, nothing evicted:                  $(latency_with_eviction 1h)"

echo
echo "== summary =="
cat "$TMP/summary"
