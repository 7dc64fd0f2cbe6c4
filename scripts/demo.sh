#!/usr/bin/env bash
# The end-to-end demo, the whole loop on MovieLens-100K: set up, start the local stack, then `freshrec demo`
# (infra/demo.py): ratings before day D through Kafka and the behavior job into Feast/Redis and the event log, a model
# trained from that log, the API and the refresher, one user's real next ratings live (top-10 before and after, the
# measured click -> fresh time), day D's intent batch from the streamed log, the response with tags and intent items.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export PATH="$PWD/.venv/bin:$PATH"

freshrec up
freshrec topics create
freshrec features apply
freshrec demo "$@"
echo "demo: the stack keeps running; 'freshrec status' to inspect, 'freshrec down' to stop it"
