#!/bin/sh
# Builds the native part of one TF.js package inside an image, after dependencies were installed with scripts off.
#
#   install-native.sh <gpu|cpu|none> <required|optional> <dir>
#
#   gpu   @tensorflow/tfjs-node-gpu (libtensorflow 2.9.1 built for CUDA 11.2 / cuDNN 8.1)
#   cpu   @tensorflow/tfjs-node (libtensorflow 2.9.1, CPU)
#   none  nothing: the image runs on the wasm backend
#   required  a failed download or a binding that does not load stops the build with the reason (the trainer:
#             a GPU image that silently trains on wasm would be worse than no image)
#   optional  a failure is reported and the image runs on wasm (the API image)
#   dir   where the package resolves from (the workspace package that depends on it)
#
# The package's own install script downloads libtensorflow from storage.googleapis.com and a prebuilt addon via
# node-pre-gyp. Behind a mirror set, as build arguments:
#   TFJS_NODE_CDN_STORAGE=https://mirror/            libtensorflow from <mirror>/tensorflow/libtensorflow/...
#   TFJS_NODE_BASE_URI=https://mirror/libtensorflow- the whole libtensorflow prefix instead
#   npm_config_tfjs_binding_binary_host_mirror=https://mirror/pre-built-binary/   the prebuilt addon
# pnpm would skip this script here (pnpm 10 runs only allow-listed build scripts, and `pnpm rebuild` in a deployed
# directory has no allow-list), so it is run directly, with node-pre-gyp put on PATH as a package manager would.
set -eu

native=${1:?usage: install-native.sh <gpu|cpu|none> <required|optional> <dir>}
policy=${2:?usage: install-native.sh <gpu|cpu|none> <required|optional> <dir>}
from=${3:?usage: install-native.sh <gpu|cpu|none> <required|optional> <dir>}

case "$native" in
  gpu) pkg=@tensorflow/tfjs-node-gpu ;;
  cpu) pkg=@tensorflow/tfjs-node ;;
  none)
    echo "install-native: NATIVE=none: no native TF.js package; the image runs on the wasm backend"
    exit 0
    ;;
  *)
    echo "install-native: NATIVE must be gpu, cpu or none, not '$native'" >&2
    exit 2
    ;;
esac
case "$policy" in
  required | optional) ;;
  *)
    echo "install-native: the second argument must be required or optional, not '$policy'" >&2
    exit 2
    ;;
esac

fail() {
  if [ "$policy" = required ]; then
    printf 'install-native: %s: %s\n  the build stops here rather than ship an image without it.\n' "$pkg" "$1" >&2
    printf '  behind a mirror: --build-arg TFJS_NODE_CDN_STORAGE=... and npm_config_tfjs_binding_binary_host_mirror=...;\n' >&2
    printf '  for a wasm-only image: --build-arg NATIVE=none\n' >&2
    exit 1
  fi
  printf 'install-native: %s: %s\n  continuing: the image runs on the wasm backend\n' "$pkg" "$1" >&2
  exit 0
}

dir=$(cd "$from" && node -e "const p = require('node:path'); console.log(p.dirname(require.resolve(process.argv[1] + '/package.json', { paths: [process.cwd()] })))" "$pkg") ||
  fail "not installed under $from (is it still an optional dependency of @tfmlops/runtime?)"
pregyp=$(cd "$dir" && node -p "require.resolve('@mapbox/node-pre-gyp/bin/node-pre-gyp')") ||
  fail "its build tool @mapbox/node-pre-gyp is missing"
shim=$(mktemp -d)
ln -s "$pregyp" "$shim/node-pre-gyp"
script=$(cd "$dir" && node -p "require('./package.json').scripts.install")
log=$(mktemp)

echo "install-native: $pkg: $script (in $dir)"
started=$(date +%s)
if ! (cd "$dir" && PATH="$shim:$PATH" sh -c "$script") >"$log" 2>&1; then
  cat "$log" >&2
  url=$(grep -m 1 -E '^https?://' "$log" || true)
  error=$(grep -m 1 -E '^[A-Za-z]*Error|failed with error' "$log" || true)
  fail "its install script failed after $(($(date +%s) - started))s${url:+ fetching $url}: ${error:-see the log above}"
fi
# The script can exit 0 without a usable result (an HTML error page unpacked as a tarball); loading the binding
# and running an op is the only proof.
if ! (cd "$dir" && node -e "const tf = require('.'); tf.tensor([1, 2]).square().dataSync(); console.log('install-native: ' + process.argv[1] + ' loads, TF.js backend ' + tf.getBackend())" "$pkg") >"$log" 2>&1; then
  cat "$log" >&2
  fail "installed but does not load: $(grep -m 1 -E '^[A-Za-z]*Error' "$log" || echo 'see the log above')"
fi
cat "$log"
rm -rf "$shim" "$log"
echo "install-native: $pkg ready in $(($(date +%s) - started))s"
