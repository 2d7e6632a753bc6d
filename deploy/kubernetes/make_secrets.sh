#!/usr/bin/env bash
# Prints the two TLS Secrets of deploy/kubernetes as YAML, from the output directory of
# scripts/make_certs.sh, for `kubectl apply -f -`:
#   fedsilo-coordinator-tls  server.crt, server.key, ca.crt        (the coordinator Job)
#   fedsilo-silo-tls         ca.crt, SILO.crt and SILO.key per silo (the silo StatefulSet; each
#                            pod mounts only ca.crt and its own pair)
# ca.key is never put into a Secret. The server certificate must be valid for the Service name the
# silos dial (default fedsilo-coordinator); the script refuses it otherwise.
#
# Usage: bash deploy/kubernetes/make_secrets.sh [--namespace NS] [--service NAME] CERTS_DIR SILO...
#   bash scripts/make_certs.sh --server-name fedsilo-coordinator certs silo0 silo1 silo2 silo3
#   bash deploy/kubernetes/make_secrets.sh certs silo0 silo1 silo2 silo3 | kubectl apply -f -
# The same Secrets with kubectl alone (namespace fedsilo):
#   kubectl -n fedsilo create secret generic fedsilo-coordinator-tls \
#       --from-file=certs/server.crt --from-file=certs/server.key --from-file=certs/ca.crt
#   kubectl -n fedsilo create secret generic fedsilo-silo-tls --from-file=certs/ca.crt \
#       --from-file=certs/silo0.crt --from-file=certs/silo0.key ...   (every silo)
# Exit status 2 for a usage error or a missing or unfit file; nothing is printed then.
set -euo pipefail

usage() {
  echo "usage: bash deploy/kubernetes/make_secrets.sh [--namespace NS] [--service NAME] CERTS_DIR SILO..." >&2
  exit 2
}

namespace=fedsilo
service=fedsilo-coordinator
while [ $# -gt 0 ]; do
  case "$1" in
    --namespace) [ $# -ge 2 ] || usage; namespace="$2"; shift 2 ;;
    --service) [ $# -ge 2 ] || usage; service="$2"; shift 2 ;;
    -h|--help) usage ;;
    -*) echo "make_secrets: unknown option '$1'" >&2; usage ;;
    *) break ;;
  esac
done
[ $# -ge 2 ] || usage
dir="$1"
shift
silos=("$@")

need() {
  [ -s "$dir/$1" ] || { echo "make_secrets: $dir/$1 is missing (run scripts/make_certs.sh first)" >&2; exit 2; }
}
for f in ca.crt server.crt server.key; do need "$f"; done
for s in "${silos[@]}"; do need "$s.crt"; need "$s.key"; done
command -v openssl >/dev/null 2>&1 || { echo "make_secrets: openssl not found" >&2; exit 2; }
if ! openssl x509 -in "$dir/server.crt" -noout -ext subjectAltName 2>/dev/null \
    | grep -q "DNS:$service\(,\|\$\)"; then
  echo "make_secrets: $dir/server.crt is not valid for DNS:$service, the name the silos dial;" \
       "issue it with: bash scripts/make_certs.sh --force --server-name $service $dir ${silos[*]}" >&2
  exit 2
fi

# One `key: base64` line of a Secret's data.
entry() { printf '  %s: %s\n' "$1" "$(base64 -w0 < "$dir/$1")"; }

secret_header() {
  cat <<YAML
apiVersion: v1
kind: Secret
metadata:
  name: $1
  namespace: $namespace
  labels:
    app.kubernetes.io/name: fedsilo
    app.kubernetes.io/component: $2
type: Opaque
data:
YAML
}

out=$(
  secret_header fedsilo-coordinator-tls coordinator
  entry ca.crt
  entry server.crt
  entry server.key
  echo "---"
  secret_header fedsilo-silo-tls silo
  entry ca.crt
  for s in "${silos[@]}"; do entry "$s.crt"; entry "$s.key"; done
)
printf '%s\n' "$out"
