# The Wegwijs bot (channels, conversation engine, social map). Rasa runs in its own container.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    WEGWIJS_DATA_DIR=/data

WORKDIR /app
COPY pyproject.toml README.md babel.cfg ./
COPY bot ./bot
COPY social_map ./social_map
COPY locales ./locales
COPY nlu/data/areas.yml ./nlu/data/areas.yml
RUN pip install --no-cache-dir . \
    && for l in nl ar fr en; do \
         pybabel compile -D wegwijs -d locales -l "$l" -i "locales/$l/LC_MESSAGES/wegwijs.po" \
           -o "locales/$l/LC_MESSAGES/wegwijs.mo"; \
       done \
    && useradd --system --home /data wegwijs && mkdir -p /data && chown wegwijs /data

USER wegwijs
VOLUME ["/data"]
# Build the map into the volume, then run every configured channel.
CMD ["sh", "-c", "wegwijs map build && wegwijs serve"]
