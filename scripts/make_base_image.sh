#!/usr/bin/env bash
# Makes the Docker base image debian:bookworm from Debian's packages with debootstrap, for machines
# that cannot pull from an image registry. The mirror is the one apt already uses (override with
# DEBIAN_MIRROR). Does nothing when the image exists. Needs root and a running Docker daemon.
#   scripts/make_base_image.sh [image-tag]      (default debian:bookworm)
set -euo pipefail

tag="${1:-debian:bookworm}"
docker="${DOCKER:-docker}"

if "$docker" image inspect "$tag" >/dev/null 2>&1; then
  echo "make_base_image: $tag already present"
  exit 0
fi
command -v debootstrap >/dev/null || {
  echo "make_base_image: debootstrap is missing (apt-get install debootstrap)" >&2; exit 1; }

mirror="${DEBIAN_MIRROR:-}"
if [[ -z "$mirror" ]]; then
  # The first Debian archive URI apt is configured with, deb822 (URIs:) or one-line (deb URI suite) style.
  mirror=$(grep -rhoE '^(URIs:|deb) +https?://[^ ]+' /etc/apt/sources.list /etc/apt/sources.list.d/ \
             2>/dev/null | awk '{print $2}' | grep -E '/debian/?$' | head -n1 || true)
  mirror="${mirror:-http://deb.debian.org/debian}"
fi

rootfs=$(mktemp -d /tmp/fedsilo-rootfs.XXXXXX)
trap 'rm -rf "$rootfs"' EXIT
echo "make_base_image: debootstrap bookworm from $mirror"
debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$rootfs.log" 2>&1 || {
  tail -n 20 "$rootfs.log" >&2; echo "make_base_image: debootstrap failed" >&2; exit 1; }
rm -f "$rootfs.log"
# Same apt sources inside the image as a debian:bookworm from a registry would carry.
cat >"$rootfs/etc/apt/sources.list" <<SOURCES
deb $mirror bookworm main
deb $mirror bookworm-updates main
deb ${mirror%/debian}/debian-security bookworm-security main
SOURCES
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
chmod 755 "$rootfs"  # mktemp made it 0700, and it becomes the image's /: every user must enter it
# The configuration a registry's debian:bookworm carries: without PATH, an exec-form ENTRYPOINT
# such as ["fedsilo"] is not found.
tar -C "$rootfs" -c . | "$docker" import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'CMD ["bash"]' - "$tag" >/dev/null
echo "make_base_image: imported $tag ($("$docker" image inspect -f '{{.Size}}' "$tag") bytes)"
