# invpipe image. Each build step is the command the test suite already runs on a plain machine
# (scripts/bootstrap.sh's `bun install --frozen-lockfile`, then `bun run build`), so the image is
# built from exactly what the tests exercised.
FROM oven/bun:1.4.4 AS build
WORKDIR /src
COPY package.json bun.lock ./
# The driver patch (README, "Reliability") is applied by the install.
COPY scripts/patches ./scripts/patches
RUN bun install --frozen-lockfile
COPY tsconfig.json bunfig.toml ./
COPY src ./src
RUN bun run build

# The compiled binary carries its runtime: the final image needs only glibc and CA certificates.
FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home /data invpipe && mkdir -p /data && chown invpipe /data
COPY --from=build /src/dist/invpipe /usr/local/bin/invpipe
USER invpipe
WORKDIR /data
# MIMALLOC_PURGE_DELAY is not set here: invpipe chooses it by the container's memory limit at
# start (src/memory-settings.ts; README, "Configuration"), which an image cannot know.
ENV DATA_DIR=/data METRICS_PORT=9464
EXPOSE 9464
# Ready only while the consumer is in its group and PostgreSQL answers (see README, Observability).
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 CMD ["invpipe", "health"]
ENTRYPOINT ["invpipe"]
CMD ["consume"]
