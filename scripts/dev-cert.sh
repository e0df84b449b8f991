#!/usr/bin/env bash
# Makes a development CA and a server certificate for 127.0.0.1 and localhost,
# for a worker serving TLS itself (LLM_GATEWAY_TLS_CERT_FILE / _KEY_FILE).
#
#   scripts/dev-cert.sh [out-dir]        (default: .data/tls, which git ignores)
#
# Writes ca.crt (trust this in clients, e.g. NODE_EXTRA_CA_CERTS=ca.crt or
# `curl --cacert ca.crt`), ca.key, tls.crt and tls.key (give these to the worker).
# Extra names for the server certificate: DEV_CERT_NAMES="DNS:gw.test,IP:10.0.0.5".
# Needs openssl (Debian/Ubuntu: apt-get install openssl). For development only:
# the CA key sits next to the certificates, unencrypted.
set -euo pipefail

out=${1:-.data/tls}
days=${DEV_CERT_DAYS:-397}
names="DNS:localhost,IP:127.0.0.1,IP:::1${DEV_CERT_NAMES:+,${DEV_CERT_NAMES}}"

if ! command -v openssl >/dev/null 2>&1; then
  echo "dev-cert.sh: openssl not found (Debian/Ubuntu: apt-get install openssl)" >&2
  exit 1
fi

mkdir -p "$out"
umask 077
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The CA: self-signed, allowed to sign server certificates only (pathlen 0).
openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -sha256 \
  -days "$days" -subj "/CN=llm-gateway development CA" \
  -addext "basicConstraints=critical,CA:TRUE,pathlen:0" \
  -addext "keyUsage=critical,keyCertSign,cRLSign" \
  -keyout "$out/ca.key" -out "$out/ca.crt" 2>/dev/null

# The server key and certificate, signed by that CA.
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -sha256 \
  -subj "/CN=localhost" -keyout "$out/tls.key" -out "$work/server.csr" 2>/dev/null
cat >"$work/server.ext" <<EOF
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=${names}
EOF
openssl x509 -req -in "$work/server.csr" -CA "$out/ca.crt" -CAkey "$out/ca.key" -CAcreateserial \
  -CAserial "$work/ca.srl" -days "$days" -sha256 -extfile "$work/server.ext" -out "$out/tls.crt" 2>/dev/null

chmod 0644 "$out/ca.crt" "$out/tls.crt"
echo "wrote $out/ca.crt $out/ca.key $out/tls.crt $out/tls.key (server names: ${names})"
