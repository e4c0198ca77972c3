# vipd — see README.md.
GO      ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X github.com/vipd/vipd/internal/cli.Version=$(VERSION)

DEBDIR  ?= dist

.PHONY: build test bench install deps clean man deb

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o vipd ./cmd/vipd

# The whole suite, with the race detector. The end-to-end tests create
# network namespaces and need root; as another user they skip.
test:
	$(GO) test -race -count=1 -v -timeout 30m ./...

bench:
	$(GO) test -run='^$$' -bench=. -benchmem ./...

# What the end-to-end tests and `vipd lab` use on Debian/Ubuntu: namespaces
# (iproute2), the sticky router (nftables), the side-by-side comparison
# (keepalived; its service is not started), routed mode's test router (bird2;
# its service is not started either), the CPU bursts of the day in
# production test (stress-ng).
deps:
	apt-get update -qq
	apt-get install -y --no-install-recommends iproute2 nftables keepalived bird2 iputils-ping iputils-arping tcpdump stress-ng
	-systemctl disable --now keepalived 2>/dev/null
	-systemctl disable --now bird 2>/dev/null

# Separate from build so that `make build && sudo make install` does not
# need Go in root's PATH.
install:
	@test -x vipd || { echo "run 'make build' first"; exit 1; }
	install -D -m 0755 vipd $(DESTDIR)/usr/local/sbin/vipd

# Man pages (vipd(8), vipd-run(8), ...) and bash/zsh/fish completion,
# generated from the commands' help.
man:
	rm -rf build/man build/completion
	$(GO) run -ldflags "$(LDFLAGS)" ./internal/cli/gendoc -man build/man -completion build/completion

# The Debian package, into $(DEBDIR): a static vipd in /usr/sbin, the man
# pages, completion, the systemd unit and /etc/vipd/vipd.yaml (a conffile).
# Installing it starts nothing.
deb: man
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "-s -w $(LDFLAGS)" -o vipd ./cmd/vipd
	contrib/deb/build "$(VERSION)" "$(DEBDIR)"

clean:
	rm -rf vipd build $(DEBDIR)
