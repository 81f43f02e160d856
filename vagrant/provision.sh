#!/usr/bin/env bash
# Provisions the developer VM (see the Vagrantfile) with the project's own
# scripts/setup.sh, the first command of the README's quick start: system
# packages, Node.js (Ubuntu 24.04's apt has 18, so setup.sh fetches the line
# named in .node-version from the npm registry into build/node), tracefs/bpffs,
# npm ci and npm run build.
set -euo pipefail

dir=${HOSTFLOW_DIR:-/hostflow}
export DEBIAN_FRONTEND=noninteractive

cd "$dir"
bash scripts/setup.sh
echo "[provision] ready: vagrant ssh -c 'cd $dir && sudo npm test'"
