# syntax=docker/dockerfile:1
# Cargo.toml says rust-version 1.85, but the locked dependencies need more:
# sqlx 0.9.0 declares rust-version 1.94 (lopdf 0.47 1.88). Dev machine: 1.95.
ARG RUST_VERSION=1.95
FROM rust:${RUST_VERSION}-bookworm AS build
WORKDIR /src
# Whole context (see .dockerignore): src/, migrations, templates, build.rs ...
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked \
    && cp target/release/printgate /usr/local/bin/printgate

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates qpdf poppler-utils \
       libreoffice-writer-nogui libreoffice-calc-nogui libreoffice-impress-nogui python3-uno \
       libheif-examples fonts-dejavu-core fonts-wqy-zenhei fonts-liberation2 \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --home-dir /var/lib/printgate --create-home printgate
COPY --from=build /usr/local/bin/printgate /usr/local/bin/printgate
USER printgate
WORKDIR /var/lib/printgate
# glibc malloc: large buffers stay mmap'd and go back to the system when freed (see
# contrib/printgate.service and docs/benchmarks.md, "Scaling").
ENV MALLOC_MMAP_THRESHOLD_=131072
EXPOSE 2525
ENTRYPOINT ["/usr/local/bin/printgate"]
CMD ["serve", "--config", "/etc/printgate/printgate.toml"]
