# crimewatch as a container image: one image for the monthly job (`crimewatch run`, the default command) and
# for the dashboard service (`crimewatch up --addr 0.0.0.0:8080`).
#
#   docker build -t crimewatch .
#   docker run --rm -v crimewatch-data:/data crimewatch run
#   docker run --rm -p 8080:8080 -v crimewatch-data:/data crimewatch up --addr 0.0.0.0:8080
#
# The bundled DuckDB is a 20+ minute C++ compile, so the dependencies are built in a layer of their own
# (cargo-chef: the recipe changes only when Cargo.toml/Cargo.lock do) and a change to crimewatch's own code
# rebuilds only crimewatch. The runtime stage is Debian slim with the three shared libraries the binary
# links (libssl3, libstdc++6, libgcc-s1; glibc is in the base) and CA certificates for HTTPS.
# scripts/image-smoke builds this file's runtime stage around a host-built binary and runs it.
#
# No HEALTHCHECK: Docker's HEALTHCHECK is ignored by Cloud Run (which probes the port itself, see
# deploy/terraform/run.tf), the default command is a job that exits when done, and the slim runtime has no HTTP
# client to probe /api/health with.
#checkov:skip=CKV_DOCKER_2:No HEALTHCHECK: the default command is a run-to-completion job; Cloud Run ignores HEALTHCHECK and probes the service itself (deploy/terraform/run.tf); the runtime has no HTTP client.

# The build and runtime bases must be the same Debian release: the binary links that release's glibc/libssl.
FROM rust:1.95-bookworm AS chef
# DL3008 (pin apt versions): the Debian release pins them; an exact version would break the build as soon as a
# Debian security update replaces it in the archive.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends pkg-config libssl-dev \
    && rm -rf /var/lib/apt/lists/*
RUN cargo install cargo-chef --locked --version 0.1.78
WORKDIR /src

# The recipe: the dependency graph only (manifests and lock file), so the next stage's cache key changes only
# when a dependency does.
FROM chef AS planner
COPY . .
RUN cargo chef prepare --recipe-path recipe.json

FROM chef AS build
COPY --from=planner /src/recipe.json recipe.json
# Every dependency, DuckDB included, with the project's one (release) profile: the slow, cached layer.
RUN cargo chef cook --release --locked --recipe-path recipe.json
COPY . .
RUN cargo build --release --locked --bin crimewatch \
    && install -D -m 0755 target/release/crimewatch /out/crimewatch

FROM debian:bookworm-slim AS runtime
ARG DEBIAN_FRONTEND=noninteractive
# A fixed, unprivileged uid/gid (not root, not in any image's range) that owns only the data volume.
ARG APP_UID=10001
# DL3008: as above, the release (bookworm) pins the versions; security updates must be able to land.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates libssl3 libstdc++6 libgcc-s1 \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --gid "${APP_UID}" crimewatch \
    && useradd --uid "${APP_UID}" --gid crimewatch --home-dir /data --no-create-home --shell /usr/sbin/nologin \
        crimewatch \
    && install -d -o crimewatch -g crimewatch -m 0750 /data
# Owned by root and not writable by the app user: the running process cannot replace its own binary.
COPY --from=build /out/crimewatch /usr/local/bin/crimewatch
# The data dir (lake unless --lake points elsewhere, warehouse, run ledger, lock). The working directory is the
# data dir too, so a crimewatch.toml mounted there is read.
ENV CRIMEWATCH_DATA_DIR=/data \
    RUST_LOG=crimewatch=info
WORKDIR /data
VOLUME ["/data"]
USER ${APP_UID}:${APP_UID}
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/crimewatch"]
CMD ["run"]
