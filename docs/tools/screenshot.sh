#!/usr/bin/env bash
# Usage: [SCREEN=1366x768] docs/tools/screenshot.sh OUT.png [Overlay|Mask|Agreement|Triage|...]  (needs xvfb, imagemagick, scikit-image)
set -euo pipefail
cd "$(dirname "$0")/../.."
Xvfb :99 -screen 0 "${SCREEN:-1600x900}x24" >/dev/null 2>&1 &
xvfb=$!
trap 'kill $xvfb' EXIT
sleep 1
DISPLAY=:99 QT_QPA_PLATFORM=xcb .venv/bin/python docs/tools/screenshot.py "$@"
