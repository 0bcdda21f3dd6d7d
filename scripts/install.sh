#!/usr/bin/env bash
# Installs what Hotline needs on a fresh Debian machine (run as root) into ./.venv.
#   scripts/install.sh          the service's runtime
#   scripts/install.sh --test   plus the test tools: PostgreSQL, chromium, independent SIP stacks
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(python3 python3-venv python3-dev gcc libsndfile1 espeak-ng sox)
if [[ "${1:-}" == "--test" ]]; then
    packages+=(postgresql chromium chromium-driver fonts-wqy-microhei baresip procps)
fi
missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" \
        || missing+=("$package")
done
if ((${#missing[@]})); then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

if [[ ! -x .venv/bin/python ]]; then
    python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
if [[ "${1:-}" == "--test" ]]; then
    .venv/bin/python -m pip install -q -e '.[test]'
else
    .venv/bin/python -m pip install -q -e .
fi
