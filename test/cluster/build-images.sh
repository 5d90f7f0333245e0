#!/usr/bin/env bash
# Builds the container images the test node needs, without a registry or a Docker engine, as docker-archive
# tarballs in the cache outside the clone, for `ctr -n k8s.io images import`:
#
#   pause        registry.k8s.io/pause:3.10.1 and :3.6 (containerd 1.6's default sandbox_image), one archive:
#                a static Go program from test/cluster/images/pause (waits for SIGINT/SIGTERM, reaps zombies)
#   coredns      registry.k8s.io/coredns/coredns:<kubeadm's CoreDNSVersion> and :v1.14.7, one archive: the cached
#                binary of `build-binaries.sh coredns` as /coredns (cap_net_bind_service file capability, user 65532,
#                entrypoint ["/coredns"], as upstream's image; a cgo-linked binary gets its libc and loader alongside)
#   dnsutils     registry.k8s.io/e2e-test-images/jessie-dnsutils:1.3: Debian bookworm minbase (debootstrap from the
#                apt mirror this machine is configured with) + bind9-dnsutils (nslookup, dig, host); getent and
#                /etc/nsswitch.conf come from libc-bin
#   node-base    localhost/cluster-dns-node-base:24: bookworm minbase + ca-certificates + the Node binary of the `node`
#                npm package (the version package-lock.json pins) + npm (NPM_VERSION) under /usr/local. Kept in buildah's
#                storage only: it is the NODE_IMAGE of the next one, not a node image.
#   cluster-dns  docker.io/library/cluster-dns:<package.json version> (`image: cluster-dns:<version>` in the manifests),
#                built from the repository's own Dockerfile with `buildah bud --build-arg NODE_IMAGE=<node-base>`
# and, for the upstream DNS e2e tests (`npm run e2e`, test/e2e/; target `e2e`, not part of `all`), under the names the
# e2e image list of $KUBE_VERSION gives them (test/utils/image/manifest.go):
#   agnhost      registry.k8s.io/e2e-test-images/agnhost:2.59: the dnsutils image (upstream's is Alpine + bind-tools;
#                no Alpine here) + /agnhost (static, `build-binaries.sh e2e`) + /coredns (the cached CoreDNS binary);
#                entrypoint ["/agnhost"], cmd ["pause"], as upstream's
#   jessie-dnsutils-e2e  registry.k8s.io/e2e-test-images/jessie-dnsutils:1.7: the dnsutils image + /coredns
#
# Usage: bash test/cluster/build-images.sh [all|base|e2e|cluster-dns|pause|coredns|dnsutils|node-base|agnhost|jessie-dnsutils-e2e]
#   (default: all). base = pause coredns dnsutils node-base; e2e = agnhost jessie-dnsutils-e2e (and what they build on). Needs root. Installs buildah, debootstrap and libcap2-bin with apt-get
#   if missing, and builds the CoreDNS binary with build-binaries.sh if it is not cached.
#
# Output, under ${CLUSTER_DNS_CACHE:-$HOME/.cache/cluster-dns}/images/:
#   <name>.tar    one docker-archive per image (every tag of the image in its manifest.json RepoTags)
#   index.tsv     `<tar path>\t<image name>`, one line per name (an archive with two names has two lines: import each
#                 distinct path once, then expect every name), listing every archive that is built and current
#   logs/<image>.log, stamps/<image> (the hash of the image's inputs: an image is rebuilt only when it changes)
# buildah's storage is $CACHE/buildah/overlay (the overlay driver; vfs, in $CACHE/buildah/vfs, where overlay cannot
# work, or with BUILDAH_STORAGE_DRIVER=vfs), its run root a tmpfs at $CACHE/buildah/run that lives as long as the run.
# Debian's minbase ages with the mirror: delete $CACHE/images/stamps/<image> to rebuild one from today's packages.
#
# Prints one line per image it (re)builds, with the time taken, on stderr; nothing when everything is current. On a
# failure: one line naming the image and its log, exit status 1.
#
# How it runs: the whole build happens in a private mount namespace (unshare -m), so every mount it makes (buildah's
# overlay mounts, debootstrap's /proc) disappears with it whatever happens; there /var/lib is read-only, because
# buildah as root would otherwise create /var/lib/containers/cache for its blob-info cache (it then keeps that cache
# in memory). RUN steps use chroot isolation and the host network (for `npm ci` to reach the npm registry): no
# runc, no network namespace, no systemd needed. The only network traffic is debootstrap to the Debian mirror, npm
# to the npm registry (npm pack, and npm ci inside the Dockerfile's build stages) and, once, `go mod download` of
# k8s.io/kubernetes from the Go module proxy if it is not in the module cache; `--pull=never` everywhere, so no
# container registry is ever asked. Where TLS to the npm registry goes through a proxy with its own CA (these
# machines: /etc/ssl/certs/ca-certificates.crt holds it, npm's cafile points there), the build's RUN steps get that
# bundle bind-mounted read-only (BUILD_CA_BUNDLE overrides the path); it is never committed into an image.
set -euo pipefail

what="${1:-all}"
CACHE="${CLUSTER_DNS_CACHE:-$HOME/.cache/cluster-dns}"
OUT="$CACHE/images"
BUILDAH_DIR="$CACHE/buildah"
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
SELF="$REPO/test/cluster/build-images.sh"

KUBE_VERSION="${KUBE_VERSION:-v1.35.4}"
COREDNS_VERSION="${COREDNS_VERSION:-v1.14.7}"
PAUSE_VERSION=3.10.1
PAUSE_NAMES=("registry.k8s.io/pause:$PAUSE_VERSION" "registry.k8s.io/pause:3.6")
DNSUTILS_NAME="registry.k8s.io/e2e-test-images/jessie-dnsutils:1.3"
AGNHOST_VERSION=2.59   # configs[Agnhost] in test/utils/image/manifest.go of $KUBE_VERSION (build-binaries.sh reads it there)
AGNHOST_NAME="registry.k8s.io/e2e-test-images/agnhost:$AGNHOST_VERSION"
JESSIE_E2E_NAME="registry.k8s.io/e2e-test-images/jessie-dnsutils:1.7"
NODE_BASE_NAME="localhost/cluster-dns-node-base:24"
NPM_VERSION="${NPM_VERSION:-11.19.0}"   # the npm that Node 24.20/24.21 bundles
DEBIAN_SUITE=bookworm
DEBIAN_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

log() { echo "build-images: $*" >&2; }
die() { log "$*"; exit 1; }

case "$what" in
  all | base | e2e | cluster-dns | pause | coredns | dnsutils | node-base | agnhost | jessie-dnsutils-e2e) ;;
  *) log "unknown target '$what'"; echo "usage: build-images.sh [all|base|e2e|cluster-dns|pause|coredns|dnsutils|node-base|agnhost|jessie-dnsutils-e2e]" >&2; exit 2 ;;
esac
[[ $(id -u) == 0 ]] || die "needs root (debootstrap, buildah's storage, file capabilities)"

# --- outside the namespace: tools, then re-exec in a private mount namespace -------------------------------------
if [[ -z "${_BUILD_IMAGES_NS:-}" ]]; then
  mkdir -p "$OUT/logs"
  missing=()
  command -v buildah >/dev/null || missing+=(buildah)
  command -v debootstrap >/dev/null || missing+=(debootstrap)
  command -v setcap >/dev/null || missing+=(libcap2-bin)
  if ((${#missing[@]})); then
    export DEBIAN_FRONTEND=noninteractive
    { apt-get install -y --no-install-recommends "${missing[@]}" ||
      { apt-get update && apt-get install -y --no-install-recommends "${missing[@]}"; }; } >"$OUT/logs/apt.log" 2>&1 ||
      die "apt-get install ${missing[*]} failed (log: $OUT/logs/apt.log)"
    log "installed ${missing[*]} (apt-get)"
  fi
  for tool in go npm tar unshare flock sha256sum; do
    command -v "$tool" >/dev/null || die "$tool is not installed"
  done
  _BUILD_IMAGES_NS=1 exec unshare --mount --propagation private bash "$SELF" "$@"
fi

# --- inside the namespace ------------------------------------------------------------------------------------------
STAMPS="$OUT/stamps" LOGS="$OUT/logs" DOWNLOADS="$OUT/downloads"
mkdir -p "$STAMPS" "$LOGS" "$DOWNLOADS" "$OUT/debs" "$BUILDAH_DIR/run" "$BUILDAH_DIR/tmp"
exec 9>"$OUT/.lock"
flock 9
mount --bind /var/lib /var/lib && mount -o remount,bind,ro /var/lib
mount -t tmpfs -o mode=0700 buildah-run "$BUILDAH_DIR/run"
rm -rf "${BUILDAH_DIR:?}/tmp/"*
# A build was seen touching /var/tmp although TMPDIR points elsewhere: it gets the cache's scratch folder instead.
mount --bind "$BUILDAH_DIR/tmp" /var/tmp
export TMPDIR="$BUILDAH_DIR/tmp" BUILDAH_ISOLATION=chroot BUILDAH_FORMAT=docker
# No container registry, ever: short names resolve nowhere (every image here is named in full or built locally).
printf 'unqualified-search-registries = []\n' >"$BUILDAH_DIR/registries.conf"
export CONTAINERS_REGISTRIES_CONF="$BUILDAH_DIR/registries.conf"

# overlay (native, as root) unless the kernel lacks it or the cache itself sits on overlayfs; vfs copies every layer.
STORAGE_DRIVER="${BUILDAH_STORAGE_DRIVER:-overlay}"
if [[ -z "${BUILDAH_STORAGE_DRIVER:-}" ]] &&
  { ! grep -qw overlay /proc/filesystems || [[ "$(stat -f -c %T "$BUILDAH_DIR")" == overlayfs ]]; }; then
  STORAGE_DRIVER=vfs
fi
mkdir -p "$BUILDAH_DIR/$STORAGE_DRIVER"   # one storage per driver: containers/storage cannot switch drivers in place
bah() { buildah --root "$BUILDAH_DIR/$STORAGE_DRIVER" --runroot "$BUILDAH_DIR/run" --storage-driver "$STORAGE_DRIVER" "$@"; }
bah rm --all >/dev/null 2>&1 || true   # working containers left by an interrupted run

sha() { sha256sum | cut -d' ' -f1; }
recipe() { declare -f "$@"; }   # a recipe's own text is one of its inputs: editing it rebuilds the image
image_exists() { bah inspect --type image "$1" >/dev/null 2>&1; }
mb() { echo "$(( ($(stat -c %s "$1") + 524287) / 1048576 )) MB"; }

# The Debian mirror apt uses here (deb822 .sources or one-line lists), unless DEBIAN_MIRROR says otherwise.
debian_mirror() {
  if [[ -n "${DEBIAN_MIRROR:-}" ]]; then echo "$DEBIAN_MIRROR"; return; fi
  local m=""
  shopt -s nullglob
  local sources=(/etc/apt/sources.list.d/*.sources) lists=(/etc/apt/sources.list /etc/apt/sources.list.d/*.list)
  shopt -u nullglob
  if ((${#sources[@]})); then
    m="$(awk -v suite="$DEBIAN_SUITE" 'BEGIN { RS = ""; FS = "\n" }
      { uris = ""; ok = 0; deb = 0; on = 1
        for (i = 1; i <= NF; i++) {
          if ($i ~ /^#/) continue
          split($i, kv, ":[ \t]*"); key = tolower(kv[1]); val = substr($i, length(kv[1]) + 2); sub(/^[ \t]+/, "", val)
          if (key == "uris") uris = val
          if (key == "types" && (" " val " ") ~ / deb /) deb = 1
          if (key == "enabled" && val ~ /^(no|false)/) on = 0
          if (key == "suites") { n = split(val, s, /[ \t]+/); for (j = 1; j <= n; j++) if (s[j] == suite) ok = 1 }
        }
        if (ok && deb && on && uris != "") { split(uris, u, /[ \t]+/); print u[1]; exit }
      }' "${sources[@]}")"
  fi
  if [[ -z "$m" ]] && ((${#lists[@]})); then
    m="$(sed -n -E "s/^deb[[:space:]]+(\[[^]]*\][[:space:]]+)?([^[:space:]]+)[[:space:]]+${DEBIAN_SUITE}[[:space:]].*/\2/p" \
      "${lists[@]}" 2>/dev/null | head -n1)"
  fi
  [[ -n "$m" ]] || { echo "no apt source for Debian $DEBIAN_SUITE found in /etc/apt: set DEBIAN_MIRROR" >&2; return 1; }
  echo "$m"
}

# The CoreDNS tag kubeadm deploys (its constants.CoreDNSVersion), read from the k8s.io/kubernetes module.
kubeadm_coredns_version() {
  if [[ -n "${KUBEADM_COREDNS_VERSION:-}" ]]; then echo "$KUBEADM_COREDNS_VERSION"; return; fi
  local dir f
  dir="$(go env GOMODCACHE)/k8s.io/kubernetes@$KUBE_VERSION"
  if [[ ! -d "$dir" ]]; then
    dir="$(cd "$TMPDIR" && GOFLAGS=-mod=mod go mod download -json "k8s.io/kubernetes@$KUBE_VERSION" |
      sed -n 's/.*"Dir": "\(.*\)",/\1/p')"
  fi
  f="$dir/cmd/kubeadm/app/constants/constants.go"
  sed -n 's/^[[:space:]]*CoreDNSVersion[[:space:]]*=[[:space:]]*"\(v[0-9.]*\)".*/\1/p' "$f" | grep . ||
    { echo "CoreDNSVersion not found in $f" >&2; return 1; }
}

# Rewrites a docker-archive's manifest.json RepoTags (and the legacy `repositories` file) to exactly the given names:
# `buildah push` writes the destination name and, depending on the image's own names, sometimes more. buildah writes
# those two files last, so the archive is cut where they start and new ones are appended (GNU tar's --delete
# mangles these archives: it dropped every member after the first layer).
set_repo_tags() {
  local file="$1" dir top="" tags="" repos="" n repo listing members cut
  shift
  dir="$(mktemp -d "$TMPDIR/tags.XXXXXX")"
  listing="$(tar -tR -f "$file")"
  members="$(grep -c '^block [0-9]*: [^*]' <<<"$listing")"
  [[ "$(grep '^block [0-9]*: [^*]' <<<"$listing" | tail -n2 | sed 's/^block [0-9]*: //' | tr '\n' ' ')" == "manifest.json repositories " ]] ||
    { echo "$file: manifest.json and repositories are not its last members" >&2; return 1; }
  cut="$(sed -n 's/^block \([0-9]*\): manifest.json$/\1/p' <<<"$listing")"
  tar -xf "$file" -C "$dir" manifest.json repositories
  top="$(grep -o '"[0-9a-f]\{64\}"' "$dir/repositories" | head -n1)"
  local -A by_repo=()
  local order=()
  for n in "$@"; do
    tags+="${tags:+,}\"$n\""
    repo="${n%:*}"
    [[ -v "by_repo[$repo]" ]] || { order+=("$repo"); by_repo[$repo]=""; }
    by_repo[$repo]+="${by_repo[$repo]:+,}\"${n##*:}\":$top"
  done
  for repo in "${order[@]}"; do repos+="${repos:+,}\"$repo\":{${by_repo[$repo]}}"; done
  sed -i "s#\"RepoTags\":\[[^]]*\]#\"RepoTags\":[$tags]#" "$dir/manifest.json"
  printf '{%s}\n' "$repos" >"$dir/repositories"
  tar -cf "$dir/tail.tar" -C "$dir" --owner=0 --group=0 --numeric-owner --mode=0444 --mtime=@0 manifest.json repositories
  truncate -s "$((cut * 512))" "$file"
  cat "$dir/tail.tar" >>"$file"
  [[ "$(tar -tf "$file" | wc -l)" == "$members" ]] || { echo "$file: rewriting its names broke it" >&2; return 1; }
  rm -rf "$dir"
}

repo_tags() { tar -xOf "$1" manifest.json | grep -o '"RepoTags":\[[^]]*\]' | sed 's/"RepoTags":\[//; s/\]$//; s/"//g; s/,/ /g'; }

# Writes the archive of a stored image under its final names, atomically, and checks what it wrote.
export_archive() {
  local image="$1" file="$2"
  shift 2
  rm -f "$file.tmp"
  bah push -q --format v2s2 "$image" "docker-archive:$file.tmp:$1"
  set_repo_tags "$file.tmp" "$@"
  [[ "$(repo_tags "$file.tmp")" == "$*" ]] || { echo "archive names: $(repo_tags "$file.tmp"), want $*" >&2; return 1; }
  mv "$file.tmp" "$file"
}

# Checks a stored image's entrypoint and user (as `buildah inspect` prints them).
expect_config() {
  local image="$1" entrypoint="$2" user="$3" got
  got="$(bah inspect --type image --format '{{.Docker.Config.Entrypoint}}|{{.Docker.Config.User}}' "$image")"
  [[ "$got" == "$entrypoint|$user" ]] || { echo "$image: entrypoint|user is '$got', want '$entrypoint|$user'" >&2; return 1; }
}

# Runs a command in a throwaway container of an image (chroot isolation; the smoke test of each build).
smoke() {
  local image="$1" c
  shift
  c="$(bah from --pull=never "$image")"
  bah run "$c" -- "$@" || { bah rm "$c" >/dev/null; return 1; }
  bah rm "$c" >/dev/null
}

# debootstrap of Debian minbase with extra packages straight into a mounted working container, then trimmed the way
# the slim images are (no apt lists or .debs, docs but copyright, man pages, locales; empty /dev, resolv.conf and
# hostname and hosts: the runtime bind-mounts its own onto them).
debian_rootfs() {
  local root="$1" include="$2" mirror
  mirror="$(debian_mirror)"
  debootstrap --variant=minbase --include="$include" --cache-dir="$OUT/debs" "$DEBIAN_SUITE" "$root" "$mirror"
  local m
  while read -r m; do umount -l "$m"; done < <(findmnt -rn -o TARGET | grep "^$root/" | sort -r)
  rm -rf "${root:?}"/dev/* "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb \
    "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/usr/share/locale/* "$root"/var/cache/debconf/*-old \
    "$root"/etc/machine-id
  find "$root/var/log" -type f -delete
  find "$root/usr/share/doc" -mindepth 1 ! -type d ! -name copyright -delete
  find "$root/usr/share/doc" -mindepth 1 -type d -empty -delete
  local f
  for f in resolv.conf hostname hosts; do : >"$root/etc/$f" && chmod 0644 "$root/etc/$f"; done
  grep -q '^hosts:.*files' "$root/etc/nsswitch.conf" || { echo "no usable /etc/nsswitch.conf in the rootfs" >&2; return 1; }
}

# --- recipes: each builds its image into buildah's storage and, except node-base, writes its archive ---------------

pause_key() {
  { recipe build_pause; cat "$REPO/test/cluster/images/pause/go.mod" "$REPO/test/cluster/images/pause/main.go"
    go version; echo "${PAUSE_NAMES[*]}"; } | sha
}
build_pause() {
  local c m
  c="$(bah from --pull=never scratch)"
  m="$(bah mount "$c")"
  (cd "$REPO/test/cluster/images/pause" && CGO_ENABLED=0 go build -trimpath -buildvcs=false \
    -ldflags "-s -w -X main.version=$PAUSE_VERSION" -o "$m/pause" .)
  bah config --entrypoint '["/pause"]' --user 65535:65535 --workingdir / "$c"
  bah commit -q --rm "$c" "${PAUSE_NAMES[0]}"
  bah tag "${PAUSE_NAMES[0]}" "${PAUSE_NAMES[@]:1}"
  expect_config "${PAUSE_NAMES[0]}" '[/pause]' 65535:65535
  smoke "${PAUSE_NAMES[0]}" /pause -v
  export_archive "${PAUSE_NAMES[0]}" "$OUT/pause-$PAUSE_VERSION.tar" "${PAUSE_NAMES[@]}"
}

coredns_bin() { echo "$CACHE/coredns-$COREDNS_VERSION/bin/coredns"; }
coredns_names() {
  local kubeadm
  kubeadm="$(kubeadm_coredns_version)" || return 1
  echo "registry.k8s.io/coredns/coredns:$kubeadm"
  [[ "$kubeadm" == "$COREDNS_VERSION" ]] || echo "registry.k8s.io/coredns/coredns:$COREDNS_VERSION"
}
coredns_key() {
  [[ -x "$(coredns_bin)" ]] || { echo missing; return; }
  { recipe build_coredns; sha <"$(coredns_bin)"; echo "${COREDNS_NAMES[*]}"; } | sha
}
build_coredns() {
  local bin c m lib
  bin="$(coredns_bin)"
  c="$(bah from --pull=never scratch)"
  m="$(bah mount "$c")"
  install -m 0755 "$bin" "$m/coredns"
  # Upstream's image: the binary binds :53 as user nonroot through this file capability (the kubeadm Deployment adds
  # NET_BIND_SERVICE to the container's capability set and forbids privilege escalation).
  setcap cap_net_bind_service=+ep "$m/coredns"
  # A cgo build is dynamically linked: bring its loader and libraries along (a CGO_ENABLED=0 build needs none).
  if ldd "$bin" >/dev/null 2>&1; then
    for lib in $(ldd "$bin" | grep -o '/[^ ]*'); do
      mkdir -p "$m$(dirname "$lib")" && cp -L "$lib" "$m$lib"
    done
  fi
  mkdir -p "$m/etc" "$m/tmp" && chmod 1777 "$m/tmp"
  printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' >"$m/etc/passwd"
  printf 'root:x:0:\nnonroot:x:65532:\n' >"$m/etc/group"
  bah config --entrypoint '["/coredns"]' --user 65532:65532 --workingdir / --port 53/tcp --port 53/udp \
    --env PATH="$DEBIAN_PATH" "$c"
  bah commit -q --rm "$c" "${COREDNS_NAMES[0]}"
  ((${#COREDNS_NAMES[@]} == 1)) || bah tag "${COREDNS_NAMES[0]}" "${COREDNS_NAMES[@]:1}"
  expect_config "${COREDNS_NAMES[0]}" '[/coredns]' 65532:65532
  smoke "${COREDNS_NAMES[0]}" /coredns -version
  export_archive "${COREDNS_NAMES[0]}" "$OUT/coredns-$COREDNS_VERSION.tar" "${COREDNS_NAMES[@]}"
}

dnsutils_key() { { recipe build_dnsutils debian_rootfs; debian_mirror; echo "$DEBIAN_SUITE $DNSUTILS_NAME"; } | sha; }
build_dnsutils() {
  local c m
  c="$(bah from --pull=never scratch)"
  m="$(bah mount "$c")"
  debian_rootfs "$m" bind9-dnsutils
  # As upstream's (FROM debian + apt-get install dnsutils): no entrypoint, Debian's default command; pods say what to run.
  bah config --cmd '["bash"]' --env PATH="$DEBIAN_PATH" "$c"
  bah commit -q --rm "$c" "$DNSUTILS_NAME"
  expect_config "$DNSUTILS_NAME" '[]' ''
  smoke "$DNSUTILS_NAME" sh -c 'nslookup -version && dig -v && host -V && getent passwd root >/dev/null && command -v getent'
  export_archive "$DNSUTILS_NAME" "$OUT/jessie-dnsutils-1.3.tar" "$DNSUTILS_NAME"
}

# The e2e images start from the dnsutils image (Debian bookworm + bind9-dnsutils: dig, nslookup, getent): what the
# DNS e2e probe commands run. Its stored copy, or the one in its archive when buildah's storage lost it.
e2e_base() {
  image_exists "$DNSUTILS_NAME" || bah pull -q "docker-archive:$DNSUTILS_TAR" >/dev/null
  bah from --pull=never "$DNSUTILS_NAME"
}
agnhost_bin() { echo "$CACHE/kube-$KUBE_VERSION/bin/agnhost-$AGNHOST_VERSION"; }
agnhost_key() {
  [[ -x "$(agnhost_bin)" && -x "$(coredns_bin)" ]] || { echo missing; return; }
  { recipe build_agnhost build_e2e_image e2e_base; dnsutils_key; sha <"$(agnhost_bin)"; sha <"$(coredns_bin)"; echo "$AGNHOST_NAME"; } | sha
}
# The two e2e images: the e2e base plus binaries, a config, the usual checks, an archive. Arguments: image name,
# archive, the entrypoint and cmd as buildah config JSON, the smoke command, then "SOURCE:/DEST" binaries to install.
build_e2e_image() {
  local name="$1" tar="$2" entrypoint="$3" cmd="$4" check="$5" c m bin want='[]'
  shift 5
  [[ -z "$entrypoint" ]] || want="$(tr -d '"' <<<"$entrypoint")"   # buildah inspect prints ["/x"] as [/x]
  c="$(e2e_base)"
  m="$(bah mount "$c")"
  for bin in "$@"; do install -m 0755 "${bin%%:*}" "$m${bin#*:}"; done
  if [[ -n "$entrypoint" ]]; then
    bah config --entrypoint "$entrypoint" --cmd "$cmd" --env PATH="$DEBIAN_PATH" --workingdir / "$c"
  else
    bah config --cmd "$cmd" --env PATH="$DEBIAN_PATH" "$c"
  fi
  bah commit -q --rm "$c" "$name"
  expect_config "$name" "$want" ''
  smoke "$name" sh -c "$check"
  export_archive "$name" "$tar" "$name"
}
build_agnhost() {
  build_e2e_image "$AGNHOST_NAME" "$OUT/agnhost-$AGNHOST_VERSION.tar" '["/agnhost"]' '["pause"]' \
    "/agnhost --version | grep -q '$AGNHOST_VERSION' && /coredns -version && dig -v && nslookup -version && getent passwd root >/dev/null" \
    "$(agnhost_bin):/agnhost" "$(coredns_bin):/coredns"
}
jessie_e2e_key() {
  [[ -x "$(coredns_bin)" ]] || { echo missing; return; }
  { recipe build_jessie_e2e build_e2e_image e2e_base; dnsutils_key; sha <"$(coredns_bin)"; echo "$JESSIE_E2E_NAME"; } | sha
}
build_jessie_e2e() {
  build_e2e_image "$JESSIE_E2E_NAME" "$OUT/jessie-dnsutils-1.7.tar" '' '["bash"]' \
    '/coredns -version && dig -v && nslookup -version && getent passwd root >/dev/null' \
    "$(coredns_bin):/coredns"
}

node_version() {
  sed -n '/"node_modules\/node": {/,/}/s/.*"version": "\([^"]*\)".*/\1/p' "$REPO/package-lock.json" | head -n1 | grep . ||
    { echo "no node_modules/node in package-lock.json" >&2; return 1; }
}
node_base_key() { { recipe build_node_base node_binary debian_rootfs; debian_mirror; node_version; uname -m; echo "$NPM_VERSION $NODE_BASE_NAME"; } | sha; }
# The Node binary the `node` npm package provides: the repository's own copy when it is that version, otherwise
# node-<os>-<arch> (the package that carries the binary) fetched with npm pack.
node_binary() {
  local v="$1" arch ours="$REPO/node_modules/node/bin/node" tgz
  if [[ -x "$ours" && "$("$ours" --version 2>/dev/null)" == "v$v" ]]; then echo "$ours"; return; fi
  case "$(uname -m)" in x86_64) arch=x64 ;; aarch64) arch=arm64 ;; *) arch="$(uname -m)" ;; esac
  tgz="$DOWNLOADS/node-linux-$arch-$v.tgz"
  if [[ ! -f "$tgz" ]]; then
    (cd "$TMPDIR" && npm pack --silent --ignore-scripts --pack-destination "$TMPDIR" "node-linux-$arch@$v" >/dev/null)
    mv "$TMPDIR/node-linux-$arch-$v.tgz" "$tgz"
  fi
  mkdir -p "$TMPDIR/node-$v" && tar -xzf "$tgz" -C "$TMPDIR/node-$v" package/bin/node
  echo "$TMPDIR/node-$v/package/bin/node"
}
build_node_base() {
  local c m v node npm_tgz="$DOWNLOADS/npm-$NPM_VERSION.tgz"
  v="$(node_version)"
  node="$(node_binary "$v")"
  if [[ ! -f "$npm_tgz" ]]; then
    (cd "$TMPDIR" && npm pack --silent --ignore-scripts --pack-destination "$TMPDIR" "npm@$NPM_VERSION" >/dev/null)
    mv "$TMPDIR/npm-$NPM_VERSION.tgz" "$npm_tgz"
  fi
  c="$(bah from --pull=never scratch)"
  m="$(bah mount "$c")"
  debian_rootfs "$m" ca-certificates
  install -m 0755 "$node" "$m/usr/local/bin/node"
  mkdir -p "$m/usr/local/lib/node_modules/npm"
  tar -xzf "$npm_tgz" -C "$m/usr/local/lib/node_modules/npm" --strip-components=1 --no-same-owner
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$m/usr/local/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$m/usr/local/bin/npx"
  # npm's builtin config: trust the system CA bundle instead of npm's own copy of the same Mozilla roots, so that a
  # build can bind-mount the build machine's bundle over it (see build_cluster_dns). It goes with the npm folder,
  # which the Dockerfile's runtime stage deletes: nothing of it reaches the cluster-dns image.
  printf 'cafile=/etc/ssl/certs/ca-certificates.crt\n' >"$m/usr/local/lib/node_modules/npm/npmrc"
  bah config --cmd '["node"]' --env PATH="$DEBIAN_PATH" --env NODE_VERSION="$v" "$c"
  bah commit -q --rm "$c" "$NODE_BASE_NAME"
  smoke "$NODE_BASE_NAME" sh -c "test \"\$(node --version)\" = v$v && test \"\$(npm --version)\" = $NPM_VERSION && npx --version >/dev/null"
}

APP_VERSION="$(sed -n 's/^  "version": "\([^"]*\)".*/\1/p' "$REPO/package.json" | head -n1)"
[[ -n "$APP_VERSION" ]] || die "no version in $REPO/package.json"
APP_NAME="docker.io/library/cluster-dns:$APP_VERSION"
cluster_dns_key() {
  { recipe build_cluster_dns; echo "$APP_NAME"; node_base_key
    cd "$REPO" && { ls Dockerfile .dockerignore package.json package-lock.json tsconfig*.json; find src -type f; } |
      LC_ALL=C sort | while read -r f; do printf '%s ' "$f"; sha <"$f"; done; } | sha
}
build_cluster_dns() {
  # `docker build --build-arg NODE_IMAGE=... .` of the repository's Dockerfile; --layers keeps buildah's layer cache
  # (npm ci is redone only when package*.json change). --network host: npm ci talks to the npm registry.
  # The build machine's CA bundle is bind-mounted (read-only, for the RUN steps only: not committed) over the base's
  # own, so that npm works where TLS to the registry passes through a proxy with a local CA (as on these machines).
  local ca=() host_ca="${BUILD_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}"
  [[ -f "$host_ca" ]] && ca=(--volume "$host_ca:/etc/ssl/certs/ca-certificates.crt:ro")
  bah bud --isolation chroot --network host --pull=never --layers --force-rm --format docker "${ca[@]}" \
    --build-arg NODE_IMAGE="$NODE_BASE_NAME" -f "$REPO/Dockerfile" -t "$APP_NAME" "$REPO"
  expect_config "$APP_NAME" '[node /app/dist/src/cli.js]' 65532:65532
  local got
  got="$(smoke "$APP_NAME" node /app/dist/src/cli.js version)"
  [[ "$got" == *"$APP_VERSION"* ]] || { echo "cli.js version printed '$got', want $APP_VERSION" >&2; return 1; }
  export_archive "$APP_NAME" "$OUT/cluster-dns-$APP_VERSION.tar" "$APP_NAME"
}

# --- driver ----------------------------------------------------------------------------------------------------------

PAUSE_TAR="$OUT/pause-$PAUSE_VERSION.tar"
COREDNS_TAR="$OUT/coredns-$COREDNS_VERSION.tar"
DNSUTILS_TAR="$OUT/jessie-dnsutils-1.3.tar"
APP_TAR="$OUT/cluster-dns-$APP_VERSION.tar"
AGNHOST_TAR="$OUT/agnhost-$AGNHOST_VERSION.tar"
JESSIE_E2E_TAR="$OUT/jessie-dnsutils-1.7.tar"

# index.tsv: every archive that is current (its stamp present), one line per name, rewritten atomically.
write_index() {
  local stamp file
  while read -r stamp file; do
    [[ -f "$STAMPS/$stamp" && -f "$file" ]] || continue
    repo_tags "$file" | tr ' ' '\n' | sed "s#^#$file\t#"
  done >"$OUT/index.tsv.tmp" <<EOF
pause $PAUSE_TAR
coredns $COREDNS_TAR
dnsutils $DNSUTILS_TAR
cluster-dns $APP_TAR
agnhost $AGNHOST_TAR
jessie-dnsutils-e2e $JESSIE_E2E_TAR
EOF
  mv "$OUT/index.tsv.tmp" "$OUT/index.tsv"
}

# ensure NAME KEY IMAGE BUILDER PRESENT-CHECK...: builds when the stamp differs from KEY or the result is missing;
# then drops the image IMAGE named before, if the build left it nameless (the layers a new build reuses stay).
ensure() {
  local name="$1" key="$2" image="$3" builder="$4" start rc old took
  shift 4
  if [[ -f "$STAMPS/$name" && "$(<"$STAMPS/$name")" == "$key" ]] && "$@"; then return 0; fi
  rm -f "$STAMPS/$name"
  old="$(bah inspect --type image --format '{{.FromImageID}}' "$image" 2>/dev/null || true)"
  start="$(date +%s%N)"
  set +e
  (set -e; "$builder") >"$LOGS/$name.log" 2>&1
  rc=$?
  set -e
  took="$(( ($(date +%s%N) - start) / 100000000 ))"
  took="$((took / 10)).$((took % 10))s"
  if ((rc != 0)); then
    bah rm --all >/dev/null 2>&1 || true
    write_index
    die "$name: build FAILED after $took (log: $LOGS/$name.log)"
  fi
  echo "$key" >"$STAMPS/$name"
  if [[ -n "$old" && "$(bah inspect --type image --format '{{.FromImageID}}' "$image")" != "$old" ]]; then
    bah rmi "$old" >/dev/null 2>&1 || true
  fi
  log "$name: built in $took$(for f in "${BUILT_FILE[@]}"; do printf ' (%s, %s)' "${f##*/}" "$(mb "$f")"; done)"
}
archive_ok() { [[ -f "$1" ]]; }

do_pause() {
  BUILT_FILE=("$PAUSE_TAR")
  ensure pause "$(pause_key)" "${PAUSE_NAMES[0]}" build_pause archive_ok "$PAUSE_TAR"
}
do_coredns() {
  if [[ ! -x "$(coredns_bin)" ]]; then
    log "coredns: binary $(coredns_bin) missing, building it (build-binaries.sh coredns; log: $LOGS/coredns-binary.log)"
    bash "$REPO/test/cluster/build-binaries.sh" coredns >"$LOGS/coredns-binary.log" 2>&1 ||
      die "coredns: build-binaries.sh coredns FAILED (log: $LOGS/coredns-binary.log)"
  fi
  mapfile -t COREDNS_NAMES < <(coredns_names)
  ((${#COREDNS_NAMES[@]})) || die "coredns: cannot tell kubeadm's CoreDNS version"
  BUILT_FILE=("$COREDNS_TAR")
  ensure coredns "$(coredns_key)" "${COREDNS_NAMES[0]}" build_coredns archive_ok "$COREDNS_TAR"
}
do_dnsutils() {
  BUILT_FILE=("$DNSUTILS_TAR")
  ensure dnsutils "$(dnsutils_key)" "$DNSUTILS_NAME" build_dnsutils archive_ok "$DNSUTILS_TAR"
}
# The e2e images need the CoreDNS binary (as for the coredns image) and agnhost (`build-binaries.sh e2e`).
ensure_binary() {
  local what="$1" bin="$2"
  [[ -x "$bin" ]] && return 0
  log "$what: binary $bin missing, building it (build-binaries.sh $what; log: $LOGS/$what-binary.log)"
  bash "$REPO/test/cluster/build-binaries.sh" "$what" >"$LOGS/$what-binary.log" 2>&1 ||
    die "$what: build-binaries.sh $what FAILED (log: $LOGS/$what-binary.log)"
}
do_agnhost() {
  do_dnsutils
  ensure_binary coredns "$(coredns_bin)"
  ensure_binary e2e "$(agnhost_bin)"
  BUILT_FILE=("$AGNHOST_TAR")
  ensure agnhost "$(agnhost_key)" "$AGNHOST_NAME" build_agnhost archive_ok "$AGNHOST_TAR"
}
do_jessie_e2e() {
  do_dnsutils
  ensure_binary coredns "$(coredns_bin)"
  BUILT_FILE=("$JESSIE_E2E_TAR")
  ensure jessie-dnsutils-e2e "$(jessie_e2e_key)" "$JESSIE_E2E_NAME" build_jessie_e2e archive_ok "$JESSIE_E2E_TAR"
}
do_node_base() {
  BUILT_FILE=()
  ensure node-base "$(node_base_key)" "$NODE_BASE_NAME" build_node_base image_exists "$NODE_BASE_NAME"
}
do_cluster_dns() {
  local key
  key="$(cluster_dns_key)" || die "cluster-dns: cannot hash its inputs (Dockerfile, .dockerignore, package*.json, tsconfig*.json, src/)"
  # A current archive: nothing to do, not even the base.
  if [[ -f "$STAMPS/cluster-dns" && "$(<"$STAMPS/cluster-dns")" == "$key" && -f "$APP_TAR" ]]; then return 0; fi
  do_node_base
  BUILT_FILE=("$APP_TAR")
  ensure cluster-dns "$key" "$APP_NAME" build_cluster_dns archive_ok "$APP_TAR"
}

case "$what" in
  all) do_pause; do_coredns; do_dnsutils; do_node_base; do_cluster_dns ;;
  base) do_pause; do_coredns; do_dnsutils; do_node_base ;;
  e2e) do_agnhost; do_jessie_e2e ;;
  agnhost) do_agnhost ;;
  jessie-dnsutils-e2e) do_jessie_e2e ;;
  cluster-dns) do_cluster_dns ;;
  pause) do_pause ;;
  coredns) do_coredns ;;
  dnsutils) do_dnsutils ;;
  node-base) do_node_base ;;
esac
write_index
rm -rf "${BUILDAH_DIR:?}/tmp/"*
