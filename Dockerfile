# wallboard in a container: the web process, aggregator and collectors of config.yaml.
# Redis comes from the environment (WALLBOARD_REDIS_URL); without it an embedded
# Redis starts inside the container, with its data in the /app/.wallboard volume.
#   docker build -t wallboard .
#   docker run -p 8050:8050 -e WALLBOARD_REDIS_URL=redis://redis:6379/0 wallboard
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY wallboard ./wallboard
COPY assets ./assets
COPY config.yaml ./
# The health checks of the aggregators and collectors in compose.yaml (they serve no HTTP).
COPY deploy/healthcheck.py ./deploy/
RUN pip install -e . && useradd --system wallboard && mkdir -p /app/.wallboard && chown wallboard /app/.wallboard
USER wallboard
# Serve the screens on every interface of the container.
ENV WALLBOARD_CONFIG=/app/config.yaml WALLBOARD_WEB_HOST=0.0.0.0
EXPOSE 8050
VOLUME ["/app/.wallboard"]
HEALTHCHECK --interval=30s --timeout=5s CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8050/healthz').status != 200)"
CMD ["wallboard", "run"]
