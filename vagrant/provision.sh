#!/usr/bin/env bash
# Provisions the developer VM (see the Vagrantfile): Node.js 22 LTS (snap)
# when the system's Node.js is older than 20, then the
# project's own scripts/setup.sh, the first command of the README's quick
# start (system packages, tracefs/bpffs, npm ci, npm run build).
set -euo pipefail

dir=${HOSTFLOW_DIR:-/hostflow}
export DEBIAN_FRONTEND=noninteractive

node_major() {
  command -v node >/dev/null 2>&1 || { echo 0; return; }
  node -p 'process.versions.node.split(".")[0]'
}

if [[ $(node_major) -lt 20 ]]; then
  # Ubuntu 24.04's own nodejs is 18; the Node.js snap tracks LTS lines.
  echo "[provision] installing Node.js 22 LTS (snap)"
  snap install node --classic --channel=22/stable
fi
echo "[provision] node $(node --version)"

cd "$dir"
bash scripts/setup.sh
echo "[provision] ready: vagrant ssh -c 'cd $dir && sudo npm test'"
