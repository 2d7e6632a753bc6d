# fedsilo on Debian 12. The packages come from scripts/apt-packages.txt through scripts/setup.sh,
# the same script a bare machine runs, so the image and the set-up cannot drift apart.
#   docker build -t fedsilo .
#   docker run --rm fedsilo --help
# The source tree (configs, scripts) is the working directory /opt/fedsilo; the binary is on PATH
# as `fedsilo` and is the entrypoint. MNIST is fetched at build time into /opt/fedsilo/data/mnist
# (the loader's fallback), so the MNIST examples need no mounted data.
FROM debian:bookworm

ENV DEBIAN_FRONTEND=noninteractive
WORKDIR /opt/fedsilo

# Packages first, in their own layer: source edits do not reinstall them.
COPY scripts/setup.sh scripts/apt-packages.txt scripts/
RUN bash scripts/setup.sh --packages-only && rm -rf /var/lib/apt/lists/*

COPY . .
RUN FEDSILO_BUILD_DIR=build bash scripts/setup.sh \
    && ln -s /opt/fedsilo/build/fedsilo /usr/local/bin/fedsilo \
    && fedsilo --version

ENTRYPOINT ["fedsilo"]
CMD ["--help"]
