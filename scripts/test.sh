#!/usr/bin/env bash
# Set up, then run the whole test suite (unit, integration on real Kafka and Redis, e2e) on the project's local
# processes, then the Kafka/Redis/Flink integration tests again under testcontainers, on images built here
# (scripts/docker.sh: Docker installed and started where missing). Arguments: pytest's, for one run on the backend
# FRESHREC_TEST_SERVICES chooses. FRESHREC_TEST_DOCKER=0 skips the container run (a machine where Docker cannot run).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export PATH="$PWD/.venv/bin:$PATH"
ruff check --quiet schemas sources streaming feature_store inference intents infra freshrec tests bench docs/examples
[ $# -eq 0 ] || exec python -m pytest "$@"

FRESHREC_TEST_SERVICES=local python -m pytest
[ "${FRESHREC_TEST_DOCKER:-1}" != 0 ] || exit 0
echo "test: the Kafka/Redis/Flink integration tests again under testcontainers (FRESHREC_TEST_DOCKER=0 skips them)"
images="$(scripts/docker.sh)"
in_containers=(
  tests/integration/freshrec tests/integration/feature_store tests/integration/inference/serving
  tests/integration/streaming/test_behavior_job.py tests/integration/streaming/test_dead_letters.py
  tests/integration/streaming/test_late_events.py tests/integration/streaming/test_snapshot_writer.py
  tests/integration/streaming/test_session_cluster.py tests/integration/streaming/test_session_resume.py
  tests/integration/streaming/test_rescale.py tests/e2e/test_plugin_example.py
)
# shellcheck disable=SC2086  # $images: NAME=value lines, one word each
env $images FRESHREC_TEST_SERVICES=docker python -m pytest -p no:cacheprovider "${in_containers[@]}"
