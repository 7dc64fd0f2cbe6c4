# Redis from Debian's redis-server on the local Debian base. Protected mode off: clients come through the engine's
# port forwarding, not from loopback; the port is published on the host's 127.0.0.1 only.
ARG BASE
FROM ${BASE}
RUN apt-get update -q && apt-get install -y -q --no-install-recommends redis-server \
    && rm -rf /var/lib/apt/lists/*
EXPOSE 6379
CMD ["redis-server", "--protected-mode", "no", "--save", "", "--appendonly", "no"]
