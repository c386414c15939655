# netlookup: one uvicorn process per container (Socket.IO needs sticky sessions; scale with more containers).

# The web page, built from web/ with the versions its package-lock.json pins.
FROM node:20-slim AS web
WORKDIR /build/web
COPY web/package.json web/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY web/ ./
RUN npm run build

FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1

WORKDIR /app
COPY pyproject.toml uv.lock README.md alembic.ini ./
COPY alembic ./alembic
COPY scripts/wheel_build.py ./scripts/
COPY src ./src
COPY --from=web /build/src/netlookup/webui ./src/netlookup/webui
# The dependencies exactly as uv.lock pins them (with their hashes), then the package itself (its wheel carries
# the migrations and the page built above).
RUN pip install --no-cache-dir "uv==0.13.8" \
    && uv export --frozen --no-dev --no-emit-project --format requirements-txt -o /tmp/requirements.txt \
    && pip install --no-cache-dir --require-hashes -r /tmp/requirements.txt \
    && pip install --no-cache-dir --no-deps . \
    && pip uninstall --yes uv && rm /tmp/requirements.txt \
    && useradd --system --uid 10001 --no-create-home netlookup \
    && install -d -o netlookup -g netlookup /var/cache/netlookup

USER netlookup
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2)"]
CMD ["netlookup", "serve", "--host", "0.0.0.0", "--port", "8000"]
