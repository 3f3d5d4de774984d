#!/bin/sh
# Creates the Kiln bucket and routes its object events to Kafka through MinIO's notify_kafka target:
# put and delete under datasets/ and jobs/. Idempotent, so it can run on every deploy.
# Used by the docker-compose `minio-init` service and the Kubernetes `kiln-bucket-init` Job.
# MinIO must already have the target configured (MINIO_NOTIFY_KAFKA_ENABLE_<ID>=on, ...), otherwise
# `mc event add` fails with "ARN not found".
set -eu
: "${KILN_S3_ENDPOINT:?KILN_S3_ENDPOINT is not set}"
: "${KILN_S3_ACCESS_KEY:?KILN_S3_ACCESS_KEY is not set}"
: "${KILN_S3_SECRET_KEY:?KILN_S3_SECRET_KEY is not set}"
: "${KILN_BUCKET:=kiln}"
: "${KILN_MINIO_NOTIFY_ARN:=arn:minio:sqs::KILN:kafka}"

# mc keeps its aliases in a config dir; a throwaway one works with read-only root file systems.
mc_dir=$(mktemp -d)
mc() { command mc --config-dir "${mc_dir}" --quiet "$@"; }

attempt=0
until mc alias set kiln "${KILN_S3_ENDPOINT}" "${KILN_S3_ACCESS_KEY}" "${KILN_S3_SECRET_KEY}" >/dev/null; do
  attempt=$((attempt + 1))
  if [ "${attempt}" -ge 30 ]; then
    echo "MinIO at ${KILN_S3_ENDPOINT} did not answer after ${attempt} attempts" >&2
    exit 1
  fi
  sleep 2
done

mc mb --ignore-existing "kiln/${KILN_BUCKET}"
for prefix in datasets/ jobs/; do
  mc event add --ignore-existing "kiln/${KILN_BUCKET}" "${KILN_MINIO_NOTIFY_ARN}" --event put,delete --prefix "${prefix}"
done
mc event ls "kiln/${KILN_BUCKET}"
