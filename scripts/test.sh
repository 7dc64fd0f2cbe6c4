#!/usr/bin/env bash
# Set up, then run the whole test suite (unit, integration on real Kafka and Redis, e2e). Extra args go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export PATH="$PWD/.venv/bin:$PATH"
ruff check --quiet schemas sources streaming feature_store inference intents infra freshrec tests bench docs/examples
exec python -m pytest "$@"
