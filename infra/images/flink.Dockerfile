# An Apache Flink JobManager/TaskManager on the local Debian base: Debian's JRE and the Flink distribution that the
# pinned PyFlink wheel ships (the client's own version, so a submitted job graph always matches the cluster).
# Started as the official flink image is: `jobmanager` or `taskmanager`, configuration lines in FLINK_PROPERTIES.
ARG BASE
FROM ${BASE}
RUN apt-get update -q && apt-get install -y -q --no-install-recommends openjdk-17-jre-headless procps \
    && rm -rf /var/lib/apt/lists/*
COPY flink/ /opt/flink/
COPY flink-entrypoint.sh /opt/flink/entrypoint.sh
ENV FLINK_HOME=/opt/flink
ENTRYPOINT ["/bin/bash", "/opt/flink/entrypoint.sh"]
