# Multi-stage build of the single fapiao binary (with smart-card support).
FROM rust:1.95-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends libpcsclite-dev pkgconf \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Cargo.toml Cargo.lock clippy.toml ./
COPY src src
COPY assets assets
COPY fixtures fixtures
COPY benches benches
RUN cargo build --release --features smartcard --bin fapiao

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends libpcsclite1 ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --home /data fapiao && mkdir -p /data && chown fapiao /data
COPY --from=build /src/target/release/fapiao /usr/local/bin/fapiao
USER fapiao
ENV FAPIAO_DATA_DIR=/data FAPIAO_LISTEN=0.0.0.0:8443
VOLUME /data
EXPOSE 8443
ENTRYPOINT ["fapiao"]
CMD ["serve"]
