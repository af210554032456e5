# The Wegwijs bot (channels, conversation engine, social map). Rasa runs in its own container.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    WEGWIJS_DATA_DIR=/data \
    WEGWIJS_HOST=0.0.0.0 \
    WEGWIJS_PORT=8080 \
    WEGWIJS_LOG_FORMAT=json

WORKDIR /app
COPY pyproject.toml README.md babel.cfg bridge_workers.sample.yml ./
COPY bot ./bot
COPY social_map ./social_map
COPY locales ./locales
COPY nlu/data/areas.yml ./nlu/data/areas.yml
# Editable, so the package finds its data (map YAML, locales) next to it in /app.
# Every catalogue in locales/ is compiled, so a new language needs no change here. A map with
# errors fails the build instead of the container's start. /data/desk-files exists in the image
# so that a volume mounted there (the replicas share one) belongs to the bot's user too.
RUN pip install --no-cache-dir -e . \
    && pybabel compile -D wegwijs -d locales --statistics \
    && wegwijs map check \
    && useradd --system --home /data wegwijs \
    && mkdir -p /data/desk-files && chown -R wegwijs /data

USER wegwijs
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=3)"
VOLUME ["/data"]
# Build the map into the volume, then run every configured channel. `exec`: the bot replaces
# the shell as PID 1, so `docker stop` (SIGTERM) reaches it and it shuts down cleanly.
CMD ["sh", "-c", "wegwijs map build && exec wegwijs serve"]
