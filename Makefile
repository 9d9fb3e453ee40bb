# Taiwa: the Makefile is the contract. `make run` and `make test` work on a
# fresh Debian machine; targets install what they need.

GO        ?= go
BIN       := bin
DATA      ?= var
ADDR      ?= 127.0.0.1:8080
VERSION   := $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -X main.version=$(VERSION)
# Every Go package. Tests and vet build Fyne with its software driver
# (-tags ci), which needs no X or GL headers; the real desktop binary does.
GOPKGS    := ./pkg/... ./server/... ./mobileweb/... ./desktop/... ./docs/...
GOTAGS    := -tags ci
# Debian packages for building the desktop app's real (GLFW) window.
DESKTOP_DEBS := gcc libc6-dev libgl1-mesa-dev libx11-dev libxcursor-dev libxrandr-dev libxinerama-dev libxi-dev libxxf86vm-dev

.PHONY: chaos run-cluster cluster-deps pg-deps pwa-figures pwa-vendor pwa-vendor-check help run build desktop desktop-deps package package-windows screenshot test test-go test-web lint bench fuzz tools clean

help: ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

tools: ## check the Go toolchain is present
	@command -v $(GO) >/dev/null || { echo "Go is missing: install Go 1.26+ from the Go module proxy's toolchain or Debian backports"; exit 1; }

build: tools ## build the server (with the PWA embedded) and the load tool
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/taiwa ./server
	$(GO) build -o $(BIN)/taiwa-load ./server/cmd/taiwa-load

desktop-deps: ## install the Debian packages the desktop window needs (if missing)
	@missing=$$(for p in $(DESKTOP_DEBS); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing: $$missing"; \
		if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
		$$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq --no-install-recommends $$missing; \
	fi

desktop: tools desktop-deps ## build the counselor app (bin/taiwa-desktop)
	$(GO) build -ldflags "-X main.commit=$(VERSION)" -o $(BIN)/taiwa-desktop ./desktop

# App metadata lives in FyneApp.toml (its copy desktop/FyneApp.toml is where
# the fyne tool reads it; a test keeps the two identical);
# the app embeds it too (taiwa-desktop --version).
toml = $(shell sed -n 's/^$(1) = "\{0,1\}\([^"]*\)"\{0,1\}$$/\1/p' desktop/FyneApp.toml)
FYNE_TOOL := fyne.io/tools/cmd/fyne@v1.7.4
GOOS := $(shell $(GO) env GOOS)

package: desktop ## package the counselor app for this OS with the fyne tool (bin/)
	$(GO) run $(FYNE_TOOL) package --os $(GOOS) --release --src desktop \
		--name "$(call toml,Name)" --app-id "$(call toml,ID)" \
		--app-version "$(call toml,Version)" --app-build "$(call toml,Build)" --icon Icon.png
	@mkdir -p $(BIN) && mv -f *.tar.xz *.zip *.app *.exe $(BIN)/ 2>/dev/null; ls -l $(BIN)

# Windows, cross-built here with MinGW (a cold build takes about 9 minutes
# of CPU; kept out of make test). WINDOWS_CERT=cert.pfx and
# WINDOWS_CERT_PASS_FILE=pass.txt sign it (osslsigncode); see desktop/README.md.
WINDOWS_DEBS := gcc-mingw-w64-x86-64 osslsigncode zip

package-windows: tools ## cross-build the Windows app: bin/Taiwa-<version>-windows-amd64.zip (signed if WINDOWS_CERT is set)
	@missing=$$(for p in $(WINDOWS_DEBS); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing: $$missing"; \
		if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
		$$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq --no-install-recommends $$missing; \
	fi
	GO=$(GO) FYNE_TOOL=$(FYNE_TOOL) desktop/packaging/package-windows.sh

SHOT_DEBS := xvfb xauth xdotool imagemagick xclip chromium fonts-noto-cjk

# The guides' pictures (docs/guide/img) are this run's: commit them with
# the change that moved what they show.
screenshot: build desktop ## photograph the real app (desktop under Xvfb, phone in Chromium) against a real server: var/screenshots/*.png and the guides' docs/guide/img
	@missing=$$(for p in $(SHOT_DEBS); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing: $$missing"; \
		if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
		$$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq --no-install-recommends $$missing; \
	fi
	@command -v npm >/dev/null || { echo "npm is missing: apt-get install nodejs npm"; exit 1; }
	cd mobileweb/e2e && npm ci --no-audit --no-fund --loglevel=error
	$(GO) run ./desktop/cmd/taiwa-screenshot --server $(BIN)/taiwa --desktop $(BIN)/taiwa-desktop --out $(DATA)/screenshots --guide docs/guide/img

run: build ## run the server on $(ADDR) with data in ./$(DATA), demo organisation on first run, and the counselor app where there is a display
	@mkdir -p $(DATA)
	@$(BIN)/taiwa demo --data $(DATA)
	@echo
	@if [ -n "$$DISPLAY" ] || [ -n "$$WAYLAND_DISPLAY" ]; then \
		$(MAKE) --no-print-directory desktop && \
		(sleep 1; TAIWA_SERVER=http://$(ADDR) $(BIN)/taiwa-desktop) & \
	else \
		echo "No display here: serving only (the counselor app needs one). Open the client app in a browser at the address below."; \
	fi; \
	exec $(BIN)/taiwa serve --data $(DATA) --addr $(ADDR)

CLUSTER_DEBS := postgresql nginx
CLUSTER_ADDR ?= 127.0.0.1:8080
# CLUSTER_TLS_CERT=cert.pem CLUSTER_TLS_KEY=key.pem make run-cluster: nginx serves HTTPS.

cluster-deps:
	@missing=$$(for p in $(CLUSTER_DEBS); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing: $$missing"; \
		if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
		$$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq --no-install-recommends $$missing; \
	fi

chaos: build cluster-deps ## three replicas on PostgreSQL behind nginx under load: kill -9 one, SIGSTOP another, restart PostgreSQL; 0 acknowledged lost, 0 duplicates, 0 gaps
	$(BIN)/taiwa-load chaos --server $(BIN)/taiwa

run-cluster: build cluster-deps ## a throwaway PostgreSQL, three replicas and nginx on $(CLUSTER_ADDR), demo organisation; Ctrl-C removes it all (docs/deploy.md)
	$(GO) build -o $(BIN)/taiwa-cluster ./server/cmd/taiwa-cluster
	$(BIN)/taiwa-cluster --bin $(BIN)/taiwa --addr $(CLUSTER_ADDR) $(if $(CLUSTER_TLS_CERT),--tls-cert $(CLUSTER_TLS_CERT) --tls-key $(CLUSTER_TLS_KEY))

test: tools test-go test-web chaos ## run every test: Go (with -race), the PWA in headless Chromium, and the cluster's chaos run

# Debian's Chromium for the PWA tests (never a browser download), and a
# Japanese font so that screenshots show text, as phones do.
WEB_DEBS := chromium fonts-noto-cjk

# The Firebase JS SDK, bundled from mobileweb/vendor's lockfile into one
# local file that the PWA loads only when a client turns notifications on.
VENDOR_JS := mobileweb/static/vendor/firebase.js
VENDOR_BUILD = cd mobileweb/vendor && npm ci --no-audit --no-fund --loglevel=error && \
	node_modules/.bin/esbuild firebase.entry.js --bundle --format=esm --minify --target=es2020 \
	--legal-comments=eof --log-level=warning \
	--banner:js="// Generated by make pwa-vendor from mobileweb/vendor/package-lock.json (Firebase JS SDK). Do not edit."

pwa-vendor: ## rebuild the PWA's bundled Firebase SDK (mobileweb/static/vendor/firebase.js)
	$(VENDOR_BUILD) --outfile=$(CURDIR)/$(VENDOR_JS)

# The committed bundle must be exactly what the lockfile builds.
pwa-vendor-check:
	@command -v npm >/dev/null || { echo "npm is missing: apt-get install nodejs npm"; exit 1; }
	$(VENDOR_BUILD) --outfile=$(CURDIR)/$(BIN)/firebase.check.js
	@cmp -s $(BIN)/firebase.check.js $(VENDOR_JS) || { echo "$(VENDOR_JS) is not what mobileweb/vendor builds: run make pwa-vendor"; exit 1; }

test-web: build pwa-vendor-check ## the client app in headless Chromium (installs chromium and a Japanese font if missing)
	@missing=$$(for p in $(WEB_DEBS); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing: $$missing"; \
		if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
		$$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq --no-install-recommends $$missing; \
	fi
	@command -v npm >/dev/null || { echo "npm is missing: apt-get install nodejs npm"; exit 1; }
	cd mobileweb/e2e && npm ci --no-audit --no-fund --loglevel=error
	cd mobileweb/e2e && TAIWA_BIN=$(CURDIR)/$(BIN)/taiwa TAIWA_SHOTS=$(CURDIR)/$(DATA)/screenshots node --test --test-concurrency=1

# Debian's PostgreSQL server programs: the PostgreSQL store's tests start
# throwaway clusters of their own (initdb in a temporary directory, a Unix
# socket, no port); the cluster the package itself sets up is not used.
PG_DEBS := postgresql

pg-deps: ## install Debian's PostgreSQL if missing (the store's tests run their own throwaway clusters)
	@missing=$$(for p in $(PG_DEBS); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing: $$missing"; \
		if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
		$$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq --no-install-recommends $$missing; \
	fi

test-go: pg-deps ## the fast loop: vet, gofmt and every Go test with -race (no browser), PostgreSQL included
	$(GO) vet $(GOTAGS) $(GOPKGS)
	@unformatted=$$(gofmt -l pkg server mobileweb desktop docs); if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi
	TAIWA_REQUIRE_POSTGRES=1 $(GO) test $(GOTAGS) -race -count=1 -timeout 15m $(GOPKGS)

pwa-figures: build ## print the client app's figures: Slow 4G first visit and reopening, crash and stalled-link recovery
	cd mobileweb/e2e && npm ci --no-audit --no-fund --loglevel=error
	cd mobileweb/e2e && TAIWA_BIN=$(CURDIR)/$(BIN)/taiwa node figures.mjs

lint: ## vet, gofmt and staticcheck
	$(GO) vet $(GOTAGS) $(GOPKGS)
	gofmt -l pkg server mobileweb desktop docs
	$(GO) run honnef.co/go/tools/cmd/staticcheck@latest $(GOTAGS) $(GOPKGS)

bench: build cluster-deps ## load test: Taiwa vs a bare WebSocket relay, and three replicas on PostgreSQL vs one server on SQLite (see docs/bench.md)
	$(BIN)/taiwa-load compare --server $(BIN)/taiwa --clients 1000 --counselors 10 --rate 500 --duration 30s
	$(BIN)/taiwa-load cluster --server $(BIN)/taiwa --clients 1000 --counselors 10 --rate 500 --duration 30s
	$(BIN)/taiwa-load idle --server $(BIN)/taiwa --conns 10000
	$(BIN)/taiwa-load storm --server $(BIN)/taiwa --clients 1000 --outage 0 --runs 3
	$(GO) test $(GOTAGS) -run '^$$' -bench . -benchtime 5x -benchmem ./desktop/...
	$(GO) test $(GOTAGS) -run '^$$' -bench LoginDuringFlood -benchtime 20x ./server/internal/server/
	$(GO) test $(GOTAGS) -run '^$$' -bench 'BulkRegistration|SignInRush' -benchtime 1x ./server/internal/server/
	$(GO) test $(GOTAGS) -run '^$$' -bench ClaimContention -benchtime 1x ./server/internal/server/
	$(GO) test $(GOTAGS) -run '^$$' -bench PoolFanOut -benchtime 300x ./server/internal/server/
	$(GO) test -run '^$$' -bench 'BenchmarkOpen|BenchmarkSweepUnderLoad' -benchtime 1x ./server/internal/store/sqlite/
	$(GO) test -run '^$$' -bench 'BenchmarkSendLogPages' -benchtime 500x ./server/internal/store/sqlite/
	$(GO) test -run '^$$' -bench 'BenchmarkSubscribeClient' -benchmem ./server/internal/store/sqlite/
	$(GO) test -run '^$$' -bench 'BenchmarkDecodeClientFrame' -benchmem ./pkg/protocol/

FUZZTIME ?= 60s

fuzz: ## run each fuzz target for $(FUZZTIME) (frames and API bodies); failures land in testdata/fuzz
	$(GO) test ./pkg/protocol -run '^$$' -fuzz FuzzDecodeClientFrame -fuzztime $(FUZZTIME) -parallel 1
	$(GO) test ./pkg/protocol -run '^$$' -fuzz FuzzCheckKeys -fuzztime $(FUZZTIME) -parallel 1
	$(GO) test $(GOTAGS) ./server/internal/server -run '^$$' -fuzz FuzzAPIBodies -fuzztime $(FUZZTIME) -parallel 1

clean: ## remove build output (not ./var)
	rm -rf $(BIN)
