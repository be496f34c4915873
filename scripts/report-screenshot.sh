#!/usr/bin/env bash
# Open a report in Debian's headless Chromium, save a screenshot, fail on any console error.
#   scripts/report-screenshot.sh REPORT.html SHOT.png [WIDTH]
set -euo pipefail
page=$(readlink -f "$1"); shot=$2; width=${3:-1280}
profile=$(mktemp -d); log=$(mktemp)
trap 'rm -rf "$profile" "$log"' EXIT
chromium --headless --no-sandbox --disable-gpu --disable-background-networking \
  --disable-component-update --no-first-run --user-data-dir="$profile" \
  --enable-logging=stderr --v=0 --hide-scrollbars --virtual-time-budget=5000 \
  --window-size="$width,3000" --screenshot="$shot" "file://$page" 2>"$log" || { cat "$log" >&2; exit 1; }
# Console messages (errors, CSP refusals) are logged as CONSOLE lines.
if grep -E "CONSOLE|Refused to|Uncaught" "$log" >&2; then
  echo "console errors in $page" >&2; exit 1
fi
test -s "$shot" || { echo "no screenshot written" >&2; exit 1; }
echo "$shot"
