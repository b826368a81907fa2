.PHONY: conformance fuzz

# Differential conformance suite (as root, Debian 12): conformance/setup.sh starts the reference
# services (cached under $KILN_CONFORMANCE_STATE, default /var/cache/kiln-conformance), then every
# case is built by BuildKit and by kiln and compared.  See conformance/README.md.
conformance:
	conformance/setup.sh
	PATH=/usr/local/go/bin:$$PATH go test -tags conformance -count=1 -timeout 60m -v ./conformance/

FUZZTIME ?= 10m
FUZZMINIMIZETIME ?= 5s

# Every Fuzz… test in the repo, one at a time, sharing FUZZTIME (default 10m; 90s, 1h or plain
# seconds) including their compile time (about 5s each): each gets an equal share of what is
# left when it starts. -fuzzminimizetime bounds the minimizing of each new input (Go's default, 60s, ate the budget).
# New interesting inputs go to the Go build cache's fuzz corpus; a failure leaves its input in the
# package's testdata/fuzz/ and stops the run. Seeds come from each f.Add (and testdata/fuzz/).
fuzz:
	@set -e; export PATH=/usr/local/go/bin:$$PATH; \
	t='$(FUZZTIME)'; case $$t in *h) s=$$(( $${t%h} * 3600 ));; *m) s=$$(( $${t%m} * 60 ));; *s) s=$${t%s};; *) s=$$t;; esac; \
	targets=$$(grep -rl --include='*_test.go' '^func Fuzz' . | grep -v -e '^./conformance/' -e '/testdata/' | sort | \
	  while read f; do for n in $$(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' $$f); do echo "$$(dirname $$f)/$$n"; done; done); \
	log=$$(mktemp); left=$$(echo "$$targets" | wc -l); end=$$(( $$(date +%s) + s )); \
	echo "fuzz: $$left targets in $${s}s"; \
	for tg in $$targets; do \
	  per=$$(( (end - $$(date +%s)) / left - 5 )); [ $$per -ge 5 ] || per=5; left=$$((left - 1)); \
	  echo "=== $$tg ($${per}s)"; \
	  go test -run '^$$' -fuzz "^$${tg##*/}\$$" -fuzztime $${per}s -fuzzminimizetime $(FUZZMINIMIZETIME) "$${tg%/*}" \
	    >"$$log" 2>&1 || { cat "$$log"; rm -f "$$log"; exit 1; }; \
	  tail -n 3 "$$log"; \
	done; rm -f "$$log"
