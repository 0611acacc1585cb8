# srcip — build, test, demo and benchmarks. Run as root on a Debian machine:
#   make demo    install what is missing, build, run the lab demo
#   make test    install what is missing, build, run every test
#   make bench   install what is missing, build (release), print the benchmarks
#   make bpf     rebuild the BPF object and the committed skeleton (needs /opt/swift's clang and bpftool)

SWIFT      ?= swift
APT_PACKAGES := libbpf-dev libelf-dev zlib1g-dev pkg-config bpftool iptables nftables conntrack iproute2 python3 iperf3 curl tcpdump hping3 libxml2-utils
# BPF: compiled with the clang that ships with Swift; the skeleton is committed so `swift build` needs no BPF toolchain.
BPF_CLANG    ?= /opt/swift/usr/bin/clang
BPFTOOL      ?= /usr/sbin/bpftool
BPF_ARCH_INC ?= /usr/include/$(shell uname -m)-linux-gnu
BPF_CFLAGS   := -target bpf -O2 -g -Wall -Werror -I$(BPF_ARCH_INC) -fdebug-prefix-map=$(CURDIR)=.
BPF_SRC      := bpf/srcip.bpf.c
BPF_DEPS     := $(BPF_SRC) bpf/srcip_core.h Sources/CSrcipABI/include/srcip_abi.h
SKELETON     := Sources/CSrcipSkeleton/include/srcip.skel.h

SRCIP_DEBUG   := .build/debug/srcip
SRCIP_RELEASE := .build/release/srcip

.PHONY: all deps build release test demo bench clean bpf bpf-check

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
	$(SRCIP_RELEASE)-bench

# Compile $(BPF_SRC) and write its skeleton to $(1).
define build_skeleton
	( tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	$(BPF_CLANG) $(BPF_CFLAGS) -c $(BPF_SRC) -o $$tmp/srcip.bpf.o && \
	$(BPFTOOL) gen object $$tmp/srcip.o $$tmp/srcip.bpf.o && \
	$(BPFTOOL) gen skeleton $$tmp/srcip.o name srcip > $$tmp/srcip.skel.h && \
	cp $$tmp/srcip.skel.h $(1) )
endef

# Rebuild the BPF programs and the committed skeleton.
bpf: deps
	@$(call build_skeleton,$(SKELETON)) && echo "  GEN $(SKELETON)"

# Rebuild the skeleton elsewhere and fail if the committed one differs from its source.
bpf-check: deps
	@out=$$(mktemp) && trap 'rm -f "$$out"' EXIT && \
	$(call build_skeleton,$$out) && \
	if cmp -s $$out $(SKELETON); then echo "  OK  $(SKELETON) matches bpf/"; \
	else echo "  FAIL $(SKELETON) is stale or not reproducible: run 'make bpf' and commit it" >&2; exit 1; fi

clean:
	rm -rf .build bpf/.output
