# srcip build entry points. `bpf` / `bpf-check` belong to the kernel side;
# other targets (test, demo, bench, deps) are added by the lead below.

BPF_CLANG   ?= /opt/swift/usr/bin/clang
BPFTOOL     ?= /usr/sbin/bpftool
BPF_ARCH_INC ?= /usr/include/$(shell uname -m)-linux-gnu
BPF_CFLAGS  := -target bpf -O2 -g -Wall -Werror -I$(BPF_ARCH_INC) -fdebug-prefix-map=$(CURDIR)=.
BPF_SRC     := bpf/srcip.bpf.c
BPF_DEPS    := $(BPF_SRC) bpf/srcip_core.h Sources/CSrcipABI/include/srcip_abi.h
SKELETON    := Sources/CSrcipSkeleton/include/srcip.skel.h

.PHONY: bpf bpf-check

## bpf: compile the BPF programs and regenerate the committed skeleton.
bpf: $(SKELETON)

$(SKELETON): $(BPF_DEPS)
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	$(BPF_CLANG) $(BPF_CFLAGS) -c $(BPF_SRC) -o $$tmp/srcip.bpf.o && \
	$(BPFTOOL) gen object $$tmp/srcip.o $$tmp/srcip.bpf.o && \
	$(BPFTOOL) gen skeleton $$tmp/srcip.o name srcip > $$tmp/srcip.skel.h && \
	mv $$tmp/srcip.skel.h $@ && echo "  GEN $@"

## bpf-check: rebuild the skeleton in a temp dir; fail if the committed one differs.
bpf-check:
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	$(BPF_CLANG) $(BPF_CFLAGS) -c $(BPF_SRC) -o $$tmp/srcip.bpf.o && \
	$(BPFTOOL) gen object $$tmp/srcip.o $$tmp/srcip.bpf.o && \
	$(BPFTOOL) gen skeleton $$tmp/srcip.o name srcip > $$tmp/srcip.skel.h && \
	if cmp -s $$tmp/srcip.skel.h $(SKELETON); then echo "  OK  $(SKELETON) is up to date"; \
	else echo "  FAIL $(SKELETON) is stale or not reproducible: run 'make bpf' and commit" >&2; exit 1; fi
