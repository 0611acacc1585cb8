/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* New flows (issue 13): the handshake slots and the "may be in `flows`" filter.
 * Part of srcip.bpf.c (one compilation unit): included after its maps and types, before record.h.
 *
 * Handshake slots. A TCP SYN or SYN-ACK (without FIN/RST) that finds no entry emits its NEW record and keeps its
 * state in its slot instead of in the flow map (record.h, handshake_flow): the insert into the 65,536-entry LRU map
 * (cold bucket and element, an eviction when full) was most of a new flow's cost, and a flood of SYNs that are never
 * answered filled the map with half-open flows. The flow's next packet finds its slot and inserts the state without a
 * second NEW record; a retransmitted SYN updates the slot. Slots are 4-way sets picked by a hash of the key, their
 * tags (with a millisecond stamp) apart from the states, one set in 32 bytes of one cache line: a handshake takes an
 * empty way of its set or the one least recently written (unanswered SYNs stay until replaced). A handshake replaced
 * before its next packet (a fifth one in flight on its set) makes that packet a new flow again (a second NEW record,
 * as for a flow whose entry was evicted). Races between CPUs have the same outcome at worst. (Direct-mapped, any two
 * handshakes in flight collided 1 time in 256: a connection and its SYN-ACK at another hook of the same instance.)
 *
 * The filter. A handshake packet must know whether its key has an entry (a SYN restarts an ended flow, and counts
 * into a live one), but for almost every new flow the lookup misses: a call into the kernel (retpoline, return
 * thunk), a jhash of 48 bytes and a cold bucket in vmalloc'ed memory (a cache and TLB miss, a 2-D page walk under a
 * VM). So every key has a position (bits of key_hash) with two bits, A and B, in one word of the filter (A in the
 * low half, B in the high half: one line for a check). Every insert into `flows` sets both bits of its key's position,
 * after the insert (one atomic OR, skipped when both are set). A handshake packet whose position has neither bit
 * set has no entry and skips the lookup; any other packet, and a handshake whose position has a bit set, looks up
 * as before, so what a packet does is unchanged.
 *
 * Bits are never cleared by the packet path; entries leave `flows` by user-space deletion and LRU eviction
 * without a trace here. `srcip_filter_rebuild` (run by user space after each sweep) rebuilds one half, A and B in
 * turn: it clears that half, then sets it for every key in `flows` (bpf_for_each_map_elem). Invariant: every key
 * in `flows` has its A or its B bit set. While half X is rebuilt the other half Y is untouched, and Y holds every
 * key inserted since Y's own rebuild; a key in `flows` when X's walk starts is visited by the walk; a key
 * inserted later sets its X bit after the clear. So after the rebuild X alone holds every key, and then Y may be
 * rebuilt. False positives (a bit of a deleted or evicted entry, or of another key on the position) only cost the
 * lookup: 2^16 positions, 14% of them set by 10,000 entries, 39% by 32,768.
 *
 * Memory: both tables are single-element ARRAY maps of under 32 KB, so the kernel allocates them with kmalloc, in
 * the direct map (huge pages), not vmalloc's 4 KB pages. Under a SYN flood a line of a 512 KB vmalloc'ed table cost a
 * new flow ~130 ns (a TLB miss, a two-dimensional page walk in a VM), a line of these ~20 ns. Hence few slots
 * (256: 64 sets). An ARRAY's values start 312 bytes into its allocation on Linux 6.18 (struct bpf_array): `_align`
 * puts the sets and slots on cache lines there (elsewhere one may straddle two lines: slower, not wrong). */
#ifndef SRCIP_FLOWFILTER_H
#define SRCIP_FLOWFILTER_H

#define SYN_SLOTS 256
#define SYN_WAYS 4
#define SYN_SETS (SYN_SLOTS / SYN_WAYS)
#define FILTER_WORDS 2048 /* 32 positions each */

struct syn_way {
	__u32 tag;   /* high half of the key's hash, low bit set; 0: empty */
	__u32 stamp; /* bpf_ktime_get_ns() >> 20 (~1 ms) when last written */
};

struct syn_slot {
	struct srcip_flow_state st;
	__u32 _pad[4];
};

struct syn_table {
	__u64 _align;
	struct syn_way ways[SYN_SLOTS]; /* set i: ways[4i .. 4i+3] */
	struct syn_slot slots[SYN_SLOTS];
};

struct filter_table {
	__u64 words[FILTER_WORDS]; /* A: low 32 bits, B: high 32 bits */
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct syn_table);
} syn_seen SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct filter_table);
} flow_filter SEC(".maps");

/* Rebuilds so far: the next rebuild clears and refills half (filter_rebuilds & 1) (0: A, the low bits). */
__u64 filter_rebuilds = 0;

/* A 64-bit hash of the flow key: the low bits pick the set in syn_seen, the high half is the tag; bits 40-50 pick
 * the filter word, bits 59-63 the position in it. */
static __always_inline __u64 key_hash(const struct srcip_flow_key *k)
{
	const __u64 *w = (const __u64 *)k;
	__u64 h = 0x9e3779b97f4a7c15ULL;

	for (int i = 0; i < (int)(sizeof(*k) / 8); i++) {
		h ^= w[i];
		h *= 0xff51afd7ed558ccdULL;
		h ^= h >> 32;
	}
	return h;
}

static __always_inline __u32 syn_tag(__u64 h)
{
	return (__u32)(h >> 32) | 1;
}

/* The first way of the hash's set in syn_seen. */
static __always_inline __u32 syn_set(__u64 h)
{
	return ((__u32)h & (SYN_SETS - 1)) * SYN_WAYS;
}

/* The handshake table; NULL only if the map cannot be read. */
static __always_inline struct syn_table *syn_table(void)
{
	__u32 zero = 0;
	return bpf_map_lookup_elem(&syn_seen, &zero);
}

/* Whether the hash's set has a way with its tag. */
static __always_inline bool syn_holds(const struct syn_table *t, __u64 h)
{
	__u32 tag = syn_tag(h), base = syn_set(h);
	bool found = false;
	for (int i = 0; i < SYN_WAYS; i++)
		found |= t->ways[(base + i) & (SYN_SLOTS - 1)].tag == tag;
	return found;
}

static __always_inline __u64 *filter_word(__u64 h)
{
	__u32 zero = 0;
	struct filter_table *t = bpf_map_lookup_elem(&flow_filter, &zero);
	return t ? &t->words[(__u32)(h >> 40) & (FILTER_WORDS - 1)] : NULL;
}

/* Both bits (A and B) of the key's position in its filter word. */
static __always_inline __u64 filter_mask(__u64 h)
{
	__u32 bit = (__u32)(h >> 59);
	return (1ULL << bit) | (1ULL << (bit + 32));
}

/* False only when no key with this hash is in `flows`. */
static __always_inline bool filter_maybe(__u64 h)
{
	__u64 *w = filter_word(h);
	return !w || (*w & filter_mask(h));
}

/* After an insert of a key with this hash into `flows`. */
static __always_inline void filter_add(__u64 h)
{
	__u64 *w = filter_word(h);
	__u64 m = filter_mask(h);
	if (w && (*w & m) != m)
		__sync_fetch_and_or(w, m);
}

static long filter_clear_word(__u64 i, void *ctx)
{
	__u32 zero = 0;
	struct filter_table *t = bpf_map_lookup_elem(&flow_filter, &zero);
	if (t)
		__sync_fetch_and_and(&t->words[i & (FILTER_WORDS - 1)], *(__u64 *)ctx);
	return 0;
}

static long filter_set_key(void *map, struct srcip_flow_key *key, struct srcip_flow_state *st, void *ctx)
{
	__u64 h = key_hash(key);
	__u64 *w = filter_word(h);
	if (w)
		__sync_fetch_and_or(w, (1ULL << (__u32)(h >> 59)) << *(__u64 *)ctx);
	return 0;
}

/* Run by user space (BPF_PROG_TEST_RUN) after each sweep; never attached. Rebuilds one half (header comment). */
SEC("tc")
int srcip_filter_rebuild(struct __sk_buff *skb)
{
	__u64 half = filter_rebuilds & 1;
	__u64 keep = half ? 0x00000000ffffffffULL : 0xffffffff00000000ULL;
	__u64 shift = half ? 32 : 0;

	bpf_loop(FILTER_WORDS, filter_clear_word, &keep, 0);
	bpf_for_each_map_elem(&flows, filter_set_key, &shift, 0);
	filter_rebuilds += 1;
	return SRCIP_PASS;
}

#endif
