#!/usr/bin/env bash
# Quick start: install, then run the service on its embedded defaults
# (SIP on 127.0.0.1:5060 udp+tcp, web on 127.0.0.1:8080, SQLite in ./var, bundled prompts,
# the demo queue "general").
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
mkdir -p var
exec .venv/bin/hotline serve "$@"
