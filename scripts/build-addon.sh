#!/usr/bin/env bash
# npm run build:addon: node-gyp, against the headers of the Node.js that will
# load the addon. That is the `node` first in PATH (in an npm script,
# node_modules/.bin/node when scripts/setup-node.sh brought one), whose
# release ships its headers beside it (PREFIX/bin/node, PREFIX/include/node);
# node-gyp gets that PREFIX as its nodedir, whatever an npmrc says, so it
# never builds against another Node.js's headers nor downloads them. Where
# that Node.js has no headers beside it, node-gyp finds its own as usual.
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
node_prefix=$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")
if [[ -f $node_prefix/include/node/node_api.h && -f $node_prefix/include/node/common.gypi ]]; then
  export npm_config_nodedir=$node_prefix
fi
exec node-gyp rebuild --directory="$repo_root/addon"
