FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1

WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY handlers ./handlers
COPY messages ./messages
RUN pip install . && useradd --create-home --uid 10001 stillpoint \
    && install -d -o stillpoint -m 700 /keys
# /keys: the data key file (DATA_KEY_FILE in docker-compose.yml); a new named volume
# mounted there takes this folder's owner and mode.

USER stillpoint
CMD ["stillpoint", "run"]
