# The example worker: `temporal-router worker --app examples.orders --tracing`.
#
#   docker build -t temporal-router-orders .
#   docker run --rm -e TEMPORAL_ADDRESS=host:7233 temporal-router-orders
#
# Configured only through the environment: TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE,
# TEMPORAL_API_KEY, TEMPORAL_TLS_* (see docs/deployment.md) and the OTEL_* exporter variables.
FROM python:3.11.14-slim

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# The library, with the OTLP exporters (HTTP and gRPC).
COPY pyproject.toml README.md ./
COPY temporal_router ./temporal_router
RUN pip install ".[otlp]"

# The application: not part of the distribution, imported from the working directory.
COPY examples ./examples

RUN useradd --create-home --uid 10001 --user-group worker && chown worker:worker /app
USER worker

# SIGTERM (docker stop) lets running activities finish for up to --graceful-shutdown-timeout.
STOPSIGNAL SIGTERM
ENTRYPOINT ["temporal-router"]
CMD ["worker", "--app", "examples.orders", "--tracing", "--graceful-shutdown-timeout", "20"]
