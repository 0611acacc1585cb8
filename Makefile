# srcip — build, test, demo and benchmarks. Run as root on a Debian machine:
#   make demo    install what is missing, build, run the lab demo
#   make test    install what is missing, build (also the release binary and the image), run every test
#   make bench   install what is missing, build (release), print the benchmarks
#   make soak    srcip trace --check on a lab under churn and load for SOAK_SECONDS (default 600; not part of make test)
#   make dist    portable release tarball in .build/dist/ (static Swift runtime, stripped)
#   make image   OCI image srcip:VERSION with podman (offline base from debootstrap unless IMAGE_BASE=debian)
#   make bpf     rebuild the BPF object and the committed skeleton (needs /opt/swift's clang and bpftool)

SWIFT      ?= swift
APT_PACKAGES := libbpf-dev libelf-dev zlib1g-dev pkg-config bpftool iptables nftables conntrack iproute2 python3 python3-pip iperf3 curl tcpdump hping3 libxml2-utils prometheus nfdump tshark chromium
# BPF: compiled with the clang that ships with Swift; the skeleton is committed so `swift build` needs no BPF toolchain.
BPF_CLANG    ?= /opt/swift/usr/bin/clang
BPFTOOL      ?= /usr/sbin/bpftool
BPF_ARCH_INC ?= /usr/include/$(shell uname -m)-linux-gnu
BPF_CFLAGS   := -target bpf -O2 -g -Wall -Werror -I$(BPF_ARCH_INC) -fdebug-prefix-map=$(CURDIR)=.
BPF_SRC      := bpf/srcip.bpf.c
BPF_DEPS     := $(BPF_SRC) $(wildcard bpf/*.h) Sources/CSrcipABI/include/srcip_abi.h
SKELETON     := Sources/CSrcipSkeleton/include/srcip.skel.h

SRCIP_DEBUG   := .build/debug/srcip
SRCIP_RELEASE := .build/release/srcip

.PHONY: all deps build release test demo bench soak clean bpf bpf-check dist image image-base image-deps test-image py-deps man completions

DIST_DIR := .build/dist

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

# kubernetes-validate (PyPI) for the deploy/ manifest tests; jsonschema (PyPI) validates every output against docs/schemas.
py-deps:
	@python3 -c 'import kubernetes_validate' 2>/dev/null || { echo "installing: kubernetes-validate (pip)"; \
	  python3 -m pip install -q kubernetes-validate 2>/dev/null || \
	  python3 -m pip install -q --break-system-packages kubernetes-validate; }
	@python3 -c 'import jsonschema' 2>/dev/null || { echo "installing: jsonschema (pip)"; \
	  python3 -m pip install -q jsonschema 2>/dev/null || \
	  python3 -m pip install -q --break-system-packages jsonschema; }

# Manual pages from the command definitions (ArgumentParser's generate-manual plugin) into .build/man: srcip.1 and
# one page per subcommand. Nothing generated is committed. Read one with `man .build/man/srcip.1`.
man:
	@mkdir -p .build/man
	$(SWIFT) package --allow-writing-to-package-directory generate-manual --multi-page --output-directory .build/man
	@ls .build/man

# Shell completion scripts (bash, zsh, fish) from the command definitions, into .build/completions.
completions: build
	@mkdir -p .build/completions && for sh in bash zsh fish; do \
	  $(SRCIP_DEBUG) --generate-completion-script $$sh > .build/completions/srcip.$$sh; done; ls .build/completions

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release

# The image is built first (ImageTests trace a lab node from it): inside `swift test` a nested `swift build` would
# wait forever for the build directory's lock. Cost on a fresh 2-core machine: README "On a cluster".
test: deps py-deps
	$(MAKE) --no-print-directory bpf-check
	$(MAKE) --no-print-directory image
	$(SWIFT) build --build-tests
	$(SWIFT) test --no-parallel

# Release build with the Swift runtime linked in, stripped, packed with README, the resource bundles it loads from
# beside itself (srcip_SrcipLabCluster.resources: the lab's seed manifest) and LICENSE when the repository has one, as $(DIST_DIR)/srcip-VERSION-linux-ARCH.tar.gz. Needs at run time: libbpf1, libelf1, zlib1g, libc6,
# libstdc++6, libgcc-s1 (libbpf stays shared: README "On a cluster").
dist: deps
	@set -e; start=$$(date +%s); \
	$(SWIFT) build -c release --product srcip --static-swift-stdlib; \
	bin=$$($(SWIFT) build -c release --show-bin-path)/srcip; \
	version=$$($$bin --version); name=srcip-$$version-linux-$$(uname -m); \
	stage=$(DIST_DIR)/$$name; rm -rf $$stage; mkdir -p $$stage; \
	strip -o $$stage/srcip $$bin; cp README.md $$stage/; \
	cp -R $$(dirname $$bin)/*.resources $$stage/; \
	if [ -f LICENSE ]; then cp LICENSE $$stage/; else echo "warning: the repository has no LICENSE file; the tarball has none" >&2; fi; \
	tar -C $(DIST_DIR) -czf $(DIST_DIR)/$$name.tar.gz $$name; \
	ln -sf $$name.tar.gz $(DIST_DIR)/srcip-linux-$$(uname -m).tar.gz; \
	echo "  DIST $(DIST_DIR)/$$name.tar.gz: $$(du -h $(DIST_DIR)/$$name.tar.gz | cut -f1) packed, binary $$(du -h $$stage/srcip | cut -f1), $$(( $$(date +%s) - start )) s"; \
	echo "  needs: $$(readelf -d $$stage/srcip | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p' | tr '\n' ' ')"

# Container image (Containerfile) with podman, offline by default: the base is Debian bookworm from
# `debootstrap --variant=minbase` (the machine's own apt mirror), imported as $(IMAGE_LOCAL_BASE).
# IMAGE_BASE=debian builds from debian:bookworm-slim instead (needs a registry).
IMAGE            ?= localhost/srcip
IMAGE_BASE       ?= debootstrap
IMAGE_LOCAL_BASE := localhost/srcip-base:bookworm
IMAGE_APT        := podman buildah runc debootstrap
# runc and cgroupfs: crun fails on hybrid cgroup hierarchies; explicit ulimits: podman's defaults exceed some hosts'.
PODMAN           := podman --runtime runc --cgroup-manager=cgroupfs
PODMAN_ULIMITS   := --ulimit nofile=1024:1024 --ulimit nproc=1024:1024
DEBIAN_MIRROR    ?= $(shell sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -1)

image-deps:
	@$(MAKE) --no-print-directory deps APT_PACKAGES="$(IMAGE_APT)"

# The offline base: Debian bookworm minbase from debootstrap, with the host's apt sources when it runs bookworm,
# trimmed like debian:bookworm-slim (no documentation but copyright files, no manual pages or translations).
image-base: image-deps
	@set -e; if ! $(PODMAN) image exists $(IMAGE_LOCAL_BASE); then \
	  start=$$(date +%s); root=$$(mktemp -d) && trap 'rm -rf "$$root"' EXIT; \
	  debootstrap --variant=minbase bookworm $$root $(DEBIAN_MIRROR) >/dev/null; \
	  if grep -qs '^VERSION_CODENAME=bookworm' /etc/os-release && [ -f /etc/apt/sources.list.d/debian.sources ]; then \
	    cp /etc/apt/sources.list.d/debian.sources $$root/etc/apt/sources.list.d/ && rm -f $$root/etc/apt/sources.list; fi; \
	  printf '%s\n' 'path-exclude /usr/share/doc/*' 'path-include /usr/share/doc/*/copyright' 'path-exclude /usr/share/man/*' \
	    'path-exclude /usr/share/info/*' 'path-exclude /usr/share/locale/*' > $$root/etc/dpkg/dpkg.cfg.d/srcip-slim; \
	  find $$root/usr/share/doc -type f ! -name copyright -delete; \
	  rm -rf $$root/usr/share/man/* $$root/usr/share/info/* $$root/usr/share/locale/*; \
	  rm -rf $$root/var/cache/apt/* $$root/var/lib/apt/lists/* $$root/var/log/*; \
	  tar -C $$root --numeric-owner -c . | $(PODMAN) import --change 'CMD ["/bin/bash"]' - $(IMAGE_LOCAL_BASE) >/dev/null; \
	  echo "  BASE $(IMAGE_LOCAL_BASE) (debootstrap --variant=minbase bookworm), $$(( $$(date +%s) - start )) s"; \
	fi

image: dist image-deps $(if $(filter debian,$(IMAGE_BASE)),,image-base)
	@set -e; start=$$(date +%s); \
	base=$(if $(filter debian,$(IMAGE_BASE)),docker.io/library/debian:bookworm-slim,$(IMAGE_LOCAL_BASE)); \
	ctx=.build/image-context; rm -rf $$ctx; mkdir -p $$ctx; \
	tar -xzf $(DIST_DIR)/srcip-linux-$$(uname -m).tar.gz -C $$ctx --strip-components=1; \
	version=$$($$ctx/srcip --version); digest=$$(sha256sum $$ctx/srcip | cut -d' ' -f1); \
	$(PODMAN) build $(PODMAN_ULIMITS) --network host --build-arg BASE=$$base --build-arg SRCIP_VERSION=$$version \
	  --build-arg SRCIP_SHA256=$$digest -t $(IMAGE):$$version -t $(IMAGE):latest -f Containerfile $$ctx >/dev/null; \
	inside=$$($(PODMAN) run --rm $(PODMAN_ULIMITS) --entrypoint sha256sum $(IMAGE):$$version /usr/local/bin/srcip | cut -d' ' -f1); \
	if [ "$$inside" != "$$digest" ]; then echo "error: the image's srcip ($$inside) is not the dist binary ($$digest)" >&2; exit 1; fi; \
	echo "  IMAGE $(IMAGE):$$version $$($(PODMAN) image inspect --format '{{.Size}}' $(IMAGE):$$version | awk '{printf "%.1f MB", $$1/1e6}') from $$base, $$(( $$(date +%s) - start )) s"

# Only the image tests (ImageTests, also part of `make test`): the image built here traces a lab node with three
# capabilities under deploy/seccomp/srcip.json.
test-image: deps image
	$(SWIFT) build --build-tests
	$(SWIFT) test --no-parallel --filter ImageTests

demo: build
	$(SRCIP_DEBUG) lab demo

bench: release
	$(SRCIP_RELEASE)-bench

# Soak (README "Soak"): pod/Service churn plus >= 200 connections/s through a lab for SOAK_SECONDS (default 600),
# srcip trace --check on every node; RSS, file descriptors and every lost record reported; exit 1 on a failed trace or a loss.
SOAK_SECONDS ?= 600
soak: build
	SOAK_SECONDS=$(SOAK_SECONDS) SOAK_SRCIP=$(SRCIP_DEBUG) python3 scripts/soak.py

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
