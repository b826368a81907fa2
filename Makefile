.PHONY: conformance

# Differential conformance suite (as root, Debian 12): conformance/setup.sh starts the reference
# services (cached under $KILN_CONFORMANCE_STATE, default /var/cache/kiln-conformance), then every
# case is built by BuildKit and by kiln and compared.  See conformance/README.md.
conformance:
	conformance/setup.sh
	PATH=/usr/local/go/bin:$$PATH go test -tags conformance -count=1 -timeout 60m -v ./conformance/
