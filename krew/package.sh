#!/usr/bin/env bash
# Builds the release archive of kubectl-metalpool for this host (or --target TRIPLE) and
# writes the krew manifest for the archives built so far.
#
#   krew/package.sh                      # cargo build --release, then package
#   krew/package.sh --target aarch64-unknown-linux-musl
#   krew/package.sh --binary PATH        # package an already built binary
#   krew/package.sh --out DIR            # where the archive and manifest go (default: dist)
#
# The archive, kubectl-metalpool_<version>_<os>_<arch>.tar.gz, holds the binary, LICENSE and
# kubectl_complete-metalpool at its top level. <out>/metalpool.yaml is rendered from the
# template .krew.yaml with the sha256 of every archive of this version in <out>; run it once
# per platform (--target with --binary packs another platform's binary) into the same --out
# directory and the manifest lists each platform as it is added.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
target="" binary="" out="$root/dist"
while [[ $# -gt 0 ]]; do
  case $1 in
    --target) target=$2; shift 2 ;;
    --binary) binary=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    -h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "package.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done

version="v$(sed -n 's/^version = "\(.*\)"$/\1/p' "$root/Cargo.toml" | head -n 1)"

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

# The manifest: .krew.yaml rendered as krew-release-bot renders it (the forms it uses are
# described at its top), with the sha256 of the archives of this version found in $out. A
# platform whose archive is not there is left out: the manifest never names an archive it has
# no checksum for.
(cd "$out" && sha256sum -- kubectl-metalpool_"${version}"_*.tar.gz) > "$stage/sums"
manifest="$out/metalpool.yaml"
awk -v version="$version" -v sums="$stage/sums" '
  function indentation(line) { match(line, /^ */); return RLENGTH }
  function flush() { if (!missing) printf "%s", item; item = ""; missing = 0 }
  BEGIN { while ((getline line < sums) > 0) { split(line, f, " "); sha[f[2]] = f[1] } }
  /^\{\{- \/\*/ { comment = 1 }
  comment { if ($0 ~ /\*\/ -\}\}$/) comment = 0; next }
  { gsub(/\{\{ *\.TagName *\}\}/, version) }
  /\{\{ *addURIAndSha / {
    pad = substr($0, 1, indentation($0))
    split($0, quoted, "\"")
    uri = quoted[2]
    n = split(uri, parts, "/")
    if (parts[n] in sha) $0 = pad "uri: " uri "\n" pad "sha256: " sha[parts[n]]
    else missing = 1
  }
  in_platforms && /^ *- / && (first == "" || indentation($0) == first) {
    flush(); if (first == "") first = indentation($0)
  }
  in_platforms && /[^ ]/ && indentation($0) <= platforms_at { flush(); in_platforms = 0 }
  in_platforms { item = item $0 "\n"; next }
  /^ *platforms:/ { in_platforms = 1; platforms_at = indentation($0) }
  { print }
  END { flush() }
' "$root/.krew.yaml" > "$manifest"
echo "$out/$archive"
echo "sha256 $sha"
echo "$manifest"
