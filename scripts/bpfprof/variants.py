#!/usr/bin/env python3
"""Writes variants of bpf/srcip.bpf.c with one piece of the new-flow path removed, into OUTDIR (issue 13's profile).

Usage: variants.py OUTDIR. Each substitution must match the source exactly (it fails loudly when the source moved on).
Pieces are disabled behind skb->mark tests the compiler cannot fold, so the verifier still sees the same program shape.
"""
import os, pathlib, sys

root = pathlib.Path(__file__).resolve().parents[2]
src = (root / "bpf/srcip.bpf.c").read_text()
# The local headers inlined, so a substitution may apply to any of them.
for h in ("parse.h", "conntrack.h", "flowfilter.h", "record.h", "flowcache.h"):
    src = src.replace(f'#include "{h}"', (root / "bpf" / h).read_text())
EMIT = ("emit(skb, SRCIP_EVENT_NEW, &p, &fresh, ct);", ";")
UPDATE = ("long err = bpf_map_update_elem(&flows, &p.key, &fresh, restart ? BPF_ANY : BPF_NOEXIST);", "long err = 0;")
CT = ("bool use_ct = flavour == FLAVOUR_CT &&", "bool use_ct = skb->mark == 0x5eed && flavour == FLAVOUR_CT &&")
MAP = "\t__uint(type, BPF_MAP_TYPE_LRU_HASH);\n\t__uint(map_flags, BPF_F_NO_COMMON_LRU);\n\t__uint(max_entries, 65536);\n"
LOOKUP_ONLY = ("\tbool restart = st && is_tcp", "\tif (st && skb->mark != 0x5eed) return SRCIP_PASS;\n\tbool restart = st && is_tcp")
VARIANTS = {
    "full": [],
    "parse_only": [("\tp.key.ifindex = skb->ifindex;", "\tif (skb->mark != 0x5eed) return SRCIP_PASS;\n\tp.key.ifindex = skb->ifindex;")],
    "no_ct_update_record": [CT, UPDATE, EMIT],
    "no_update_record": [UPDATE, EMIT],
    "no_update": [UPDATE],
    "no_record": [EMIT],
    "no_ct": [CT],
    # Established path (MODE=bulk): everything up to the flow lookup, nothing after it.
    "lookup_only": [LOOKUP_ONLY],
    "lookup_only_small": [LOOKUP_ONLY, (MAP, MAP.replace("65536", "256"))],
    "lookup_only_hash": [LOOKUP_ONLY, (MAP, "\t__uint(type, BPF_MAP_TYPE_HASH);\n\t__uint(max_entries, 65536);\n")],
    "lookup_twice": [("\tbool restart = st && is_tcp", "\tif (st && skb->mark != 0x5eed) { st = bpf_map_lookup_elem(&flows, &p.key); if (st) return SRCIP_PASS; }\n\tbool restart = st && is_tcp")],
    # Established fast path without its two stores (what writing the slot's line costs).
    "fast_nowrite": [("\t\tslot->packets += 1;\n\t\tslot->bytes += skb->len;\n", "")],
    # Established fast path that never expires by window (slow path only at the slot's packet limit).
    "fast_nowindow": [("mine && slot->epoch == epoch && ", "mine && (epoch || 1) && ")],
    # Everything up to the slot's key compare, then return.
    "slot_only": [("\tif (mine && slot->epoch", "\tif (mine && skb->mark != 0x5eed) return SRCIP_PASS;\n\tif (mine && slot->epoch")],
    # Where a handshake's time goes: cut after the filter check and the read of the handshake slot, after the precise clock, after conntrack (before the syn_seen slot).
    "hs_upto_filter": [("\tif (mine) {\n\t\t/* Counted", "\tif (is_tcp && (p.tcp_flags & 0x02) && !st && skb->mark != 0x5eed) return SRCIP_PASS;\n\tif (mine) {\n\t\t/* Counted")],
    "hs_upto_ct": [("\t\tif (is_tcp && !restart && handshake_flow(", "\t\tif (is_tcp && !restart && skb->mark != 0x5eed) return SRCIP_PASS;\n\t\tif (is_tcp && !restart && handshake_flow(")],
    "hs_upto_clock": [("\t\t__u64 now = first_clock(skb, &p, hook, flavour);\n", "\t\t__u64 now = first_clock(skb, &p, hook, flavour);\n\t\tif (is_tcp && !restart && skb->mark != 0x5eed) return SRCIP_PASS;\n")],
    # The handshake without its record.
    "hs_norecord": [("\t\t\temit(skb, SRCIP_EVENT_NEW, p, s, ct);", "\t\t\t;")],
    # The record: without the ring-buffer query (the reader then drains at its polls only).
    "rec_noquery": [("bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA);", "1;")],
    # The wakeup decision of every record (the code before WAKEUP_CHECK).
    "rec_query_each": [("if (*n % WAKEUP_CHECK == 0) {", "if (*n % WAKEUP_CHECK == 0 || skb->mark != 0x5eed) {")],
    # Without the per-CPU counters of count() (an upper bound of what one counters lookup per packet would save).
    "no_counts": [("\t__u64 *v = bpf_map_lookup_elem(&counters, &idx);\n\tif (v)\n\t\t*v += 1;", "\t(void)idx;")],
    # Two ring buffers, one per CPU of this 2-CPU VM (the reader consumes both): what sharing one ring's lock and
    # producer position between CPUs costs a record under a flood.
    "ring_per_cpu": [("} events SEC(\".maps\");\n", "} events SEC(\".maps\");\n\nstruct {\n\t__uint(type, BPF_MAP_TYPE_RINGBUF);\n"
                      "\t__uint(max_entries, 4 * 1024 * 1024);\n} events_b SEC(\".maps\");\n")]
                    + [(f"r = bpf_ringbuf_reserve(&events, {size}, 0);",
                        f"r = bpf_get_smp_processor_id() & 1 ? bpf_ringbuf_reserve(&events_b, {size}, 0) : bpf_ringbuf_reserve(&events, {size}, 0);")
                       for size in ("SRCIP_RECORD_FULL", "SRCIP_RECORD_CT", "SRCIP_RECORD_SHORT")],
    # A ring of 512 KB instead of 4 MB: whether writing records into lines last touched 4 MB ago (cold) costs them.
    "ring_512k": [("\t__uint(max_entries, 4 * 1024 * 1024);\n} events SEC", "\t__uint(max_entries, 512 * 1024);\n} events SEC")],
    "lru_1m": [(MAP, MAP.replace("65536", "1048576"))],
    "hash_1m": [(MAP, "\t__uint(type, BPF_MAP_TYPE_HASH);\n\t__uint(max_entries, 1048576);\n")],
}
# BPFPROF_BASE=FILE: also a variant "base", that file unchanged (e.g. `git show REV:bpf/srcip.bpf.c`), to measure a
# change against the code before it in the same alternating rounds.
bases = {"base": pathlib.Path(os.environ["BPFPROF_BASE"]).read_text()} if os.environ.get("BPFPROF_BASE") else {}
out = pathlib.Path(sys.argv[1])
out.mkdir(parents=True, exist_ok=True)
for name, subs in list(VARIANTS.items()) + [(n, []) for n in bases]:
    s = bases.get(name, src)
    for a, b in subs:
        if a not in s:
            sys.exit(f"variant {name}: {a!r} is no longer in bpf/srcip.bpf.c or its headers")
        s = s.replace(a, b)
    # Includes are relative to bpf/: keep the variant's includes pointing there.
    s = s.replace('#include "srcip_core.h"', f'#include "{root}/bpf/srcip_core.h"')
    s = s.replace('#include "../Sources/CSrcipABI/include/srcip_abi.h"', f'#include "{root}/Sources/CSrcipABI/include/srcip_abi.h"')
    (out / f"{name}.bpf.c").write_text(s)
    print(out / f"{name}.bpf.c")
