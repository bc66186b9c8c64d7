#!/usr/bin/env bash
# Builds the release archive of kubectl-metalpool for this host (or --target TRIPLE) and
# writes the krew manifest with that archive's sha256.
#
#   krew/package.sh                      # cargo build --release, then package
#   krew/package.sh --target aarch64-unknown-linux-gnu
#   krew/package.sh --binary PATH        # package an already built binary
#   krew/package.sh --out DIR            # where the archive and manifest go (default: dist)
#
# The archive, kubectl-metalpool_<version>_<os>_<arch>.tar.gz, holds the binary, LICENSE and
# kubectl_complete-metalpool at its top level. Run it once per platform into the same --out
# directory: each run fills in its own platform's sha256 in <out>/metalpool.yaml.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
target="" binary="" out="$root/dist"
while [[ $# -gt 0 ]]; do
  case $1 in
    --target) target=$2; shift 2 ;;
    --binary) binary=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "package.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done

version="v$(sed -n 's/^version = "\(.*\)"$/\1/p' "$root/Cargo.toml" | head -n 1)"
manifest_version=$(sed -n 's/^  version: \(.*\)$/\1/p' "$root/krew/metalpool.yaml")
if [[ $version != "$manifest_version" ]]; then
  echo "package.sh: Cargo.toml is $version but krew/metalpool.yaml says $manifest_version" >&2
  exit 1
fi

triple=${target:-$(rustc -vV | sed -n 's/^host: //p')}
case $triple in
  x86_64-*-linux-*) os=linux arch=amd64 ;;
  aarch64-*-linux-*) os=linux arch=arm64 ;;
  x86_64-apple-darwin) os=darwin arch=amd64 ;;
  aarch64-apple-darwin) os=darwin arch=arm64 ;;
  x86_64-pc-windows-*) os=windows arch=amd64 ;;
  *) echo "package.sh: no krew platform for target $triple" >&2; exit 1 ;;
esac
exe=kubectl-metalpool
[[ $os == windows ]] && exe=kubectl-metalpool.exe

if [[ -z $binary ]]; then
  (cd "$root" && cargo build --release --locked ${target:+--target "$target"})
  binary="$root/target/${target:+$target/}release/$exe"
fi

mkdir -p "$out"
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
install -m 0755 "$binary" "$stage/$exe"
install -m 0644 "$root/LICENSE" "$stage/LICENSE"
install -m 0755 "$root/krew/kubectl_complete-metalpool" "$stage/kubectl_complete-metalpool"
archive="kubectl-metalpool_${version}_${os}_${arch}.tar.gz"
# Reproducible: fixed owner, order and time (SOURCE_DATE_EPOCH when set), no gzip timestamp.
tar -C "$stage" --owner=0 --group=0 --numeric-owner --sort=name --mtime="@${SOURCE_DATE_EPOCH:-0}" \
  -cf - "$exe" LICENSE kubectl_complete-metalpool | gzip -n > "$out/$archive"
sha=$(sha256sum "$out/$archive" | cut -d' ' -f1)

# Fill in this platform's sha256: the sha256 line that follows the uri naming the archive.
manifest="$out/metalpool.yaml"
[[ -f $manifest ]] || cp "$root/krew/metalpool.yaml" "$manifest"
awk -v archive="$archive" -v sha="$sha" '
  index($0, "uri:") && index($0, "/" archive) { mine = 1 }
  mine && $1 == "sha256:" { sub(/sha256: .*/, "sha256: \"" sha "\""); mine = 0 }
  { print }
' "$manifest" > "$manifest.new"
mv "$manifest.new" "$manifest"
echo "$out/$archive"
echo "sha256 $sha"
echo "$manifest"
