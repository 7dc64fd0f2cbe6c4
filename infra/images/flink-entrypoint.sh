#!/bin/bash
# `jobmanager` or `taskmanager` in the foreground. Every "key: value" line of FLINK_PROPERTIES is merged into a copy
# of the distribution's config.yaml by Flink's own parser (as in the official image); the copy and the logs live in a
# fresh folder, so the container runs as whatever user it is given (the owner of the host folders it writes to).
set -euo pipefail
role="${1:?usage: jobmanager|taskmanager [args...]}"
shift
case "$role" in jobmanager|taskmanager) ;; *) exec "$role" "$@" ;; esac
work="$(mktemp -d)"
export FLINK_CONF_DIR="$work/conf" FLINK_LOG_DIR="$work/log"
cp -r "$FLINK_HOME/conf" "$FLINK_CONF_DIR"
mkdir -p "$FLINK_LOG_DIR"
dynamic=()
while IFS= read -r line; do
  [[ "$line" =~ ^[[:space:]]*([^:#[:space:]]+)[[:space:]]*:[[:space:]]*(.*)$ ]] || continue
  dynamic+=(-D "${BASH_REMATCH[1]}=${BASH_REMATCH[2]}")
done <<< "${FLINK_PROPERTIES:-}"
if [ ${#dynamic[@]} -gt 0 ]; then
  bash "$FLINK_HOME/bin/config-parser-utils.sh" "$FLINK_CONF_DIR" "$FLINK_HOME/bin" "$FLINK_HOME/lib" "${dynamic[@]}"
fi
exec bash "$FLINK_HOME/bin/$role.sh" start-foreground "$@"
