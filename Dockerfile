FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot bot
COPY handlers handlers
COPY services services
COPY storage storage
COPY jobs jobs
COPY locales locales
RUN pip install . && useradd --create-home jamaat
USER jamaat
# Settings come from the environment (JAMAAT_BOT_TOKEN, JAMAAT_DATABASE_URL, JAMAAT_REDIS_URL, ...).
CMD ["jamaat", "run"]
