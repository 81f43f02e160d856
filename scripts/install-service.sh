#!/usr/bin/env bash
# Install hostflow as a systemd service from this built checkout: the
# system user and group `hostflow` (members of the group may run
# `hostflow ctl`), the launcher /usr/local/sbin/hostflow (this checkout's
# Node.js and dist/src/cli.js), packaging/systemd/hostflow.service in
# /etc/systemd/system, and /etc/hostflow/hostflow.env unless one is there.
# Reloads systemd when it runs; enabling is left to you:
#   systemctl enable --now hostflow
#
# Usage: scripts/install-service.sh [--root DIR]
#   --root DIR  install the files under DIR and create no user (packaging, tests)
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
root=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --root)
      root=${2:?--root needs a directory}
      shift 2
      ;;
    -h | --help)
      sed -n '2,13s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
      exit 0
      ;;
    *)
      echo "install-service: unknown argument '$1' (try --help)" >&2
      exit 2
      ;;
  esac
done

die() {
  echo "install-service: $*" >&2
  exit 1
}

cli="$repo_root/dist/src/cli.js"
[[ -f $cli ]] || die "$cli is missing: run npm run build first"
# The Node.js npm scripts use (scripts/setup-node.sh links a newer one there), else the system's.
node="$repo_root/node_modules/.bin/node"
[[ -x $node ]] || node=$(command -v node) || die "no node in PATH"
node=$(readlink -f "$node")
[[ -n $root || $EUID -eq 0 ]] || die "run as root (or give --root DIR)"

if [[ -z $root ]]; then
  getent group hostflow >/dev/null || groupadd --system hostflow
  getent passwd hostflow >/dev/null ||
    useradd --system --gid hostflow --no-create-home --home-dir /var/lib/hostflow --shell /usr/sbin/nologin hostflow
  # The service runs the checkout as hostflow: it must be able to read it.
  setpriv --reuid=hostflow --regid=hostflow --clear-groups test -r "$cli" ||
    die "user hostflow cannot read $cli: install from a checkout outside home directories (e.g. /opt/hostflow)"
fi

install -d -m 0755 "$root/usr/local/sbin" "$root/etc/systemd/system"
install -d -m 0750 "$root/etc/hostflow"
launcher="$root/usr/local/sbin/hostflow"
printf '#!/bin/sh\n# Written by %s: this checkout of hostflow.\nexec %q %q "$@"\n' "$repo_root/scripts/install-service.sh" "$node" "$cli" >"$launcher"
chmod 0755 "$launcher"
install -m 0644 "$repo_root/packaging/systemd/hostflow.service" "$root/etc/systemd/system/hostflow.service"
env_file="$root/etc/hostflow/hostflow.env"
[[ -e $env_file ]] || install -m 0640 "$repo_root/packaging/systemd/hostflow.env" "$env_file"
if [[ -z $root ]]; then
  chgrp hostflow "$root/etc/hostflow" "$env_file"
  if [[ -d /run/systemd/system ]]; then
    systemctl daemon-reload
    echo "install-service: installed; start it with: systemctl enable --now hostflow"
  else
    echo "install-service: installed; systemd does not run here, so nothing was reloaded"
  fi
fi
