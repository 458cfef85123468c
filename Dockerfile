FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1

WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY handlers ./handlers
COPY messages ./messages
RUN pip install . && useradd --create-home --uid 10001 stillpoint

USER stillpoint
CMD ["stillpoint", "run"]
