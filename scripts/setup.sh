#!/usr/bin/env bash
# Set up everything freshrec needs on a fresh Debian machine; idempotent and cached, safe to run on every call.
#   system: Java 17, Maven, redis-server, a C compiler and Python headers (apt, only when missing)
#   python: .venv with the pinned environment incl. the model and intents extras (torch, CPU or CUDA; llama-cpp-python,
#           compiled once from source for the CPU family, ~5-25 min on 2 cores, then reused from a wheel cached in
#           ~/.cache/freshrec/wheels; requirements.lock), reinstalled only when the pins change
#   data:   MovieLens-100K's archive (RecBole's wheel from PyPI), SHA-256-verified, cached in ~/.cache/freshrec
#   jars:   Kafka broker + Flink connectors from Maven Central, SHA-256-verified, cached in ~/.cache/freshrec;
#           the project's own Flink functions (streaming/jvm) built with Maven
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v java >/dev/null || missing+=(openjdk-17-jre-headless)
command -v mvn >/dev/null || missing+=(maven)
command -v redis-server >/dev/null || missing+=(redis-server)
command -v cc >/dev/null || missing+=(gcc)  # schemas/_wire.c, built by pip install -e .
command -v c++ >/dev/null || missing+=(g++)  # llama-cpp-python, compiled once by pip (the intents extra)
PYTHON="${PYTHON:-python3.11}"
"$PYTHON" -c 'import os, sys, sysconfig; sys.exit(not os.path.exists(sysconfig.get_paths()["include"] + "/Python.h"))' \
  || missing+=(python3-dev)
if ((${#missing[@]})); then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# llama.cpp is compiled for the CPU family (x86-64-v3: AVX2, FMA, F16C), not for this CPU: a -march=native build
# uses what the build machine has (AMX tiles here), and a machine or VM that does not grant it faults on the first
# request. The wheel is cached outside the repo, keyed by version and flags.
llama_version="$(sed -nE 's/^llama[-_]cpp[-_]python==//Ip' requirements.lock)"
[ -n "$llama_version" ] || { echo "setup: no llama-cpp-python pin in requirements.lock" >&2; exit 1; }
llama_flags=""
[ "$(uname -m)" = x86_64 ] && llama_flags="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON"
llama_wheels="$HOME/.cache/freshrec/wheels/llama-cpp-python-$llama_version-$(echo "$llama_flags" | sha256sum | cut -c1-12)"

[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
stamp=.venv/.freshrec-pins
want="$(cat pyproject.toml requirements.lock schemas/_wire.c | sha256sum | cut -d' ' -f1)-$(basename "$llama_wheels")"  # the C source too: its build lives in the tree
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "setup: installing the Python environment (pinned; pip's cache makes repeats fast)"
  .venv/bin/python -m pip install -q --upgrade "pip==24.3.1"
  if ! ls "$llama_wheels"/llama_cpp_python-*.whl >/dev/null 2>&1; then
    echo "setup: compiling llama-cpp-python $llama_version (once per version and flags)"
    CMAKE_ARGS="$llama_flags" .venv/bin/python -m pip wheel -q --no-deps --no-cache-dir -w "$llama_wheels" \
      "llama-cpp-python==$llama_version"
  fi
  .venv/bin/python -m pip install -q --force-reinstall --no-deps "$llama_wheels"/llama_cpp_python-*.whl
  .venv/bin/python -m pip install -q -c requirements.lock -e ".[dev,model,intents,text]"
  echo "$want" > "$stamp"
fi

.venv/bin/freshrec jars fetch >/dev/null
.venv/bin/freshrec datasets fetch >/dev/null

# The JVM-side functions of the Flink jobs (streaming/jvm), rebuilt when their sources or the schemas they package
# change.
jvm_stamp=streaming/jvm/target/.freshrec-sources
jvm_want="$(find streaming/jvm/pom.xml streaming/jvm/src schemas/avro -type f -print0 | sort -z | xargs -0 cat | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$jvm_stamp" 2>/dev/null)" != "$jvm_want" ]; then
  echo "setup: building streaming/jvm (mvn package)"
  log="$(mktemp)"
  mvn -q -B -f streaming/jvm/pom.xml package >"$log" 2>&1 || { cat "$log"; exit 1; }
  echo "$jvm_want" > "$jvm_stamp"
fi
echo "setup: ready (.venv, jars verified, job jar built)"
