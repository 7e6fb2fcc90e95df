# Helpers shared by the benchmark scripts: ports, processes (stopped by PID on exit), wrk.
# Expects MUSTER and LUA set, and WRK_THREADS, WRK_CONNS, WRK_SECONDS if wrk_run is used.
TMP=$(mktemp -d)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$TMP"
}
trap cleanup EXIT
ulimit -n "$(ulimit -Hn)"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() {
  for _ in $(seq 1 200); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    sleep 0.05
  done
  echo "port $1 did not open" >&2
  return 1
}
rss_mib() { awk '/VmRSS/ {printf "%.1f", $2/1024}' "/proc/$1/status"; }
wrk_rps() { awk '/Requests\/sec/ {print $2}'; }
start_muster() {  # start_muster PORT [options...]; sets MPID
  local port=$1
  shift
  "$MUSTER" serve --listen "127.0.0.1:$port" --log-level warn "$@" >"$TMP/muster-$port.log" 2>&1 &
  MPID=$!
  PIDS+=("$MPID")
  wait_port "$port"
}
# Waits until a node holds $2 instances, or its count stops growing (wrk may lose a request or two
# when it closes connections); sets n to the count reached.
wait_filled() {
  local last=-1 still=0
  for _ in $(seq 1 1200); do
    n=$(curl -s "http://127.0.0.1:$1/metrics" | awk '/^muster_instances / {print $2}')
    [ "${n:-0}" -ge "$2" ] && return 0
    if [ "${n:-0}" -eq "$last" ]; then still=$((still + 1)); else still=0; fi
    [ "$still" -ge 6 ] && return 0
    last=${n:-0}
    sleep 0.5
  done
}
# nginx answering every path with a 16-byte JSON body on keep-alive: the reference server of the
# throughput figures. start_nginx PORT [CERT KEY]; with CERT and KEY over TLS 1.2+ (HTTPS);
# sets NGINX_PID.
start_nginx() {
  local tls=""
  [ $# -ge 3 ] && tls="ssl; ssl_certificate $2; ssl_certificate_key $3; ssl_protocols TLSv1.2 TLSv1.3"
  mkdir -p "$TMP/nginx"
  cat >"$TMP/nginx/nginx.conf" <<CONF
worker_processes auto;
pid $TMP/nginx/nginx.pid;
error_log $TMP/nginx/error.log;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  client_body_temp_path $TMP/nginx;
  proxy_temp_path $TMP/nginx; fastcgi_temp_path $TMP/nginx; uwsgi_temp_path $TMP/nginx; scgi_temp_path $TMP/nginx;
  server {
    listen 127.0.0.1:$1 $tls;
    location / { default_type application/json; return 200 '{"code":0,"m":1}'; }
  }
}
CONF
  nginx -c "$TMP/nginx/nginx.conf" -p "$TMP/nginx" -g 'daemon off;' &
  NGINX_PID=$!
  PIDS+=("$NGINX_PID")
  wait_port "$1"
}
stop_pid() { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }
wrk_run() { wrk -t"$WRK_THREADS" -c"$WRK_CONNS" -d"${WRK_SECONDS}s" "$@" 2>&1; }
say() { printf '%s\n' "$*" | tee -a "$TMP/summary"; }

