# srcip — build, test, demo and benchmarks. Run as root on a Debian machine:
#   make demo    install what is missing, build, run the lab demo
#   make test    install what is missing, build, run every test
#   make bench   install what is missing, build (release), print the benchmarks
#   make bpf     rebuild the BPF object and the committed skeleton (needs /opt/swift's clang and bpftool)

SWIFT      ?= swift
APT_PACKAGES := libbpf-dev libelf-dev zlib1g-dev pkg-config bpftool iptables nftables conntrack iproute2 python3
SRCIP_DEBUG   := .build/debug/srcip
SRCIP_RELEASE := .build/release/srcip

.PHONY: all deps build release test demo bench clean

all: build

# Install the Debian packages srcip needs, only those missing.
deps:
	@missing=""; for p in $(APT_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  if [ "$$(id -u)" -ne 0 ]; then echo "error: run as root to install$$missing" >&2; exit 1; fi; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release

test: deps
	$(MAKE) --no-print-directory bpf-check
	$(SWIFT) build --build-tests
	$(SWIFT) test --no-parallel

demo: build
	$(SRCIP_DEBUG) lab demo

bench: release
	$(SRCIP_RELEASE) bench

clean:
	rm -rf .build bpf/.output
