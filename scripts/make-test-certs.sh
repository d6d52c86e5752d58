#!/usr/bin/env bash
# Makes throw-away certificates for tests and local trials of TLS and mutual TLS:
#   ca.pem ca.key                 the test CA
#   server.pem server.key         the server: localhost, 127.0.0.1 and the Service name of
#                                 deploy/kubernetes/ledgerd-tls.yaml (subjectAltName)
#   NAME.pem NAME.key             client certificates, subject CN=NAME, for pbx-node-a,
#                                 pbx-node-b, ops, audit, admin, stranger and probe
#   other-ca.pem                  an unrelated CA, and other-client.pem/.key signed by it
#                                 (CN=admin): a server trusting ca.pem must refuse it
# Usage: scripts/make-test-certs.sh OUT_DIR. Never use these certificates in production.
set -euo pipefail

if [ $# -ne 1 ]; then
  echo "usage: $0 OUT_DIR" >&2
  exit 2
fi
out=$1
mkdir -p "$out"
cd "$out"
days=2

make_ca() {  # NAME SUBJECT
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days "$days" \
    -subj "$2" -keyout "$1.key" -out "$1.pem" 2>/dev/null
}

make_cert() {  # NAME CN CA EXTENSIONS
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -subj "/CN=$2" -keyout "$1.key" -out "$1.csr" 2>/dev/null
  printf '%s\n' "$4" > "$1.ext"
  openssl x509 -req -in "$1.csr" -CA "$3.pem" -CAkey "$3.key" -CAcreateserial \
    -days "$days" -extfile "$1.ext" -out "$1.pem" 2>/dev/null
  rm -f "$1.csr" "$1.ext"
}

client_ext="basicConstraints=CA:FALSE
keyUsage=digitalSignature,keyEncipherment
extendedKeyUsage=clientAuth"

make_ca ca "/CN=Callback Ledger test CA"
make_cert server localhost ca "basicConstraints=CA:FALSE
keyUsage=digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=DNS:localhost,IP:127.0.0.1,DNS:callback-ledger.default.svc"
for name in pbx-node-a pbx-node-b ops audit admin stranger probe; do
  make_cert "$name" "$name" ca "$client_ext"
done
make_ca other-ca "/CN=Unrelated test CA"
make_cert other-client admin other-ca "$client_ext"
chmod 600 ./*.key
echo "make-test-certs: certificates in $out"
