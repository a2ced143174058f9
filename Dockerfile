# The renewal app for docker-compose (PostGIS runs in its own container; see docker-compose.yml).
FROM python:3.11-slim
WORKDIR /srv/renewal
COPY . .
RUN pip install --no-cache-dir -e .
EXPOSE 8000
CMD ["sh", "-c", "renewal db migrate && renewal sample --if-empty && renewal serve --host 0.0.0.0 --port 8000"]
