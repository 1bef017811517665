FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    INVOICEBOT_DATABASE=/data/invoicebot.sqlite INVOICEBOT_PORT=3000

WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY plugins ./plugins
COPY slack_emulator ./slack_emulator
RUN pip install --no-cache-dir . \
    && useradd --system --uid 10001 --home-dir /data --create-home invoicebot

USER invoicebot
VOLUME ["/data"]
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen(f'http://127.0.0.1:{os.environ[\"INVOICEBOT_PORT\"]}/healthz', timeout=4)"]
CMD ["invoicebot", "run"]
