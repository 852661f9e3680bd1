# syntax=docker/dockerfile:1
# The socket-node's image: its release binary and the web apps it serves (the widget and the
# console, socket-node/web/dist). Built from the root of the clone, for the architecture the
# stack runs (scripts/deploy image does this and pushes it):
#
#   docker build -f infra/aws/socket-node.Dockerfile -t parley-socket-node .
#
# It listens on 0.0.0.0:8090 and reads everything else from the environment
# (infra/aws/template.yaml sets it).

ARG RUST_VERSION=1.95
ARG NODE_VERSION=20

FROM rust:${RUST_VERSION}-bookworm AS server
# rdkafka builds its bundled librdkafka: the image has the C toolchain, make and perl; zlib's
# headers are added.
RUN apt-get update && apt-get install -y --no-install-recommends zlib1g-dev && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p socket-node && cp target/release/socket-node /usr/local/bin/

FROM node:${NODE_VERSION}-bookworm-slim AS web
WORKDIR /web
COPY socket-node/web/package.json socket-node/web/package-lock.json ./
# Browsers are for the tests, never needed here.
RUN PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund
COPY socket-node/web/ ./
RUN npm run build

FROM debian:bookworm-slim
# CA certificates for MongoDB over TLS (Atlas).
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates && rm -rf /var/lib/apt/lists/*
COPY --from=server /usr/local/bin/socket-node /usr/local/bin/socket-node
COPY --from=web /web/dist /app/web
ENV PARLEY_HTTP_ADDR=0.0.0.0:8090 \
    PARLEY_WEB_DIR=/app/web \
    PARLEY_LOG_FORMAT=json
USER 10001
EXPOSE 8090
ENTRYPOINT ["/usr/local/bin/socket-node"]
