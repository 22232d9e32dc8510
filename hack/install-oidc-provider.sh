#!/usr/bin/env bash
# Builds the OpenID provider the single sign-on tests run against (internal/oidctest): the
# wrapper module hack/tools/oidc-provider over github.com/zitadel/oidc/v3 $ZITADEL_OIDC_VERSION
# from the Go module proxy (its op package and the example server's in-memory storage; users,
# groups and clients come from a JSON file at start). Dex, the usual choice, is not served by the
# proxy beyond 2018's v2.13.0.
# Output: $CAIRN_CACHE/tools/oidc-provider-$ZITADEL_OIDC_VERSION-<rev>/oidc-provider, where <rev>
# is the first 12 hex digits of the SHA-256 of the wrapper's go.mod, go.sum and main.go (in that
# order; internal/oidctest computes the same), so a changed wrapper is rebuilt and never taken
# for the old one. Built into a .tmp folder and moved into place only when complete; a second
# run costs nothing (~15 s cold with a warm module cache, a minute or two on a clean machine).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=hack/versions.sh
source "$root/hack/versions.sh"
cache_lock oidc-provider

src="$root/hack/tools/oidc-provider"
rev=$(cat "$src/go.mod" "$src/go.sum" "$src/main.go" | sha256sum | cut -c1-12)
dir="$CAIRN_CACHE/tools/oidc-provider-$ZITADEL_OIDC_VERSION-$rev"
if [[ -x "$dir/oidc-provider" ]]; then
  exit 0
fi
have=$(cd "$src" && go list -m -f '{{.Version}}' github.com/zitadel/oidc/v3)
if [[ "$have" != "$ZITADEL_OIDC_VERSION" ]]; then
  echo "hack/tools/oidc-provider requires github.com/zitadel/oidc/v3 $have, hack/versions.sh asks for $ZITADEL_OIDC_VERSION: make them agree (go get, go mod tidy)" >&2
  exit 1
fi
echo ">> building the OpenID provider (zitadel/oidc $ZITADEL_OIDC_VERSION) into $dir"
rm -rf "$dir.tmp" && mkdir -p "$dir.tmp"
(cd "$src" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$dir.tmp/oidc-provider" .)
rm -rf "$dir" && mv "$dir.tmp" "$dir"
echo ">> OpenID provider ready: $dir/oidc-provider"
