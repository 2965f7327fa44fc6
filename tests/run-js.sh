#!/usr/bin/env bash
# The JS package's tests in every JS runtime: Node.js (node --test: the
# facade, conformance, scenarios, the CLI, DKIM, the SMTP example, npm pack),
# Deno and workerd (conformance and scenarios, synchronous and JSPI, and the
# Deno and Cloudflare examples). Deno and workerd come from npm
# (devDependencies), so `npm ci` is all a machine with Node.js 20+ needs.
# Expects the component built (target/wasm32-wasip2/release/guest.wasm).
set -euo pipefail
cd "$(dirname "$0")/../js"
if [ ! -x node_modules/.bin/deno ] || [ ! -x node_modules/.bin/workerd ] || [ ! -d node_modules/smtp-server ]; then
  npm ci --no-audit --no-fund
fi
npm run build
npm run test:all
