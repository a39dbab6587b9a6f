#!/bin/sh
# Pin every image of the stack by digest: `image: name:tag` in docker-compose.yml and
# `FROM name:tag` in the Dockerfile become `name:tag@sha256:...`, the digest the registry
# serves for that tag now (the multi-platform index, so every platform stays pinned).
#
#   deploy/pin-digests.sh [COMPOSE_FILE [DOCKERFILE]]
#
# Needs registry access and one of: `docker buildx imagetools` (Docker), `crane`, `skopeo`.
# Run it again after changing a tag: an existing digest is replaced by the tag's current one.
# Review the diff, then commit it; tests/test_deploy.py checks that the tags stay exact.
set -eu

cd "$(dirname "$0")/.."
COMPOSE_FILE=${1:-docker-compose.yml}
DOCKERFILE=${2:-Dockerfile}

digest() { # name:tag -> sha256:...
  if docker buildx version >/dev/null 2>&1; then
    docker buildx imagetools inspect "$1" --format '{{.Manifest.Digest}}'
  elif command -v crane >/dev/null 2>&1; then
    crane digest "$1"
  elif command -v skopeo >/dev/null 2>&1; then
    skopeo inspect --raw "docker://$1" | sha256sum | sed 's/^\([0-9a-f]*\).*/sha256:\1/'
  else
    echo "pin-digests: needs docker buildx, crane or skopeo" >&2
    return 1
  fi
}

# pin FILE PREFIX: rewrite every line "<PREFIX>name:tag[@sha256:...]" of FILE.
pin() {
  file=$1 prefix=$2
  grep -E "^${prefix}[^ @\$]+:[^ @\$]+(@sha256:[0-9a-f]{64})?[[:space:]]*$" "$file" |
    sed -E "s/^${prefix}//; s/@sha256:[0-9a-f]{64}//; s/[[:space:]]*$//" | sort -u |
    while read -r ref; do
      sum=$(digest "$ref")
      case $sum in
        sha256:????????????????????????????????????????????????????????????????) ;;
        *) echo "pin-digests: no digest for $ref (got '$sum')" >&2; exit 1 ;;
      esac
      echo "$ref@$sum"
      escaped=$(printf '%s' "$ref" | sed 's/[.\/]/\\&/g')
      sed -E "s/^(${prefix})${escaped}(@sha256:[0-9a-f]{64})?[[:space:]]*$/\1${escaped}@${sum}/" \
        "$file" >"$file.tmp"
      cat "$file.tmp" >"$file" && rm -f "$file.tmp"
    done
}

pin "$COMPOSE_FILE" '[[:space:]]*image:[[:space:]]*'
pin "$DOCKERFILE" 'FROM[[:space:]]+'
