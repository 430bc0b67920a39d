# dogpile-go developer commands. A newcomer needs two:
#   make demo   the dogpile command's stampede demo on the embedded memory backend
#   make test   starts private memcached/Redis servers on loopback, runs go test -race ./...
GO       ?= go
PKGS     ?= ./...
FUZZTIME ?= 30s
BENCH    ?= .
COUNT    ?= 6

.PHONY: demo test test-short bench lint fuzz

demo:
	$(GO) run ./cmd/dogpile bench --duration 3s

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
	$(GO) test -run '^$$' -fuzz '^FuzzDogpileEnvelope$$' -fuzztime $(FUZZTIME) ./region/
