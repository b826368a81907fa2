// Package conformance is kiln's differential conformance suite: every case under cases/ is built
// by current BuildKit (buildctl against a buildkitd) and by kiln, both export docker-archive tars,
// and the flattened filesystems, image configs, histories and layer counts must agree.
//
// The test is guarded by the build tag "conformance", so `go test ./...` skips it. Run it with
//
//	make conformance
//
// or by hand (as root, on Debian 12):
//
//	conformance/setup.sh && go test -tags conformance -count=1 -v ./conformance/
//
// See conformance/README.md for the case format, the environment variables and
// known-differences.txt.
package conformance
