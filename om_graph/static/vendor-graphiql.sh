#!/usr/bin/env bash
# Re-vendors GraphiQL's browser build into om_graph/static/graphiql/ from the npm registry, so the
# page om-graph serves needs no CDN (air-gapped networks). The versions are the ones strawberry's
# own GraphiQL page uses. graphiql's UMD bundle ships unminified (3.5 MB); it is minified here
# with esbuild (no bundling, the code is unchanged). Run from anywhere; needs npm.
set -euo pipefail
GRAPHIQL=3.8.3 EXPLORER=1.0.2 REACT=18.2.0 ESBUILD=0.24.2
out="$(cd "$(dirname "$0")" && pwd)/graphiql"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
for spec in "graphiql@$GRAPHIQL" "@graphiql/plugin-explorer@$EXPLORER" "react@$REACT" "react-dom@$REACT"; do
  name="${spec%@*}"; mkdir -p "pkg/$name"
  tar xzf "$(npm pack --silent "$spec")" -C "pkg/$name" --strip-components 1
done
npm install --silent --no-save --no-audit --no-fund "esbuild@$ESBUILD" >/dev/null
rm -rf "$out" && mkdir -p "$out"
npx esbuild pkg/graphiql/graphiql.min.js --minify --log-level=warning --outfile="$out/graphiql.min.js"
cp pkg/graphiql/graphiql.min.css "$out/graphiql.min.css"
cp pkg/@graphiql/plugin-explorer/dist/index.umd.js "$out/plugin-explorer.umd.js"
cp pkg/@graphiql/plugin-explorer/dist/style.css "$out/plugin-explorer.css"
cp pkg/react/umd/react.production.min.js pkg/react-dom/umd/react-dom.production.min.js "$out/"
{
  echo "Third-party files served with om-graph's GraphiQL page, from the npm registry:"
  echo
  echo "  graphiql $GRAPHIQL (graphiql.min.js, minified with esbuild $ESBUILD; graphiql.min.css)"
  echo "  @graphiql/plugin-explorer $EXPLORER (plugin-explorer.umd.js, plugin-explorer.css)"
  echo "  react $REACT (react.production.min.js), react-dom $REACT (react-dom.production.min.js)"
  echo
  echo "All are MIT licensed. graphiql.min.js bundles graphiql's own dependencies (@graphiql/react,"
  echo "codemirror, graphql, graphql-ws, markdown-it, ...), each MIT licensed as well."
  for name in graphiql @graphiql/plugin-explorer react react-dom; do
    echo; echo "==== $name"; echo
    cat "pkg/$name/LICENSE" 2>/dev/null || node -e "const p=require('./pkg/$name/package.json');console.log('License: '+p.license+' (the package ships no LICENSE file); '+(p.repository&&p.repository.url||''))"
  done
} > "$out/LICENSES.txt"
ls -l "$out"
