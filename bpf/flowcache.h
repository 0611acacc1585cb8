/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The established-flow cache (issue 13): a direct-mapped array in front of the `flows` map, so that most
 * packets of an established flow cost an inlined array lookup and a key compare instead of a hash-map lookup.
 * Part of srcip.bpf.c (one compilation unit): included after its maps and the flow key/state types.
 *
 * Why: on this kernel a hash-map lookup is a call into the kernel (retpoline, return thunk, call depth
 * tracking) that hashes 48 bytes with jhash and calls memcmp: ~40 ns with hot caches, ~100 ns on real traffic
 * (cold bucket and element) — most of an established packet's cost. An ARRAY lookup is inlined by the verifier.
 *
 * How: a slot holds one flow (its full key) and the packets and bytes counted for it since it was filled,
 * not yet in the flow map. A packet takes the fast path (count into the slot, return) only when its slot holds
 * its key, was filled in the current window of 16 jiffies, has counted fewer than its limit, and the packet has
 * nothing for the slow path to do: not a SYN, no TCP flag the flow has not seen, no conntrack check due (the
 * same ingress policy on the same packet numbers; at egress the attached entry is the one reported). Anything
 * else takes the slow path (the code without the cache), which first adds the slot's pending counts to the map
 * entry and refills the slot: once per flow and window at least, so the map's `last_ns` lags by at most a
 * window, the entry's LRU reference bit stays set, and the ingress idle re-check of conntrack (1 s) still sees
 * every gap.
 *
 * User space never sees pending counts: `srcip_flush` (run with BPF_PROG_TEST_RUN before every read of the
 * flow map and after every deletion from it) moves them into the map and empties the slot (one flow's, or
 * all), so the next packet takes the slow path (and a deleted flow is new again at once).
 *
 * Collisions: a slot filled by another flow in the current window is left to it (the newcomer takes the slow
 * path), so two flows on one slot cost no more than without the cache. Updates are plain stores, like the
 * flow map's: two CPUs counting one flow at one hook in the same instant can lose an increment, as before; a
 * packet counted between user space's flush and its deletion of the entry is lost with the entry. */
#ifndef SRCIP_FLOWCACHE_H
#define SRCIP_FLOWCACHE_H

#define FLOW_CACHE_SLOTS SRCIP_FLOW_CACHE_SLOTS
/* A slot is good for one window of 2^FLOW_CACHE_WINDOW_SHIFT jiffies (16: 64 ms at HZ=250, 16 ms at HZ=1000):
 * the slow path runs at least once per window and flow, so `last_ns` lags a flow's last packet by at most one
 * window plus the coarse clock's two ticks. */
#define FLOW_CACHE_WINDOW_SHIFT 4

/* Most packets a slot counts before the slow path runs again: with skbs of up to 1 MB its bytes fit 32 bits. */
#define FLOW_CACHE_LIMIT 4096

/* Slots are struct srcip_flow_slot (srcip_abi.h: user space reads them), one cache line each; the array is
 * mmapable only for its page-aligned values, so slots never straddle lines. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, FLOW_CACHE_SLOTS);
	__type(key, __u32);
	__type(value, struct srcip_flow_slot);
} flow_cache SEC(".maps");

static __always_inline __u32 cache_epoch(void)
{
	return (__u32)(bpf_jiffies64() >> FLOW_CACHE_WINDOW_SHIFT);
}

static __always_inline __u32 cache_index(const struct srcip_flow_key *k)
{
	return srcip_flow_cache_index(k);
}

static __always_inline bool cache_key_equal(const struct srcip_flow_key *a, const struct srcip_flow_key *b)
{
	const __u64 *x = (const __u64 *)a, *y = (const __u64 *)b;
	return ((x[0] ^ y[0]) | (x[1] ^ y[1]) | (x[2] ^ y[2]) | (x[3] ^ y[3]) | (x[4] ^ y[4]) | (x[5] ^ y[5])) == 0;
}

/* Moves a slot's pending counts into its flow's map entry (dropped when the entry is gone: deleted or
 * evicted; the flow's next packet is a new flow). */
static __always_inline void cache_drain(struct srcip_flow_slot *s)
{
	if (!s->live || !s->packets)
		return;
	struct srcip_flow_state *st = bpf_map_lookup_elem(&flows, &s->key);
	if (st) {
		st->packets += s->packets;
		st->bytes += s->bytes;
	}
	s->packets = 0;
	s->bytes = 0;
}

/* Slow path, after the packet updated its map entry `st`: (re)fill the slot for this flow, unless another
 * flow filled it in this window. An ended flow (FIN/RST) is not cached: its packets keep taking the slow path
 * (a SYN there restarts the flow). A global function that looks the slot up again: handle's stack frame is part
 * of handle → ct_lookup → ct_read, at the verifier's 512-byte limit. Returns 0. */
__noinline int cache_fill(const struct srcip_flow_key *key, const struct srcip_flow_state *st, bool ct_checks)
{
	if (!key || !st)
		return 0;
	__u32 idx = cache_index(key);
	struct srcip_flow_slot *s = bpf_map_lookup_elem(&flow_cache, &idx);
	if (!s)
		return 0;
	__u32 epoch = cache_epoch();
	bool mine = cache_key_equal(&s->key, key);
	if (!mine && s->live && s->epoch == epoch)
		return 0;
	cache_drain(s); /* another flow's counts; this flow's only when its packet skipped the slot (a SYN) */
	if (tcp_ends(st->tcp_flags)) {
		s->live = 0;
		return 0;
	}
	/* Ingress with conntrack: stop before the packet number ct_check_due() picks (the next power of two
	 * while the mapping is unknown, the next multiple of CT_RECHECK_PACKETS once known). */
	__u64 n = st->packets, limit = FLOW_CACHE_LIMIT;
	if (ct_checks) {
		__u64 next;
		if (st->ct_id == 0) {
			__u64 v = n | (n >> 1);
			v |= v >> 2;
			v |= v >> 4;
			v |= v >> 8;
			v |= v >> 16;
			v |= v >> 32;
			next = n < CT_UNKNOWN_EAGER ? n + 1 : v + 1;
		} else {
			next = (n | (CT_RECHECK_PACKETS - 1)) + 1;
		}
		if (next - n - 1 < limit)
			limit = next - n - 1;
	}
	if (!mine)
		s->key = *key;
	s->epoch = epoch;
	s->packets = 0;
	s->bytes = 0;
	s->limit = (__u16)limit;
	s->ct_lo = (__u16)st->ct_id;
	s->tcp_flags = st->tcp_flags;
	s->live = 1;
	return 0;
}

static long flush_slot(__u64 i, void *ctx)
{
	__u32 idx = (__u32)i;
	struct srcip_flow_slot *s = bpf_map_lookup_elem(&flow_cache, &idx);
	if (s && s->live) {
		cache_drain(s);
		s->live = 0;
	}
	return 0;
}

/* Run by user space (BPF_PROG_TEST_RUN) before it reads the flow map and after it deletes from it; never
 * attached. A "packet" of exactly one struct srcip_flow_key: that flow's slot only (user space reading or
 * removing one flow, for each flow it writes out). Anything else: every pending count into the map, every
 * slot emptied (a sweep, a walk). */
SEC("tc")
int srcip_flush(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct srcip_flow_key key;

	if (skb->len == sizeof(key) && data + sizeof(key) <= data_end) {
		__builtin_memcpy(&key, data, sizeof(key));
		__u32 idx = cache_index(&key);
		struct srcip_flow_slot *s = bpf_map_lookup_elem(&flow_cache, &idx);
		if (s && s->live && cache_key_equal(&s->key, &key)) {
			cache_drain(s);
			s->live = 0;
		}
		return SRCIP_PASS;
	}
	bpf_loop(FLOW_CACHE_SLOTS, flush_slot, NULL, 0);
	return SRCIP_PASS;
}

#endif
