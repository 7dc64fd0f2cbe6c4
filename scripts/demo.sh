#!/usr/bin/env bash
# The end-to-end demo: set up, start the local stack, replay a real dataset into Kafka, show what landed.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export PATH="$PWD/.venv/bin:$PATH"

freshrec up
freshrec topics create
freshrec replay "${DATASET:-taobao-2h}"
freshrec topics count clicks
freshrec features apply
freshrec features backfill "${DATASET:-taobao-2h}"
freshrec features get --max-age 0 "${DEMO_USER:-543462}"
echo "demo: the stack keeps running; 'freshrec status' to inspect, 'freshrec down' to stop it"
