# Multi-stage: build dependency wheels with compilers in one stage, run without them.
FROM python:3.11-slim AS build
WORKDIR /src
RUN pip install --no-cache-dir --upgrade pip
COPY requirements.txt ./
RUN pip wheel --no-cache-dir --wheel-dir /wheels -r requirements.txt

FROM python:3.11-slim AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PYTHONPATH=/app METRICX_ENV=production
RUN useradd --create-home --uid 10001 metricx
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels \
 && printf '#!/bin/sh\nexec python -m metricx.cli "$@"\n' > /usr/local/bin/metricx \
 && chmod 755 /usr/local/bin/metricx
WORKDIR /app
# The source tree as it is laid out in the repository (migrations are found beside it).
COPY --chown=metricx:metricx app.py alembic.ini pyproject.toml ./
COPY --chown=metricx:metricx metricx ./metricx
COPY --chown=metricx:metricx workers ./workers
COPY --chown=metricx:metricx ui ./ui
COPY --chown=metricx:metricx views ./views
COPY --chown=metricx:metricx .streamlit ./.streamlit
COPY --chown=metricx:metricx migrations ./migrations
USER metricx
EXPOSE 8501
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8501/_stcore/health', timeout=4).read() != b'ok')"
CMD ["streamlit", "run", "app.py", "--server.port=8501", "--server.address=0.0.0.0", \
     "--server.headless=true", "--browser.gatherUsageStats=false"]
