// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * srcip.bpf.c - tc/tcx programs that follow flows through a node and report,
 * per flow and hook, the tuple seen there, the conntrack (NAT) mapping and a
 * fingerprint of the packet. Records follow flows, not packets: one when a
 * flow first appears at a hook, one when its conntrack mapping becomes known
 * or changes, one on TCP FIN/RST.
 *
 * The programs never drop, redirect or modify a packet: they always return
 * -1 (TC_ACT_UNSPEC for clsact, TCX_NEXT for tcx).
 *
 * Two flavours of each hook:
 *   *_ct: joins views through conntrack. Ingress (before PREROUTING, no
 *         conntrack attached yet) looks the entry up with the kfunc
 *         bpf_skb_ct_lookup(); egress (after POSTROUTING) reads skb->_nfct
 *         through bpf_cast_to_kern_ctx().
 *   *_fp: fingerprints only, no kfuncs, loads on any kernel with ringbuf+BTF.
 *
 * One compilation unit: this file has the maps, the per-packet state and the
 * programs; parse.h the packet parsers (VXLAN included), conntrack.h the
 * conntrack reads, flowfilter.h the handshake slots and the "may be in flows"
 * filter, record.h the ring-buffer records and deferred handshakes,
 * flowcache.h the established-flow cache.
 *
 * Global functions: parse_vxlan, emit, handshake_flow and cache_fill are
 * global (not static) subprograms, so the verifier checks each once, with
 * only the types of its arguments, instead of once per state of every call
 * site. As static subprograms emit (three record lengths, the TCP option
 * walk; six call sites) made the verifier process 488,045 instructions for
 * srcip_ingress_ct and 658,915 for srcip_egress_ct, two thirds of its
 * 1,000,000 limit, and each srcip start spent 1.5-2.8 s of kernel CPU per
 * program; now ~58,000 and ~76,000 (0.06 and 0.08 s). Their pointer arguments
 * may be NULL to the verifier: each checks them first.
 */
#include <stdbool.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <linux/icmpv6.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_core_read.h>

#include "srcip_core.h"
#include "../Sources/CSrcipABI/include/srcip_abi.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* TC_ACT_UNSPEC and TCX_NEXT are both -1: "not my business, carry on". */
#define SRCIP_PASS (-1)

/* linux/icmp.h pulls in libc headers; the echo header is all srcip needs. */
struct icmp_echo {
	__u8 type;
	__u8 code;
	__be16 checksum;
	__be16 id;
	__be16 sequence;
};
#define ICMP_ECHOREPLY_ 0
#define ICMP_ECHO_ 8
#define ICMP_DEST_UNREACH_ 3
#define ICMPV6_DEST_UNREACH_ 1

#define ETH_P_8021Q_ 0x8100
#define ETH_P_8021AD_ 0x88A8
#define IPV6_MAX_EXT_HEADERS 6
#define TCP_MAX_OPTIONS 10

/* Conntrack re-check policy at ingress (bpf_skb_ct_lookup is the one costly
 * step). While the mapping is unknown: on the first 8 packets, then on every
 * power of two. Once known: when the flow resumes after an idle gap (the
 * entry may have been replaced) and every CT_RECHECK_PACKETS packets. */
#define CT_UNKNOWN_EAGER 8
#define CT_RECHECK_PACKETS 4096
#define CT_RECHECK_IDLE_NS (1000ULL * 1000 * 1000)

const volatile struct srcip_config cfg = {};

/* Per-CPU LRU lists (BPF_F_NO_COMMON_LRU): when the map is full every new flow evicts one,
 * and with one list shared by all CPUs that eviction takes a global lock and rotates the
 * shared lists (microseconds per insert under a flood of new flows). Per-CPU lists evict
 * locally; lookups still see every entry, whichever CPU inserted it. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(map_flags, BPF_F_NO_COMMON_LRU);
	__uint(max_entries, 65536);
	__type(key, struct srcip_flow_key);
	__type(value, struct srcip_flow_state);
} flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4 * 1024 * 1024);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SRCIP_CNT__MAX);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

/* The coarse clock as of the current jiffy, per CPU: reading jiffies is one
 * (inlined) load, bpf_ktime_get_coarse_ns() a helper call with a seqcount
 * loop, about 18 ns in a VM. Both advance on the timer tick. */
struct coarse_clock {
	__u64 jiffies;
	__u64 ns;
	/* first_clock(): the precise clock read for the last new flow at ingress on this CPU, and which packet. */
	__u64 pkt_skb;     /* its struct sk_buff (conntrack flavour), else 0 */
	__u64 pkt_tag;     /* its TCP sequence number, IP id and IP length */
	__u64 pkt_jiffies;
	__u64 pkt_ns;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct coarse_clock);
} clock_cache SEC(".maps");

extern struct nf_conn *bpf_skb_ct_lookup(struct __sk_buff *skb, struct bpf_sock_tuple *tuple, __u32 tuple__sz,
					 struct bpf_ct_opts *opts, __u32 opts__sz) __ksym __weak;
extern void bpf_ct_release(struct nf_conn *ct) __ksym __weak;
extern void *bpf_cast_to_kern_ctx(void *obj) __ksym __weak;
extern void *bpf_rdonly_cast(const void *obj, __u32 btf_id) __ksym __weak;

enum flavour {
	FLAVOUR_CT = 0,
	FLAVOUR_FP = 1,
};

/* A parsed packet: where its headers are and what identifies it. The
 * parser writes the tuple straight into the flow map key, which therefore
 * needs no copy. */
struct packet {
	struct srcip_flow_key key; /* ifindex, hook (enum srcip_hook), tuple */
	struct srcip_fingerprint fp;
	__u32 l4_off;     /* offset of the TCP header (for options) */
	__u8 tcp_flags;
	__u8 tcp_doff;    /* TCP header length in bytes */
	__u8 icmp_error;  /* ICMP destination unreachable: how a node REJECTs */
	struct srcip_encap encap; /* VXLAN: the outer tuple and VNI, set with key.encap */
};

static __always_inline void count(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&counters, &idx);
	if (v)
		*v += 1;
}

/* CLOCK_MONOTONIC at the last timer tick (bpf_ktime_get_coarse_ns()), read
 * once per jiffy and CPU. It may lag the tick by one more jiffy when jiffies
 * advanced but the timekeeper was not yet updated: fine for idle decisions. */
static __always_inline __u64 coarse_now(void)
{
	__u32 zero = 0;
	struct coarse_clock *c = bpf_map_lookup_elem(&clock_cache, &zero);
	__u64 j = bpf_jiffies64();

	if (!c)
		return bpf_ktime_get_coarse_ns();
	if (c->jiffies != j) {
		c->ns = bpf_ktime_get_coarse_ns();
		c->jiffies = j;
	}
	return c->ns;
}

/* The precise clock for a flow's first packet at this hook: bpf_ktime_get_ns(), ~55 ns in a VM (kvm-clock), the
 * largest piece of a new flow's cost after the ring buffer. A packet the node forwards is seen at ingress and then,
 * in the same softirq on the same CPU, at egress (one or more hooks: a bridge device, then its port). So ingress
 * keeps its reading with the packet's identity, and an egress that sees the same packet in the same jiffy takes
 * that reading plus 1 ns per egress hook (records stay in path order: ingress, then each egress) instead of reading
 * the clock: an egress record's first time is then its packet's ingress time, microseconds early. Same packet: the
 * same sk_buff (conntrack flavour, through bpf_cast_to_kern_ctx; the fingerprint flavour uses no kfunc, so it also
 * requires TCP) and the same TCP sequence number, IP id and IP length (none of which NAT rewrites). Anything else
 * reads the clock. */
static __always_inline __u64 first_clock(struct __sk_buff *skb, const struct packet *p, __u8 hook, enum flavour flavour)
{
	__u32 zero = 0;
	struct coarse_clock *c = bpf_map_lookup_elem(&clock_cache, &zero);
	if (!c)
		return bpf_ktime_get_ns();
	__u64 id = 0;
	if (flavour == FLAVOUR_CT && bpf_cast_to_kern_ctx)
		id = (__u64)(long)bpf_cast_to_kern_ctx(skb);
	__u64 tag = ((__u64)p->fp.tcp_seq << 32) | ((__u64)p->fp.ip_id << 16) | p->fp.length;
	__u64 j = bpf_jiffies64();
	if (hook == SRCIP_HOOK_EGRESS) {
		if (c->pkt_skb == id && c->pkt_tag == tag && c->pkt_jiffies == j &&
		    (id || p->key.tuple.proto == IPPROTO_TCP)) {
			c->pkt_ns += 1;
			return c->pkt_ns;
		}
		return bpf_ktime_get_ns();
	}
	__u64 now = bpf_ktime_get_ns();
	c->pkt_skb = id;
	c->pkt_tag = tag;
	c->pkt_jiffies = j;
	c->pkt_ns = now;
	return now;
}

#include "parse.h"
#include "conntrack.h"
#include "flowfilter.h"
#include "record.h"
#include "flowcache.h"

static __always_inline int handle(struct __sk_buff *skb, __u8 hook, enum flavour flavour)
{
	struct packet p = {};
	int res;

	count(SRCIP_CNT_PACKETS);
	res = parse(skb, &p);
	switch (res) {
	case PARSE_OK:
		break;
	case PARSE_NOT_IP:
		count(SRCIP_CNT_NOT_IP);
		return SRCIP_PASS;
	case PARSE_TRUNCATED:
		count(SRCIP_CNT_TRUNCATED);
		return SRCIP_PASS;
	case PARSE_BAD_HEADER:
		count(SRCIP_CNT_BAD_HEADER);
		return SRCIP_PASS;
	case PARSE_FRAGMENT:
		count(SRCIP_CNT_FRAGMENT);
		return SRCIP_PASS;
	default:
		count(SRCIP_CNT_UNKNOWN_PROTO);
		return SRCIP_PASS;
	}

	p.key.ifindex = skb->ifindex;
	p.key.hook = hook;
	/* An ICMP error carries the RELATED entry of the connection it answers: not its own mapping. */
	bool use_ct = flavour == FLAVOUR_CT && !cfg.force_fingerprint && !p.icmp_error;
	bool is_tcp = p.key.tuple.proto == IPPROTO_TCP;
	/* Egress: the attached conntrack entry is one load away; compare it
	 * on every packet. An encapsulated packet carries the entry of its
	 * outer UDP packet there, so its inner flow is looked up as at ingress. */
	bool attached = hook == SRCIP_HOOK_EGRESS && !p.key.encap;

	unsigned long nfct = 0;
	__u64 nfct_id = 0;
	if (use_ct && attached) {
		nfct = ct_attached(skb);
		if (nfct & ~SRCIP_NFCT_INFOMASK)
			nfct_id = (__u64)(nfct & ~SRCIP_NFCT_INFOMASK) ^ cfg.ct_salt;
	}

	/* Fast path (flowcache.h): the flow's slot, filled in this window of jiffies, and nothing for the slow path
	 * to do. A SYN never takes it (nor reads the slot: a SYN flood's packets are new flows). */
	__u32 epoch = cache_epoch();
	__u32 slot_idx = cache_index(&p.key);
	struct srcip_flow_slot *slot = p.tcp_flags & 0x02 ? NULL : bpf_map_lookup_elem(&flow_cache, &slot_idx);
	bool mine = slot && slot->live && cache_key_equal(&slot->key, &p.key);
	if (mine && slot->epoch == epoch && slot->packets < slot->limit && !(p.tcp_flags & ~slot->tcp_flags) &&
	    (!use_ct || !attached || !nfct_id || (__u16)nfct_id == slot->ct_lo)) {
		slot->packets += 1;
		slot->bytes += skb->len;
		return SRCIP_PASS;
	}

	/* Conntrack's view, in per-CPU scratch: handle → ct_lookup → ct_read is at the verifier's 512-byte stack limit.
	 * (tc programs do not nest on a CPU.) */
	__u32 zero = 0;
	struct ct_view *ct = bpf_map_lookup_elem(&ct_scratch, &zero);
	if (!ct)
		return SRCIP_PASS;
	ct->id = 0;

	/* A handshake packet whose key has no bit in the filter (flowfilter.h) has no entry: no lookup. Its
	 * handshake slot tells whether it is the first packet of its handshake (`unseen`). */
	struct srcip_flow_state *st = NULL;
	bool unseen = false;
	__u64 h = 0; /* key_hash(&p.key), when computed (0: not yet) */
	if (is_tcp && (p.tcp_flags & 0x02) && !tcp_ends(p.tcp_flags)) {
		h = key_hash(&p.key);
		struct syn_table *t = syn_table();
		if (filter_maybe(h))
			st = bpf_map_lookup_elem(&flows, &p.key);
		unseen = t && !syn_holds(t, h);
	} else {
		st = bpf_map_lookup_elem(&flows, &p.key);
	}
	if (mine) {
		/* Counted in the slot since it was filled: into the entry first. Entry gone (evicted): the counts go
		 * with it, and so does the slot, whose flags, budget and conntrack id were the old entry's. (An ended
		 * entry, which a SYN restarts, has no live slot: cache_fill.) */
		if (st) {
			st->packets += slot->packets;
			st->bytes += slot->bytes;
		} else {
			slot->live = 0;
		}
		slot->packets = 0;
		slot->bytes = 0;
	}
	bool restart = st && is_tcp && (p.tcp_flags & 0x02 /* SYN */) && tcp_ends(st->tcp_flags);
	if (!st || restart) {
		__u64 now = first_clock(skb, &p, hook, flavour);
		struct srcip_flow_state fresh = {};
		fresh.first_ns = now;
		fresh.last_ns = now;
		fresh.packets = 1;
		fresh.bytes = skb->len;
		fresh.tcp_flags = p.tcp_flags;
		fresh.ct_dir = SRCIP_CT_DIR_UNKNOWN;
		/* At ingress (before conntrack) an opening SYN (SYN without ACK) has no entry yet, or
		 * only a stale one of an earlier connection on this tuple: skip the costly lookup; the
		 * flow's next packets look it up (the NAT record). The first SYN-ACK of a flow without an
		 * entry skips it too (the kfunc lookup is most of its cost): the mapping comes with its next
		 * packet, or a retransmission of it, as for the SYN. */
		bool opening_syn = is_tcp && (p.tcp_flags & (0x02 | 0x10)) == 0x02;
		bool ask = attached || !(opening_syn || (unseen && !st));
		if (use_ct && ask && (attached ? ct_from_nfct(nfct, ct) : ct_lookup(skb, &p, ct))) {
			fresh.ct_id = ct->id;
			fresh.ct_status = ct->status;
			fresh.ct_dir = ct->dir;
		}
		if (!h)
			h = key_hash(&p.key);
		if (is_tcp && !restart && handshake_flow(skb, &p, ct, now, h))
			return SRCIP_PASS;
		long err = bpf_map_update_elem(&flows, &p.key, &fresh, restart ? BPF_ANY : BPF_NOEXIST);
		if (err == 0) {
			filter_add(h);
			count(SRCIP_CNT_FLOWS_CREATED);
			if (restart)
				count(SRCIP_CNT_FLOWS_REPLACED);
			emit(skb, SRCIP_EVENT_NEW, &p, &fresh, ct);
			if (is_tcp && tcp_ends(p.tcp_flags)) {
				count(SRCIP_CNT_FLOWS_ENDED);
				emit(skb, SRCIP_EVENT_END, &p, &fresh, ct);
			}
			return SRCIP_PASS;
		}
		if (err != -17 /* EEXIST: another CPU inserted it first */) {
			count(SRCIP_CNT_FLOW_INSERT_FAILED);
			return SRCIP_PASS;
		}
		st = bpf_map_lookup_elem(&flows, &p.key);
		if (!st)
			return SRCIP_PASS;
	}

	/* Established flow: cheap path. last_ns only feeds idle decisions, so
	 * the coarse clock (one tick of resolution, a fraction of the cost) is
	 * enough; it may lag the precise first_ns by up to two ticks. */
	__u64 now = coarse_now();
	__u64 last = st->last_ns;
	__s64 idle = (__s64)(now - last);
	__u64 n = st->packets + 1;
	__u8 old_flags = st->tcp_flags;
	st->packets = n;
	st->bytes += skb->len;
	/* Unchanged fields are not rewritten: most packets of a flow arrive
	 * within one tick and carry no new TCP flag. */
	if (now != last)
		st->last_ns = now;
	if (p.tcp_flags & ~old_flags)
		st->tcp_flags = old_flags | p.tcp_flags;

	if (use_ct) {
		bool changed = false;
		if (attached) {
			if (nfct_id && nfct_id != st->ct_id)
				changed = ct_from_nfct(nfct, ct);
		} else {
			if (ct_check_due(st->ct_id, n, idle) && ct_lookup(skb, &p, ct))
				changed = ct->id != st->ct_id;
		}
		if (changed) {
			st->ct_id = ct->id;
			st->ct_status = ct->status;
			st->ct_dir = ct->dir;
			emit(skb, SRCIP_EVENT_NAT, &p, st, ct);
		}
	}

	if (is_tcp && tcp_ends(p.tcp_flags) && !tcp_ends(old_flags)) {
		/* The entry stays (marked by FIN/RST in tcp_flags) so the last
		 * ACKs of the close do not look like a new flow; user space
		 * sweeps it. */
		count(SRCIP_CNT_FLOWS_ENDED);
		ct->id = 0;
		if (use_ct && st->ct_id) {
			if (attached)
				ct_from_nfct(nfct, ct);
			else
				ct_lookup(skb, &p, ct);
		}
		emit(skb, SRCIP_EVENT_END, &p, st, ct);
	}
	cache_fill(&p.key, st, use_ct && !attached);
	return SRCIP_PASS;
}

SEC("tc")
int srcip_ingress_ct(struct __sk_buff *skb)
{
	return handle(skb, SRCIP_HOOK_INGRESS, FLAVOUR_CT);
}

SEC("tc")
int srcip_egress_ct(struct __sk_buff *skb)
{
	return handle(skb, SRCIP_HOOK_EGRESS, FLAVOUR_CT);
}

SEC("tc")
int srcip_ingress_fp(struct __sk_buff *skb)
{
	return handle(skb, SRCIP_HOOK_INGRESS, FLAVOUR_FP);
}

SEC("tc")
int srcip_egress_fp(struct __sk_buff *skb)
{
	return handle(skb, SRCIP_HOOK_EGRESS, FLAVOUR_FP);
}

/* Baseline for benchmarks: does nothing. Its run time under bpf_stats is
 * what the hook and the statistics themselves cost; not loaded unless asked
 * for (LoadOptions.includeBaselineProgram). */
SEC("tc")
int srcip_nop(struct __sk_buff *skb)
{
	return SRCIP_PASS;
}
