#!/usr/bin/env bash
# Certificates to try TLS and mTLS with (docs/security.md), made with openssl in DIR:
#   nodes-ca.pem             the CA of the nodes (give it as --tls-peer-ca, and to clients as --ca)
#   node-NAME.pem/.key       one certificate per node name, for 127.0.0.1 and localhost, usable
#                            as a server and as a client (towards its peers)
#   clients-ca.pem           the CA of the clients (--tls-client-ca)
#   client.pem/.key          a client certificate of that CA
# Usage: scripts/make_certs.sh DIR NAME... (e.g. scripts/make_certs.sh certs a b c).
# EC P-256 keys, valid 365 days. For trying out: a real deployment's CA keeps its key elsewhere.
set -euo pipefail
dir=$1
shift
mkdir -p "$dir"
cd "$dir"
ec=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
ca() { openssl req -x509 "${ec[@]}" -days 365 -keyout "$1.key" -out "$1.pem" -subj "/CN=$1" 2>/dev/null; }
issue() {  # issue CA NAME EXTENSIONS
  openssl req "${ec[@]}" -keyout "$2.key" -out "$2.csr" -subj "/CN=$2" 2>/dev/null
  printf "%b" "$3" >"$2.ext"
  openssl x509 -req -in "$2.csr" -CA "$1.pem" -CAkey "$1.key" -CAcreateserial -days 365 \
    -out "$2.pem" -extfile "$2.ext" 2>/dev/null
  rm -f "$2.csr" "$2.ext"
}
ca nodes-ca
ca clients-ca
for name in "$@"; do
  issue nodes-ca "node-$name" "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n"
done
issue clients-ca client "extendedKeyUsage=clientAuth\n"
echo "made in $dir: nodes-ca.pem, ${*/#/node-}, clients-ca.pem, client.pem (with their keys)"
