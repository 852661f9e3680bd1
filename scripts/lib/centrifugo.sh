# Centrifugo, the peer the benches compare Parley with: built once from the Go module proxy into
# ~/.cache/parley. Sourced after common.sh (services.sh); sets CENTRIFUGO_BIN.

CENTRIFUGO_VERSION=v6.9.1

ensure_centrifugo() {
  local dir="$PARLEY_CACHE_DIR/centrifugo-$CENTRIFUGO_VERSION"
  CENTRIFUGO_BIN="$dir/centrifugo"
  if [[ ! -x "$CENTRIFUGO_BIN" ]]; then
    say "building Centrifugo $CENTRIFUGO_VERSION from the Go module proxy (once)"
    command -v go >/dev/null || die "Go is needed to build Centrifugo (see README)"
    mkdir -p "$dir"
    GOBIN="$dir" go install "github.com/centrifugal/centrifugo/v6@$CENTRIFUGO_VERSION"
  fi
  export CENTRIFUGO_BIN
}
