#!/usr/bin/env bash
# Cluster benchmarks (issue 3), on loopback only: replication lag from a write on A to a poll on B
# at a paced and at the maximum register rate; a 3-node cluster's client-facing renew and register
# throughput against a single node's, in the same run; the CPU and memory replication costs per
# 1,000 renews/s. Usage: bench/cluster.sh [BUILD_DIR]. Every process is stopped by its PID on exit.
set -euo pipefail
BUILD=${1:-build}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
MUSTER="$ROOT/$BUILD/muster"
LUA="$ROOT/bench/lua"
WRK_THREADS=${WRK_THREADS:-2}
WRK_CONNS=${WRK_CONNS:-64}
WRK_SECONDS=${WRK_SECONDS:-10}
PACED_RATE=${PACED_RATE:-5000}
. "$ROOT/bench/lib.sh"

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
renew_seed() {  # the instance renew.lua renews
  curl -s -X POST "http://127.0.0.1:$1/discovery/register" \
    -d 'zone=sh001&env=bench&appid=bench.renew&hostname=h1&status=1&addrs=http://10.0.0.1:8000' >/dev/null
}
# Starts three same-zone nodes; sets C1 C2 C3 (ports) and N1 N2 N3 (PIDs).
start_cluster() {
  C1=$(free_port); C2=$(free_port); C3=$(free_port)
  local nodes="127.0.0.1:$C1,127.0.0.1:$C2,127.0.0.1:$C3"
  start_muster "$C1" --nodes "$nodes" "$@"; N1=$MPID
  start_muster "$C2" --nodes "$nodes" "$@"; N2=$MPID
  start_muster "$C3" --nodes "$nodes" "$@"; N3=$MPID
  sleep 1
}
stop_cluster() { stop_pid "$N1"; stop_pid "$N2"; stop_pid "$N3"; }
# wrk's connections pace themselves with a delay: this many connections at DELAY ms give RATE/s
# at most (latency comes on top, so the achieved rate is printed with each figure).
PACED_CONNS=24
PACED_DELAY=$((PACED_CONNS * 1000 / PACED_RATE))

say "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -r)"

# --- throughput: single node, then node A of a 3-node cluster ---------------------------------
PORT=$(free_port)
start_muster "$PORT"
renew_seed "$PORT"
single_renew=$(wrk_run -s "$LUA/renew.lua" "http://127.0.0.1:$PORT/discovery/renew" | wrk_rps)
single_register=$(wrk_run -s "$LUA/register.lua" "http://127.0.0.1:$PORT/" | wrk_rps)
stop_pid "$MPID"
start_cluster
renew_seed "$C1"
cluster_renew=$(wrk_run -s "$LUA/renew.lua" "http://127.0.0.1:$C1/discovery/renew" | wrk_rps)
cluster_register=$(wrk_run -s "$LUA/register.lua" "http://127.0.0.1:$C1/" | wrk_rps)
stop_cluster
ratio() { python3 -c "print(round($1/$2, 2))"; }
say "renew/s at node A: 3-node cluster $cluster_renew, single node $single_renew, ratio $(ratio "$cluster_renew" "$single_renew")"
say "register/s at node A: 3-node cluster $cluster_register, single node $single_register, ratio $(ratio "$cluster_register" "$single_register")"

# --- replication lag: write on A, seen by a poll on B ------------------------------------------
lag_under() {  # $1 = none | paced | max: the register load on A beside the probes
  start_cluster
  local rate="none" w=""
  case $1 in
    paced) wrk -t1 -c"$PACED_CONNS" -d12s -s "$LUA/register_paced.lua" "http://127.0.0.1:$C1/" \
             -- bench.lagload "$PACED_DELAY" >"$TMP/lagload.log" 2>&1 & w=$! ;;
    max) wrk -t2 -c64 -d12s -s "$LUA/register.lua" "http://127.0.0.1:$C1/" -- bench.lagload \
           >"$TMP/lagload.log" 2>&1 & w=$! ;;
  esac
  if [ -n "$w" ]; then
    PIDS+=("$w")
    sleep 1
  fi
  local probe
  probe=$(python3 "$ROOT/bench/replag.py" "$C1" "$C2" 8 100)
  if [ -n "$w" ]; then
    wait "$w" || true
    rate=$(wrk_rps <"$TMP/lagload.log")
  fi
  say "replication lag A->B, load $1 ($rate register/s on A): $probe"
  stop_cluster
}
lag_under none
lag_under paced
lag_under max

# --- cost of replication per 1,000 renews/s ------------------------------------------------------
renew_cost() {  # prints: achieved renews/s, CPU ms/s of each node given, RSS of each in MiB
  local port=$1
  shift
  renew_seed "$port"
  local before=() p
  for p in "$@"; do before+=("$(cpu_ticks "$p")"); done
  local out
  out=$(wrk -t1 -c"$PACED_CONNS" -d10s -s "$LUA/renew_paced.lua" \
    "http://127.0.0.1:$port/discovery/renew" -- "$PACED_DELAY" 2>&1)
  local rps i=0 line=""
  rps=$(echo "$out" | wrk_rps)
  local hz
  hz=$(getconf CLK_TCK)
  for p in "$@"; do
    local ms
    ms=$(python3 -c "print(round(($(cpu_ticks "$p") - ${before[$i]}) * 1000 / $hz / 10, 1))")
    line="$line cpu_ms_per_s=$ms rss_mib=$(rss_mib "$p")"
    i=$((i + 1))
  done
  echo "$rps$line"
}
PORT=$(free_port)
start_muster "$PORT"
single=$(renew_cost "$PORT" "$MPID")
stop_pid "$MPID"
start_cluster
cluster=$(renew_cost "$C1" "$N1" "$N2" "$N3")
stop_cluster
say "paced renews, single node: renews/s $single"
say "paced renews, 3-node cluster (A takes the load; A, B, C): renews/s $cluster"
python3 - "$single" "$cluster" <<'PY' | while read -r line; do say "$line"; done
import re, sys
single, cluster = sys.argv[1], sys.argv[2]
rate = float(cluster.split()[0])
cpu = lambda s: [float(x) for x in re.findall(r"cpu_ms_per_s=([\d.]+)", s)]
rss = lambda s: [float(x) for x in re.findall(r"rss_mib=([\d.]+)", s)]
extra_cpu = sum(cpu(cluster)) - cpu(single)[0]
print("replication cost per 1,000 renews/s: %.1f ms CPU per second over the whole cluster "
      "(A's extra over a single node: %.1f ms/s); RSS A %.1f MiB vs single %.1f MiB"
      % (extra_cpu / (rate / 1000), (cpu(cluster)[0] - cpu(single)[0]) / (rate / 1000),
         rss(cluster)[0], rss(single)[0]))
PY

echo
echo "== summary =="
cat "$TMP/summary"
