# One image for every Regulars process; docker-compose.yml picks the command per service.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONPATH=/app:/app/gen/python

WORKDIR /app

# Dependencies first, so a source change does not reinstall them.
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt

RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin regulars

# Source stays root-owned (read-only for the service user).
COPY . .

USER regulars

EXPOSE 8000
CMD ["python", "-m", "gateway"]
