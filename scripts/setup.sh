#!/usr/bin/env bash
# One-shot set-up for a fresh Debian/Ubuntu machine: system packages (apt, only
# when missing) and the Python environment in .venv. Safe to run again: it
# skips what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

# baresip-core (a real SIP client) and chromium (a real browser) are what the telephony and
# web app tests call the IVR and the review app with.
APT_PACKAGES=(espeak-ng libespeak-ng1 libportaudio2 libsndfile1 graphviz baresip-core chromium chromium-driver)
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing system packages: ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv"
  "$PY" -m venv .venv
fi
stamp=.venv/.callwright-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || [ constraints.txt -nt "$stamp" ]; then
  echo "setup: installing Python packages into .venv (first run takes a few minutes)"
  .venv/bin/pip install -q --upgrade pip
  # torch first and pinned: an unpinned torch pulls a multi-GB CUDA build.
  .venv/bin/pip install -q "torch==2.13.0"
  # constraints.txt: the versions the suite was last run with (make constraints refreshes it).
  .venv/bin/pip install -q -c constraints.txt -e ".[dev]"
  touch "$stamp"
fi
