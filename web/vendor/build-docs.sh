#!/usr/bin/env bash
# Rebuild web/vendor/docs/: Swagger UI and ReDoc for /docs and /redoc, from the npm registry, so that the API
# documentation works on an intranet without a CDN. Build time only: the app serves the committed files.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)/docs"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
npm init -y >/dev/null
npm install --no-audit --no-fund --save-exact swagger-ui-dist@5.35.0 redoc@2.5.1 >/dev/null
mkdir -p "$here"
cp node_modules/swagger-ui-dist/swagger-ui-bundle.js node_modules/swagger-ui-dist/swagger-ui.css "$here/"
cp node_modules/swagger-ui-dist/LICENSE "$here/LICENSE-swagger-ui.txt"
# ReDoc's side menu shows a logo from cdn.redoc.ly; an empty data: URL fails to load and the menu hides it.
sed 's#https://cdn.redoc.ly/redoc/logo-mini.svg#data:,#' node_modules/redoc/bundles/redoc.standalone.js \
  > "$here/redoc.standalone.js"
cp node_modules/redoc/LICENSE "$here/LICENSE-redoc.txt"
echo "wrote $(ls "$here" | tr '\n' ' ')"
