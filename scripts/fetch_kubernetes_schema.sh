#!/usr/bin/env bash
# Installs the Kubernetes API schema that tests/deploy/kubernetes_test.cc validates
# deploy/kubernetes against: the npm packages kubernetes-models@4.5.1 (validators compiled with
# ajv from the OpenAPI document of Kubernetes v1.33.0) and js-yaml@4.1.0, exactly as locked in
# tests/deploy/kubernetes_schema/package-lock.json, into data/kubernetes-schema/node_modules.
# Idempotent: does nothing when that lock is already installed there.
set -euo pipefail
cd "$(dirname "$0")/.."
src="tests/deploy/kubernetes_schema"
dest="data/kubernetes-schema"
if [ -f "$dest/node_modules/kubernetes-models/package.json" ] && \
   cmp -s "$src/package-lock.json" "$dest/package-lock.json"; then
  exit 0
fi
mkdir -p "$dest"
cp "$src/package.json" "$src/package-lock.json" "$dest/"
(cd "$dest" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
echo "fetch_kubernetes_schema: kubernetes-models (Kubernetes v1.33.0) installed in $dest"
