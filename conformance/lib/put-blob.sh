#!/bin/bash
# put-blob.sh FILE...: uploads each FILE as a blob to the conformance registry (repository
# kiln-conformance/http on $REGISTRY_HOST) so that cases can ADD it over HTTP without a network:
#   ADD http://@REGISTRY_HOST@/v2/kiln-conformance/http/blobs/sha256:<sha256 of FILE> /dest
# (the registry serves it with an ETag and no Last-Modified). Used from a case's prepare.sh, which
# the runner runs with REGISTRY and REGISTRY_HOST set. Prints each blob's URL.
set -euo pipefail
: "${REGISTRY:?REGISTRY unset (run from a case prepare.sh)}" "${REGISTRY_HOST:?}"
repo=kiln-conformance/http
for f in "$@"; do
  d=sha256:$(sha256sum "$f" | cut -d' ' -f1)
  url=http://$REGISTRY_HOST/v2/$repo/blobs/$d
  if ! curl -fsS -o /dev/null -I "$url" 2>/dev/null; then
    loc=$(curl -fsS -i -X POST "http://$REGISTRY_HOST/v2/$repo/blobs/uploads/" | tr -d '\r' |
          awk -F': ' 'tolower($1)=="location"{print $2}')
    case "$loc" in http*) ;; *) loc=http://$REGISTRY_HOST$loc ;; esac
    case "$loc" in *\?*) loc="$loc&digest=$d" ;; *) loc="$loc?digest=$d" ;; esac
    curl -fsS -o /dev/null -X PUT -H 'Content-Type: application/octet-stream' --data-binary @"$f" "$loc"
  fi
  echo "$url"
done
