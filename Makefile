# vipd — see README.md.
GO      ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X github.com/vipd/vipd/internal/cli.Version=$(VERSION)

.PHONY: build test bench install clean

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o vipd ./cmd/vipd

# The whole suite, with the race detector. The end-to-end tests create
# network namespaces and need root; as another user they skip.
test:
	$(GO) test -race -count=1 -v -timeout 30m ./...

bench:
	$(GO) test -run='^$$' -bench=. -benchmem ./...

install: build
	install -D -m 0755 vipd $(DESTDIR)/usr/local/sbin/vipd

clean:
	rm -f vipd
