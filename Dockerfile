# Production image: the official Airflow image (it ships the Celery provider) plus this
# project's pinned dependencies and package. DAGs, dbt project and GX suites are
# mounted by docker-compose.yml, so they can change without a rebuild.
FROM apache/airflow:3.3.2-python3.11

COPY --chown=airflow:root requirements.txt constraints.txt pyproject.toml /opt/airflow/
COPY --chown=airflow:root include /opt/airflow/include
RUN pip install --no-cache-dir -r /opt/airflow/requirements.txt -c /opt/airflow/constraints.txt \
 && pip install --no-cache-dir --no-deps -e /opt/airflow

ENV CAKUPAN_HOME=/opt/airflow
