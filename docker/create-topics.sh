#!/bin/sh
# Creates every Kiln topic on the compose broker; safe to run again (--if-not-exists).
# KILN_TOPICS holds "name:partitions:cleanup.policy" entries separated by blanks; it mirrors
# dev.kiln.model.topics.Topics.SPECS (the deploy module's tests keep the two equal).
set -eu
: "${KAFKA_BOOTSTRAP:?KAFKA_BOOTSTRAP is not set}"
: "${KILN_TOPICS:?KILN_TOPICS is not set}"
for spec in ${KILN_TOPICS}; do
  name=$(echo "${spec}" | cut -d: -f1)
  partitions=$(echo "${spec}" | cut -d: -f2)
  policy=$(echo "${spec}" | cut -d: -f3)
  /opt/kafka/bin/kafka-topics.sh --bootstrap-server "${KAFKA_BOOTSTRAP}" --create --if-not-exists \
    --topic "${name}" --partitions "${partitions}" --replication-factor 1 --config "cleanup.policy=${policy}"
done
/opt/kafka/bin/kafka-topics.sh --bootstrap-server "${KAFKA_BOOTSTRAP}" --list
