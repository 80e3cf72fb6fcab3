# Production image: the official Airflow image (it ships the Celery and FAB providers)
# plus this project's pinned dependencies and the cakupan package, installed (not
# editable) so its compiled HMAC accelerator lives in site-packages where no bind mount
# can hide it. DAGs, the dbt project and GX Data Docs are mounted by docker-compose.yml,
# so they change without a rebuild.
FROM apache/airflow:3.3.2-python3.11

# C compiler and OpenSSL headers for the loader's HMAC accelerator (setup.py).
USER root
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends gcc libc6-dev libssl-dev \
 && rm -rf /var/lib/apt/lists/*
USER airflow

COPY --chown=airflow:root requirements.txt constraints.txt pyproject.toml setup.py /opt/airflow/src/
COPY --chown=airflow:root include /opt/airflow/src/include
# The last command fails the build if the accelerator did not compile.
RUN pip install --no-cache-dir -r /opt/airflow/src/requirements.txt -c /opt/airflow/src/constraints.txt \
 && pip install --no-cache-dir --no-deps /opt/airflow/src \
 && rm -rf /opt/airflow/src \
 && python -c "import cakupan._hmac_sha256"
