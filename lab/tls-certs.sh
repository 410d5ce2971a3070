#!/bin/sh
# Lab CA and per-host certificates for redis_tls (never for production: the CA key sits next to the certs).
#   lab/tls-certs.sh DIR NAME=ADDRESS [NAME=ADDRESS ...]
# Writes DIR/ca.crt, DIR/ca.key and DIR/NAME.crt, DIR/NAME.key (subjectAltName: ADDRESS, 127.0.0.1, NAME).
# Existing files are kept, so re-runs change nothing. Inventory: redis_tls_ca_src: DIR/ca.crt,
# redis_tls_cert_src: DIR/{{ inventory_hostname }}.crt, redis_tls_key_src: DIR/{{ inventory_hostname }}.key.
set -eu
[ $# -ge 2 ] || { echo "usage: $0 DIR NAME=ADDRESS [NAME=ADDRESS ...]" >&2; exit 2; }
dir=$1; shift
mkdir -p "$dir"
umask 077
if [ ! -s "$dir/ca.crt" ]; then
  openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 3650 -subj "/CN=ha.redis lab CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -keyout "$dir/ca.key" -out "$dir/ca.crt" 2>/dev/null
  echo "created $dir/ca.crt"
fi
for pair in "$@"; do
  name=${pair%%=*}; addr=${pair#*=}
  [ -s "$dir/$name.crt" ] && continue
  ext="$dir/$name.ext"
  # What a strict verifier (Python 3.13's default VERIFY_X509_STRICT) requires of a leaf: an authority key identifier,
  # key usage and basic constraints besides the names.
  printf '%s\n' "subjectAltName=IP:$addr,IP:127.0.0.1,DNS:$name" 'extendedKeyUsage=serverAuth,clientAuth' \
    'keyUsage=critical,digitalSignature,keyEncipherment' 'basicConstraints=critical,CA:FALSE' \
    'subjectKeyIdentifier=hash' 'authorityKeyIdentifier=keyid,issuer' > "$ext"
  openssl req -newkey rsa:2048 -nodes -sha256 -subj "/CN=$name" -keyout "$dir/$name.key" -out "$dir/$name.csr" 2>/dev/null
  openssl x509 -req -sha256 -days 825 -in "$dir/$name.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" \
    -CAcreateserial -extfile "$ext" -out "$dir/$name.crt" 2>/dev/null
  rm -f "$dir/$name.csr" "$ext"
  echo "created $dir/$name.crt"
done
chmod 0644 "$dir"/*.crt
