#!/usr/bin/env bash
# Usage: [SCREEN=1600x1000] docs/tools/instrument_screenshots.sh OUT_FOLDER  (needs xvfb, imagemagick, scikit-learn)
set -euo pipefail
cd "$(dirname "$0")/../.."
Xvfb :98 -screen 0 "${SCREEN:-1600x1000}x24" >/dev/null 2>&1 &
xvfb=$!
trap 'kill $xvfb' EXIT
sleep 1
DISPLAY=:98 QT_QPA_PLATFORM=xcb .venv/bin/python docs/tools/instrument_screenshots.py "$@"
