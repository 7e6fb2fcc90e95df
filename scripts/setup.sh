#!/usr/bin/env bash
# Installs every Debian package that building, testing and benchmarking muster needs, and the npm
# packages of the tests (npm's consul client). Idempotent: installs only what is missing, so
# `make run` and `make test` can call it every time.
set -euo pipefail

packages=(
  # build
  build-essential cmake pkg-config clang-14 clang-format libclang-rt-14-dev
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  libspdlog-dev libfmt-dev libcli11-dev libyaml-cpp-dev libc-ares-dev libssl-dev zlib1g-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  # the builds of make test (four of them) hit the cache after the first run on a machine
  ccache
  # integration tests
  python3 curl procps openssl
  # cluster partition test: network namespaces and veth pairs
  iproute2
  # benchmarks: load generator and the peers we compare against
  wrk nginx-light etcd-server etcd-client
  # muster sd: the real Prometheus it feeds, and a DNS server for dns_sd_configs
  prometheus dnsmasq-base
  # the Consul API: a real Consul client library
  python3-consul
)
# npm's consul client runs on Node.js; a machine whose Node.js came with its own npm keeps it.
command -v node >/dev/null 2>&1 || packages+=(nodejs)
command -v npm >/dev/null 2>&1 || packages+=(npm)

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
npm_tests="$here/../tests/integration/npm_consul"
install_npm_packages() {
  # The versions package-lock.json pins, once per clone.
  if [ ! -d "$npm_tests/node_modules/consul" ]; then
    echo "setup: installing the npm packages of $npm_tests"
    npm ci --prefix "$npm_tests" --no-audit --no-fund --loglevel=error
  fi
}

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  install_npm_packages
  exit 0
fi
echo "setup: installing ${missing[*]}"
sudo_cmd=()
[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
# The Debian packages start services we do not want running; tests start their own on loopback.
# Only a service whose package this run installed is stopped: one that was there before (a
# monitoring host's own Prometheus, say) is never touched.
declare -A service_of=([nginx-light]=nginx [etcd-server]=etcd [prometheus]=prometheus)
for p in "${missing[@]}"; do
  svc="${service_of[$p]:-}"
  [ -n "$svc" ] || continue
  if command -v systemctl >/dev/null 2>&1; then "${sudo_cmd[@]}" systemctl disable --now "$svc" >/dev/null 2>&1 || true; fi
done
install_npm_packages
