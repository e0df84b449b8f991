#!/usr/bin/env bash
# Copies the Envoy configuration (envoy/**/*.yaml) into the chart, which can only read its own
# files (.Files.Get). test/helm/files.test.ts fails when the copies drift from envoy/.
#   scripts/sync-helm-files.sh
set -euo pipefail
cd "$(dirname "$0")/.."
dest=helm/llm-gateway/files/envoy
rm -rf "$dest"
mkdir -p "$dest"
(cd envoy && find . -type f \( -name '*.yaml' -o -name '*.yml' \) -print) | sort | while read -r f; do
  mkdir -p "$dest/$(dirname "$f")"
  cp "envoy/$f" "$dest/$f"
  echo "envoy/${f#./} -> $dest/${f#./}"
done
