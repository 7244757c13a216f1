# The gallows image: the static binary and nothing else. No base image is
# pulled, so it builds without a registry. Build it with `make image`, which
# first builds bin/gallows with CGO_ENABLED=0.
FROM scratch
COPY bin/gallows /gallows
# Both roles run from this image; the health check defaults to a backend's
# admin address (--http-addr 0.0.0.0:8000). docker-compose.yml sets the
# address and path per service.
HEALTHCHECK --interval=5s --timeout=3s --start-period=60s --retries=3 \
  CMD ["/gallows", "healthcheck", "--addr", "127.0.0.1:8000"]
ENTRYPOINT ["/gallows"]
CMD ["--help"]
