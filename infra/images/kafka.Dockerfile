# Apache Kafka (KRaft) on the local Debian base: Debian's JRE and the pinned broker jars, checked against
# infra/maven/jars.lock before they reach the build context. Configured as the official apache/kafka image is:
# every KAFKA_* variable is a broker property (KAFKA_NODE_ID -> node.id).
ARG BASE
FROM ${BASE}
RUN apt-get update -q && apt-get install -y -q --no-install-recommends openjdk-17-jre-headless \
    && rm -rf /var/lib/apt/lists/*
COPY jars/ /opt/kafka/libs/
COPY kafka-entrypoint.sh /opt/kafka/entrypoint.sh
ENTRYPOINT ["/bin/sh", "/opt/kafka/entrypoint.sh"]
