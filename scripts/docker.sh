#!/usr/bin/env bash
# A running Docker engine and freshrec's test images, for the testcontainers backend: installs docker.io and
# debootstrap with apt where missing, starts the daemon where none runs, builds the images that are missing (cached by
# content: `freshrec images build`). Prints the FRESHREC_TEST_*_IMAGE=... lines that point the fixtures at them.
set -euo pipefail
cd "$(dirname "$0")/.."
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

missing=()
command -v dockerd >/dev/null || missing+=(docker.io)
command -v debootstrap >/dev/null || missing+=(debootstrap)
if [ ${#missing[@]} -gt 0 ]; then
  echo "docker: installing ${missing[*]}" >&2
  $SUDO apt-get update -q >&2
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
fi

if ! docker info >/dev/null 2>&1; then
  log="${XDG_STATE_HOME:-$HOME/.local/state}/freshrec/dockerd.log"
  mkdir -p "$(dirname "$log")"
  echo "docker: starting the daemon (log: $log)" >&2
  $SUDO nohup dockerd > "$log" 2>&1 < /dev/null &
  for _ in $(seq 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
  docker info >/dev/null 2>&1 || { echo "docker: the daemon did not start; see $log" >&2; exit 1; }
fi

exec .venv/bin/freshrec images build
