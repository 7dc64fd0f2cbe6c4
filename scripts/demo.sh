#!/usr/bin/env bash
# The end-to-end demo: set up, start the local stack, replay a real dataset into Kafka, build features, tag the demo
# user's intents with the embedded LLM, show what landed.
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
# the daily intent batch for the demo user's day (the embedded LLM is started and stopped for the run)
freshrec intents run --date "${DEMO_DATE:-2017-11-26}" --user "${DEMO_USER:-543462}"
freshrec features get --max-age 0 "${DEMO_USER:-543462}"
echo "demo: the stack keeps running; 'freshrec status' to inspect, 'freshrec down' to stop it"
