# Multi-stage build of the single fapiao binary (with smart-card support).
FROM rust:1.95-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends libpcsclite-dev pkgconf \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# The dependencies first, in a layer of their own: a change to the sources does not rebuild
# them. (Placeholder targets stand in for the real ones while they build.)
COPY Cargo.toml Cargo.lock clippy.toml ./
RUN mkdir -p src benches \
    && echo 'fn main() {}' > src/main.rs && touch src/lib.rs \
    && for b in query statistics bulk soak load demo; do echo 'fn main() {}' > benches/$b.rs; done \
    && cargo build --release --locked --features smartcard --bin fapiao \
    && rm -rf src benches
COPY src src
COPY assets assets
COPY fixtures fixtures
COPY benches benches
# Make sure the real sources are newer than the placeholders' build.
RUN touch src/main.rs src/lib.rs && cargo build --release --locked --features smartcard --bin fapiao

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends libpcsclite1 ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --home /data fapiao && mkdir -p /data && chown fapiao /data
COPY --from=build /src/target/release/fapiao /usr/local/bin/fapiao
USER fapiao
ENV FAPIAO_DATA_DIR=/data FAPIAO_LISTEN=0.0.0.0:8443
VOLUME /data
EXPOSE 8443
# `fapiao health` asks /healthz over HTTPS, verified against the CA in the data directory.
HEALTHCHECK --interval=30s --timeout=10s --start-period=20s --retries=3 CMD ["fapiao", "health"]
ENTRYPOINT ["fapiao"]
CMD ["serve"]
