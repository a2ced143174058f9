#!/usr/bin/env bash
# Rebuild web/vendor/mvt.js: @mapbox/vector-tile + pbf from the npm registry, bundled by esbuild into one
# plain script that sets window.MVT = {VectorTile, PbfReader}. Build time only: the app serves the
# committed bundle, and nothing here runs when the service starts. Needs node and npm.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
npm init -y >/dev/null
npm install --no-audit --no-fund --save-exact @mapbox/vector-tile@3.0.0 pbf@5.1.2 esbuild@0.28.2 >/dev/null
cat > entry.js <<'JS'
import {VectorTile} from '@mapbox/vector-tile';
import {PbfReader} from 'pbf';
globalThis.MVT = {VectorTile, PbfReader};
JS
{
  echo "/* MVT decoder for the renewal map: @mapbox/vector-tile 3.0.0 (BSD-3-Clause), pbf 5.1.2 (BSD-3-Clause),"
  echo "   @mapbox/point-geometry 1.1.0 (ISC); licences beside this file. Built by build-mvt.sh with esbuild. */"
  ./node_modules/.bin/esbuild entry.js --bundle --format=iife --target=es2018 --legal-comments=none --log-level=warning
} > "$here/mvt.js"
cp node_modules/@mapbox/vector-tile/LICENSE.txt "$here/LICENSE-vector-tile.txt"
cp node_modules/pbf/LICENSE "$here/LICENSE-pbf.txt"
cp node_modules/@mapbox/point-geometry/LICENSE "$here/LICENSE-point-geometry.txt"
echo "wrote $here/mvt.js ($(wc -c < "$here/mvt.js") bytes)"
