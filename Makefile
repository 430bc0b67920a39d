# dogpile-go developer commands. A newcomer needs two:
#   make demo   the dogpile command's stampede demo on the bounded memory backend
#   make test   starts private memcached/Redis servers on loopback, runs go test -race ./...
GO       ?= go
PKGS     ?= ./...
FUZZTIME ?= 30s
BENCH    ?= .
COUNT    ?= 6

.PHONY: demo docs-plot test test-short bench lint fuzz

# PLOT=FILE.svg|png also draws the results (docs/cli.md shows docs/bench.png).
demo:
	$(GO) run ./cmd/dogpile --arg max_size=10000 bench --duration 3s $(if $(PLOT),--plot $(PLOT))

# Regenerate the picture docs/cli.md shows.
docs-plot:
	$(MAKE) demo PLOT=docs/bench.png

test:
	scripts/test-services.sh $(GO) test -race -count=1 -timeout 20m $(PKGS)

# Unit tests only: tests that need a server skip themselves.
test-short:
	$(GO) test -race -count=1 $(PKGS)

bench:
	scripts/test-services.sh $(GO) test -run '^$$' -bench '$(BENCH)' -benchmem -count $(COUNT) $(PKGS)

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	@# The hit paths inline the freshness rule: keep it so (docs/PERFORMANCE.md).
	@m=$$($(GO) build -gcflags=-m ./region/ 2>&1); for f in '(\*freshness).judge' '(\*regionState).freshness'; do \
		echo "$$m" | grep -q "can inline $$f" || { echo "region: $$f is no longer inlinable"; exit 1; }; done

fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzParseEnvelope$$' -fuzztime $(FUZZTIME) ./region/
	$(GO) test -run '^$$' -fuzz '^FuzzSerializedPayload$$' -fuzztime $(FUZZTIME) ./region/
	$(GO) test -run '^$$' -fuzz '^FuzzArguments$$' -fuzztime $(FUZZTIME) ./region/
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) ./oslocache/
	$(GO) test -run '^$$' -fuzz '^FuzzDogpileEnvelope$$' -fuzztime $(FUZZTIME) ./region/
	$(GO) test -run '^$$' -fuzz '^FuzzDecodePythonItem$$' -fuzztime $(FUZZTIME) ./backends/memcache/
	$(GO) test -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime $(FUZZTIME) ./pickle/
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeCachedValue$$' -fuzztime $(FUZZTIME) ./pickle/
	$(GO) test -run '^$$' -fuzz '^FuzzPooledDecoder$$' -fuzztime $(FUZZTIME) ./pickle/
	$(GO) test -run '^$$' -fuzz '^FuzzBoundedArguments$$' -fuzztime $(FUZZTIME) ./backends/memory/
	$(GO) test -run '^$$' -fuzz '^FuzzArguments$$' -fuzztime $(FUZZTIME) ./backends/redis/
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) ./internal/tlsciphers/
	$(GO) test -run '^$$' -fuzz '^FuzzParseJSONValue$$' -fuzztime $(FUZZTIME) ./cmd/dogpile/internal/cli/
	$(GO) test -run '^$$' -fuzz '^FuzzExactNumber$$' -fuzztime $(FUZZTIME) ./cmd/dogpile/internal/cli/
