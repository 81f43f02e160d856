#!/usr/bin/env bash
# Prepare a fresh Debian 12 or Ubuntu 22.04/24.04 machine to build and test
# hostflow: system packages, Node.js (scripts/setup-node.sh fetches a current
# one into build/node when the system's is too old), tracefs/bpffs mounts,
# npm ci and npm run build. Idempotent: a second run installs nothing and only
# rebuilds.
#
# Usage: scripts/setup.sh [--no-apt] [--no-npm] [--no-build]
#   --no-apt    skip system packages (and the Node.js check's apt fallback)
#   --no-npm    skip `npm ci` and `npm run build`
#   --no-build  skip `npm run build`
# Runs as root, or through sudo for the steps that need root.
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
do_apt=1
do_npm=1
do_build=1
for arg in "$@"; do
  case "$arg" in
    --no-apt) do_apt=0 ;;
    --no-npm) do_npm=0 ;;
    --no-build) do_build=0 ;;
    -h | --help)
      sed -n '2,12s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
      exit 0
      ;;
    *)
      echo "setup: unknown argument '$arg' (try --help)" >&2
      exit 2
      ;;
  esac
done

log() { printf '[setup] %s\n' "$*"; }
warn() { printf '[setup] WARNING: %s\n' "$*" >&2; }
die() {
  printf '[setup] ERROR: %s\n' "$*" >&2
  exit 1
}

# Run a command as root: directly when we are root, else through sudo
# (through env, as sudo would drop DEBIAN_FRONTEND).
as_root() {
  if [[ $EUID -eq 0 ]]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo env DEBIAN_FRONTEND="$DEBIAN_FRONTEND" "$@"
  else
    die "'$*' needs root and sudo is not installed; run this script as root"
  fi
}

phase_start=0
phase() {
  phase_start=$(date +%s)
  log "== $* =="
}
phase_done() {
  log "   done in $(($(date +%s) - phase_start))s"
}

export DEBIAN_FRONTEND=noninteractive
# Wait for another apt/dpkg (e.g. unattended-upgrades) instead of failing.
apt_opts=(-o DPkg::Lock::Timeout=600 -o Acquire::Retries=3)

apt_updated=0
apt_update_once() {
  if [[ $apt_updated -eq 0 ]]; then
    log "apt-get update"
    as_root apt-get "${apt_opts[@]}" update -q
    apt_updated=1
  fi
}

is_installed() {
  [[ "$(dpkg-query -W -f='${db:Status-Abbrev}' "$1" 2>/dev/null)" == ii* ]]
}

# True when apt can install the package (needs the package lists).
has_candidate() {
  local candidate
  candidate=$(apt-cache policy "$1" 2>/dev/null | awk '/Candidate:/ { print $2 }')
  [[ -n "$candidate" && "$candidate" != "(none)" ]]
}

apt_install() {
  log "apt-get install $*"
  as_root apt-get "${apt_opts[@]}" install -y -q --no-install-recommends "$@"
}

# Everything the build (bpf/, addon/, src/) and the tests need (systemd for
# `systemd-analyze verify` of the service unit, util-linux for setpriv).
required_packages=(
  clang llvm libbpf-dev libelf-dev zlib1g-dev pkg-config make g++ python3
  iproute2 dnsmasq-base bind9-dnsutils tcpdump tshark iputils-ping curl tmux
  clang-format shellcheck ruby
  musl musl-tools golang-go openssl
  qemu-system-x86 busybox-static file xz-utils
  prometheus
  systemd util-linux
)
# Reference tools that older releases may not package (Ubuntu 22.04), and
# ngtcp2's example QUIC client and server (gtlsclient, gtlsserver) for the
# QUIC fixtures of test/helpers/quic.ts.
optional_packages=(libbpf-tools netsniff-ng xdp-tools ngtcp2-client ngtcp2-server)

install_packages() {
  local os_id=unknown os_version=""
  if [[ -r /etc/os-release ]]; then
    # shellcheck disable=SC1091
    os_id=$(. /etc/os-release && echo "${ID:-unknown}")
    # shellcheck disable=SC1091
    os_version=$(. /etc/os-release && echo "${VERSION_ID:-}")
  fi
  case "$os_id" in
    debian | ubuntu) log "system: $os_id $os_version, kernel $(uname -r)" ;;
    *) warn "untested system '$os_id $os_version': trying apt anyway" ;;
  esac
  command -v apt-get >/dev/null 2>&1 || die "apt-get not found: only Debian and Ubuntu are supported"

  # tshark asks whether non-root users may capture: answer no, silently.
  if ! is_installed tshark; then
    echo "wireshark-common wireshark-common/install-setuid boolean false" |
      as_root debconf-set-selections
  fi

  local missing=() pkg
  for pkg in "${required_packages[@]}"; do
    is_installed "$pkg" || missing+=("$pkg")
  done
  if [[ ${#missing[@]} -gt 0 ]]; then
    apt_update_once
    apt_install "${missing[@]}"
    [[ " ${missing[*]} " == *" prometheus "* ]] && stop_system_prometheus
  else
    log "required packages already installed"
  fi

  for pkg in "${optional_packages[@]}"; do
    is_installed "$pkg" && continue
    apt_update_once
    if has_candidate "$pkg"; then
      apt_install "$pkg"
    else
      warn "$pkg is not packaged for this release: tests that use it as a reference will say so"
    fi
  done

  install_bpftool
}

# The prometheus package is here for promtool and for the server the metrics
# test starts on loopback with its own config and data folder. Its postinst
# enables and starts a system-wide server (port 9090, data in
# /var/lib/prometheus): where this script just installed it, that one is
# stopped and disabled. A container without systemd (invoke-rc.d refused by
# policy-rc.d, or the SysV script run) is handled the same way.
stop_system_prometheus() {
  if [[ -d /run/systemd/system ]]; then
    as_root systemctl disable --now prometheus.service >/dev/null 2>&1 || warn "could not stop the prometheus service the package started"
  else
    if [[ -x /etc/init.d/prometheus ]]; then
      as_root /etc/init.d/prometheus stop >/dev/null 2>&1 || true
    fi
    as_root update-rc.d prometheus disable >/dev/null 2>&1 || true
  fi
  log "prometheus: the package's system service is stopped and disabled (tests run their own)"
}

# Debian ships bpftool as its own package; Ubuntu ships it in linux-tools,
# per running kernel (linux-tools-$(uname -r)), with a generic fallback.
install_bpftool() {
  if bpftool_works; then
    log "bpftool: $(bpftool_path)"
    return
  fi
  apt_update_once
  local candidates=(bpftool "linux-tools-$(uname -r)" linux-tools-generic) pkg
  for pkg in "${candidates[@]}"; do
    has_candidate "$pkg" || continue
    if [[ $pkg == linux-tools-* ]] && has_candidate linux-tools-common; then
      apt_install linux-tools-common "$pkg" || {
        warn "could not install $pkg"
        continue
      }
    else
      apt_install "$pkg" || {
        warn "could not install $pkg"
        continue
      }
    fi
    if bpftool_works; then
      log "bpftool: $(bpftool_path) (from $pkg)"
      return
    fi
  done
  # Ubuntu's /usr/sbin/bpftool wrapper refuses to run when the running
  # kernel's linux-tools is missing; any installed version will do.
  local found
  found=$(find /usr/lib/linux-tools* -name bpftool -type f -perm -u+x 2>/dev/null | sort -V | tail -n 1 || true)
  if [[ -n "$found" ]] && "$found" version >/dev/null 2>&1; then
    as_root ln -sf "$found" /usr/local/sbin/bpftool
    log "bpftool: $found (linked to /usr/local/sbin/bpftool)"
    return
  fi
  warn "no working bpftool: the bpf/ build needs it to generate skeletons"
}

bpftool_path() {
  PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin" command -v bpftool
}
bpftool_works() {
  local path
  path=$(bpftool_path) || return 1
  "$path" version >/dev/null 2>&1
}

node_major() {
  node -p 'Number(process.versions.node.split(".")[0])' 2>/dev/null || echo 0
}

# The major version apt would install of a package; 0 when none.
candidate_major() {
  apt-cache policy "$1" 2>/dev/null | awk '
    /Candidate:/ { v = $2; sub(/^[0-9]+:/, "", v); split(v, part, "."); major = part[1] }
    END { print (major ~ /^[0-9]+$/ ? major : 0) }'
}

# apt's nodejs when it is new enough (package.json's engines minimum), and
# npm; then scripts/setup-node.sh, which, where the system's Node.js is
# still older (Debian 12 and Ubuntu ship 18), fetches .node-version's line
# with that npm into build/node and links it as node_modules/.bin/node.
check_node() {
  local major minimum
  major=$(node_major)
  minimum=$(sed -n '/"engines"/,/}/s/.*"node": *">= *\([0-9][0-9]*\).*/\1/p' package.json | head -n 1)
  if [[ $do_apt -eq 1 ]] && { [[ $major -lt $minimum ]] || ! command -v npm >/dev/null 2>&1; }; then
    [[ $(candidate_major nodejs) -gt 0 ]] || apt_update_once
    if [[ $major -lt $minimum && $(candidate_major nodejs) -ge $minimum ]]; then
      if [[ $major -eq 0 ]]; then
        log "Node.js is missing: installing nodejs from apt"
      else
        log "Node.js $(node --version) is older than $minimum: installing nodejs from apt"
      fi
      apt_install nodejs || warn "apt could not install nodejs"
    fi
    # NodeSource's nodejs bundles npm (and conflicts with Debian's npm).
    if ! command -v npm >/dev/null 2>&1; then
      apt_install npm || warn "apt could not install npm"
    fi
  fi
  command -v npm >/dev/null 2>&1 ||
    die "npm is missing: install npm (it fetches a current Node.js when the system's is older than $minimum), or Node.js >= $minimum with npm"
  bash scripts/setup-node.sh
}

# libbpf attaches tracepoints and uprobes by name through tracefs, and pins
# maps in bpffs; neither is mounted on every fresh machine.
mount_if_missing() {
  local fstype=$1 target=$2
  if mountpoint -q "$target" 2>/dev/null; then
    log "$fstype already mounted at $target"
    return
  fi
  if as_root mkdir -p "$target" && as_root mount -t "$fstype" "$fstype" "$target"; then
    log "mounted $fstype at $target"
  else
    warn "could not mount $fstype at $target (not root, or a container without CAP_SYS_ADMIN?): privileged tests will fail"
  fi
}

cd "$repo_root"
total_start=$(date +%s)

if [[ $do_apt -eq 1 ]]; then
  phase "system packages"
  install_packages
  phase_done
fi

phase "Node.js"
check_node
# With a fetched Node.js, npm runs on it too for the rest of this script
# (only here): npm ci then neither warns that every package wants a newer
# Node.js nor loses the way to it when it deletes node_modules.
if [[ -L node_modules/.bin/node && $(readlink -f node_modules/.bin/node) == "$(realpath "$repo_root")"/build/node/* ]]; then
  PATH="$(dirname "$(readlink -f node_modules/.bin/node)"):$PATH"
  export PATH
fi
phase_done

phase "kernel filesystems"
mount_if_missing tracefs /sys/kernel/tracing
mount_if_missing bpf /sys/fs/bpf
phase_done

if [[ $do_npm -eq 1 ]]; then
  phase "npm ci"
  npm ci --no-audit --no-fund --loglevel=warn
  # npm ci deleted node_modules, and a fetched Node.js's link with it.
  bash scripts/setup-node.sh --link-only
  phase_done

  if [[ $do_build -eq 1 ]]; then
    phase "npm run build"
    npm run build
    phase_done
  fi
fi

log "setup finished in $(($(date +%s) - total_start))s"
