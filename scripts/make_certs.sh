#!/usr/bin/env bash
# Generates the TLS credentials of a networked fedsilo run with openssl: a certificate authority,
# the coordinator's server certificate and one client certificate per silo.
#
# Usage: bash scripts/make_certs.sh [--server-name HOST]... [--days N] [--force] [--shuffler] OUTDIR SILO...
#
# Writes into OUTDIR (created if needed):
#   ca.crt ca.key          the CA (ca.key signs everything; keep it off the silos' machines)
#   server.crt server.key  the coordinator: subjectAltName DNS:coordinator (the docker-compose
#                          service), DNS:localhost, IP:127.0.0.1, IP:::1, plus every
#                          --server-name (a DNS name, or an IP address)
#   SILO.crt SILO.key      one per silo name: subject CN = SILO, client authentication only;
#                          the coordinator binds a silo's --name to this CN
#   shuffler.crt .key      with --shuffler (shuffle-model runs): subject CN = shuffler (the name
#                          the coordinator's --shuffler-name expects by default), server AND
#                          client authentication (it serves the silos and dials the coordinator),
#                          subjectAltName DNS:shuffler plus the coordinator's names above
# Keys are EC P-256, unencrypted, mode 600. Existing files are kept (so silos can be added to a
# directory later) unless --force regenerates everything. A silo hands over nothing but its
# certificate request in a real deployment; this script is for trials, tests and docker-compose.
set -euo pipefail

usage() {
  echo "usage: bash scripts/make_certs.sh [--server-name HOST]... [--days N] [--force] [--shuffler] OUTDIR SILO..." >&2
  exit 2
}

server_names=(coordinator localhost)
server_ips=(127.0.0.1 ::1)
days=825
force=false
shuffler=false
while [ $# -gt 0 ]; do
  case "$1" in
    --server-name)
      [ $# -ge 2 ] || usage
      if [[ "$2" =~ ^[0-9.]+$ || "$2" == *:* ]]; then server_ips+=("$2"); else server_names+=("$2"); fi
      shift 2 ;;
    --days)
      [ $# -ge 2 ] && [[ "$2" =~ ^[1-9][0-9]*$ ]] || { echo "make_certs: --days needs a positive integer" >&2; exit 2; }
      days="$2"; shift 2 ;;
    --force) force=true; shift ;;
    --shuffler) shuffler=true; shift ;;
    -h|--help) usage ;;
    --) shift; break ;;
    -*) echo "make_certs: unknown option '$1'" >&2; usage ;;
    *) break ;;
  esac
done
[ $# -ge 1 ] || usage
out="$1"
shift
silos=("$@")

command -v openssl >/dev/null 2>&1 || { echo "make_certs: openssl not found (apt-get install openssl)" >&2; exit 1; }
declare -A seen=()
for name in "${silos[@]}"; do
  if ! [[ "$name" =~ ^[A-Za-z0-9][A-Za-z0-9._-]*$ ]]; then
    echo "make_certs: bad silo name '$name' (letters, digits, '.', '_', '-'; not starting with punctuation)" >&2
    exit 2
  fi
  case "$name" in
    ca|server|shuffler) echo "make_certs: '$name' cannot be a silo name (its files would clash with $name.crt)" >&2; exit 2 ;;
  esac
  if [ -n "${seen[$name]:-}" ]; then echo "make_certs: silo name '$name' given twice" >&2; exit 2; fi
  seen[$name]=1
done

mkdir -p "$out"
umask 077
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

new_key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
serial() { echo "0x$(openssl rand -hex 16)"; }

# Writes $out/$1.crt and $out/$1.key (both via temporary files, so a failure leaves nothing half
# written): subject CN $2, extensions from the text $3, signed by the CA.
issue() {
  local stem="$1" cn="$2" extensions="$3"
  new_key "$tmp/$stem.key"
  openssl req -new -key "$tmp/$stem.key" -subj "/O=fedsilo/CN=$cn" -out "$tmp/$stem.csr"
  printf '%s\n' "$extensions" > "$tmp/$stem.ext"
  openssl x509 -req -in "$tmp/$stem.csr" -CA "$out/ca.crt" -CAkey "$out/ca.key" \
    -set_serial "$(serial)" -days "$days" -sha256 -extfile "$tmp/$stem.ext" \
    -out "$tmp/$stem.crt" 2>/dev/null
  mv "$tmp/$stem.key" "$out/$stem.key"
  mv "$tmp/$stem.crt" "$out/$stem.crt"
  chmod 600 "$out/$stem.key"
  chmod 644 "$out/$stem.crt"
  echo "make_certs: wrote $out/$stem.crt ($cn)"
}

if $force || [ ! -f "$out/ca.crt" ] || [ ! -f "$out/ca.key" ]; then
  new_key "$tmp/ca.key"
  openssl req -x509 -new -key "$tmp/ca.key" -subj "/O=fedsilo/CN=fedsilo CA" -days "$days" -sha256 \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -out "$tmp/ca.crt"
  mv "$tmp/ca.key" "$out/ca.key"
  mv "$tmp/ca.crt" "$out/ca.crt"
  chmod 600 "$out/ca.key"
  chmod 644 "$out/ca.crt"
  echo "make_certs: wrote $out/ca.crt (new CA)"
  force=true  # a new CA invalidates every certificate signed by an old one
fi

san=""
for n in "${server_names[@]}"; do san+="${san:+,}DNS:$n"; done
for ip in "${server_ips[@]}"; do san+="${san:+,}IP:$ip"; done
if $force || [ ! -f "$out/server.crt" ] || [ ! -f "$out/server.key" ]; then
  issue server coordinator "basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=$san"
fi
if $shuffler && { $force || [ ! -f "$out/shuffler.crt" ] || [ ! -f "$out/shuffler.key" ]; }; then
  issue shuffler shuffler "basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth,clientAuth
subjectAltName=DNS:shuffler,$san"
fi
for name in "${silos[@]}"; do
  if $force || [ ! -f "$out/$name.crt" ] || [ ! -f "$out/$name.key" ]; then
    issue "$name" "$name" "basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=clientAuth"
  fi
done
