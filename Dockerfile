# Production image: the official Airflow image (it ships the Celery provider) plus this
# project's pinned dependencies and package. DAGs, dbt project and GX suites are
# mounted by docker-compose.yml, so they can change without a rebuild.
FROM apache/airflow:3.3.2-python3.11

# C compiler and OpenSSL headers for the loader's HMAC accelerator (setup.py); the last
# line checks it built.
USER root
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends gcc libc6-dev libssl-dev \
 && rm -rf /var/lib/apt/lists/*
USER airflow

COPY --chown=airflow:root requirements.txt constraints.txt pyproject.toml setup.py /opt/airflow/
COPY --chown=airflow:root include /opt/airflow/include
RUN pip install --no-cache-dir -r /opt/airflow/requirements.txt -c /opt/airflow/constraints.txt \
 && pip install --no-cache-dir --no-deps -e /opt/airflow \
 && python -c "import cakupan._hmac_sha256"
