# Taiwa: the Makefile is the contract. `make run` and `make test` work on a
# fresh Debian machine; targets install what they need.

GO        ?= go
BIN       := bin
DATA      ?= var
ADDR      ?= 127.0.0.1:8080
VERSION   := $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -X main.version=$(VERSION)
# Every Go package; the desktop app's window code will need cgo and GL
# headers (or -tags ci) once it exists, and gets its own install step then.
GOPKGS    := ./pkg/... ./server/... ./mobileweb/... ./desktop/...

.PHONY: help run build test test-go lint bench fuzz tools clean

help: ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

tools: ## check the Go toolchain is present
	@command -v $(GO) >/dev/null || { echo "Go is missing: install Go 1.26+ from the Go module proxy's toolchain or Debian backports"; exit 1; }

build: tools ## build the server (with the PWA embedded) and the load tool
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/taiwa ./server
	$(GO) build -o $(BIN)/taiwa-load ./server/cmd/taiwa-load

run: build ## run the server on $(ADDR) with data in ./$(DATA); creates a demo organisation on first run
	@mkdir -p $(DATA)
	@$(BIN)/taiwa demo --data $(DATA)
	@echo
	@if [ -z "$$DISPLAY" ] && [ -z "$$WAYLAND_DISPLAY" ]; then \
		echo "No display here: serving only. Open the client app in a browser at the address below."; \
	fi
	$(BIN)/taiwa serve --data $(DATA) --addr $(ADDR)

test: tools test-go ## run every test

test-go:
	$(GO) vet $(GOPKGS)
	@unformatted=$$(gofmt -l pkg server mobileweb desktop); if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi
	$(GO) test -race -count=1 -timeout 15m $(GOPKGS)

lint: ## vet, gofmt and staticcheck
	$(GO) vet $(GOPKGS)
	gofmt -l pkg server mobileweb desktop
	$(GO) run honnef.co/go/tools/cmd/staticcheck@latest $(GOPKGS)

bench: build ## load test: Taiwa vs a bare WebSocket relay (see docs/bench.md)
	$(BIN)/taiwa-load compare --server $(BIN)/taiwa --clients 1000 --counselors 10 --rate 500 --duration 30s
	$(BIN)/taiwa-load idle --server $(BIN)/taiwa --conns 10000

fuzz: ## run each fuzz target for a bounded time
	$(GO) test ./pkg/protocol -run '^$$' -fuzz FuzzDecodeClientFrame -fuzztime 60s

clean: ## remove build output (not ./var)
	rm -rf $(BIN)
