#!/bin/sh
# KAFKA_* variables -> server.properties (KAFKA_HEAP_OPTS and CLUSTER_ID excepted), storage formatted on first start.
set -eu
props=/opt/kafka/server.properties
: > "$props"
env | sed -n 's/^KAFKA_\([A-Z0-9_]*\)=\(.*\)$/\1 \2/p' | while read -r name value; do
  [ "$name" = HEAP_OPTS ] && continue
  echo "$(echo "$name" | tr 'A-Z_' 'a-z.')=$value" >> "$props"
done
grep -q '^log.dirs=' "$props" || echo "log.dirs=/var/lib/kafka/data" >> "$props"
java -cp '/opt/kafka/libs/*' kafka.tools.StorageTool format --ignore-formatted \
  -t "${CLUSTER_ID:-5L6g3nShT-eMCtK--X86sw}" -c "$props" > /dev/null
exec java ${KAFKA_HEAP_OPTS:--Xmx512m} -XX:+UseG1GC -cp '/opt/kafka/libs/*' kafka.Kafka "$props"
