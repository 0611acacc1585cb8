/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Ring-buffer records, and opening handshakes recorded before (or without) a flow-map entry.
 * Part of srcip.bpf.c (one compilation unit): included after its maps, `struct packet`, `struct ct_view`
 * and the counters. */
#ifndef SRCIP_RECORD_H
#define SRCIP_RECORD_H

/* Ring buffer notification: a wakeup is an irq_work (a self-IPI, a VM exit
 * in a guest), 5-10 us here: at one per 64 records it was 80-150 ns of every
 * record. Records go in silently and the reader, which polls every 100 ms
 * anyway, is woken when the backlog reaches a multiple of WAKEUP_BYTES (a
 * sixteenth of the 4 MB ring, 1,000-2,000 records) however far behind it is,
 * never on every record while it catches up. The backlog is asked for
 * (bpf_ringbuf_query, ~40 ns of a record under a SYN flood) only on every
 * WAKEUP_CHECK-th record of a CPU (its count of records), which wakes the
 * reader when the backlog is within WAKEUP_CHECK records of the largest size
 * past a multiple of WAKEUP_BYTES: one producing CPU hits each such window at
 * least once; several may miss one, and the reader then drains at its next
 * poll. */
#define RECORD_SLOT_MAX (SRCIP_RECORD_FULL + 8 /* ring buffer header */)
#define WAKEUP_BYTES (256 * 1024)
#define WAKEUP_CHECK 16

/* The part of every record: header fields, the packet's tuple and fingerprint (SRCIP_RECORD_SHORT bytes). */
static __always_inline void record_fill(struct srcip_record *r, struct __sk_buff *skb, __u8 kind, const struct packet *p,
					const struct srcip_flow_state *st, bool with_ct, const struct ct_view *ct)
{
	/* Every byte written once, no memset first: the slot is cold ring memory. */
	r->ts_ns = st->packets == 1 ? st->first_ns : bpf_ktime_get_ns();
	r->first_ns = st->first_ns;
	r->packets = st->packets;
	r->bytes = st->bytes;
	r->ifindex = skb->ifindex;
	r->kind = kind;
	r->hook = p->key.hook;
	r->tcp_flags = st->tcp_flags;
	r->_pad[0] = 0;
	r->_pad[1] = 0;
	r->_pad[2] = 0;
	r->tuple = p->key.tuple;
	r->fp = p->fp;
	r->fp.tcp_tsval = tcp_tsval(skb, p);
	if (with_ct) {
		r->join = SRCIP_JOIN_CONNTRACK;
		r->ct_id = ct->id;
		r->ct_status = ct->status;
		r->ct_dir = ct->dir;
	} else {
		r->join = SRCIP_JOIN_FINGERPRINT;
		r->ct_id = 0;
		r->ct_status = 0;
		r->ct_dir = SRCIP_CT_DIR_UNKNOWN;
	}
}

/* Writes one record stamped with the precise clock; the hook is p->key.hook. A flow's first
 * packet reuses the clock read that stamped first_ns. Its length follows what it carries
 * (srcip_abi.h): a record without conntrack entry or encapsulation writes two cache lines
 * of ring instead of four. When the ring buffer is full the record is counted as lost: the
 * packet path never waits. A global function (srcip.bpf.c, "Global functions"); returns 0. */
__noinline int emit(struct __sk_buff *skb, __u8 kind, const struct packet *p, const struct srcip_flow_state *st,
		    const struct ct_view *ct)
{
	if (!skb || !p || !st)
		return 0;
	bool with_ct = ct && ct->id;
	struct srcip_record *r;
	/* bpf_ringbuf_reserve() takes a constant size: one call per length. */
	if (p->key.encap) {
		r = bpf_ringbuf_reserve(&events, SRCIP_RECORD_FULL, 0);
		if (!r)
			goto lost;
		record_fill(r, skb, kind, p, st, with_ct, ct);
		if (with_ct) {
			r->ct_orig = ct->orig;
			r->ct_reply = ct->reply;
		} else {
			__builtin_memset(&r->ct_orig, 0, sizeof(r->ct_orig) + sizeof(r->ct_reply));
		}
		r->encap = p->encap;
	} else if (with_ct) {
		r = bpf_ringbuf_reserve(&events, SRCIP_RECORD_CT, 0);
		if (!r)
			goto lost;
		record_fill(r, skb, kind, p, st, true, ct);
		r->ct_orig = ct->orig;
		r->ct_reply = ct->reply;
	} else {
		r = bpf_ringbuf_reserve(&events, SRCIP_RECORD_SHORT, 0);
		if (!r)
			goto lost;
		record_fill(r, skb, kind, p, st, false, ct);
	}
	/* This CPU's records, this one included; on every WAKEUP_CHECK-th, the bytes waiting (this record included:
	 * reserve already advanced the producer). */
	__u32 idx = SRCIP_CNT_RECORDS;
	__u64 *n = bpf_map_lookup_elem(&counters, &idx);
	__u64 wake = BPF_RB_NO_WAKEUP;
	if (n) {
		*n += 1;
		if (*n % WAKEUP_CHECK == 0) {
			__u64 waiting = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA);
			if (waiting >= WAKEUP_BYTES && waiting % WAKEUP_BYTES < WAKEUP_CHECK * RECORD_SLOT_MAX)
				wake = BPF_RB_FORCE_WAKEUP;
		}
	}
	bpf_ringbuf_submit(r, wake);
	return 0;
lost:
	count(SRCIP_CNT_RINGBUF_LOST);
	return 0;
}

static __always_inline bool tcp_ends(__u8 flags)
{
	return flags & (0x01 /* FIN */ | 0x04 /* RST */);
}

/* A TCP packet without a flow entry at `now` (the precise clock the caller read), with what conntrack said (ct->id 0: nothing, or not
 * asked). A handshake packet is recorded in syn_seen (NEW record the first time; a
 * retransmission only reports a changed mapping); the packet after it inserts the slot's state
 * into the flow map and reports only what it adds (the mapping conntrack knows now, FIN/RST).
 * `h` is key_hash(&p->key). False: not handled, the caller makes a new flow (or, when another CPU inserted the entry
 * first, updates it). A global function that calls no conntrack function: the stack of
 * handle → ct_lookup → ct_read is at the verifier's 512-byte limit. */
__noinline bool handshake_flow(struct __sk_buff *skb, struct packet *p, struct ct_view *ct, __u64 now, __u64 h)
{
	if (!skb || !p || !ct)
		return false;
	struct syn_table *t = syn_table();
	if (!t)
		return false;
	/* The way with the key's tag, else the one to take: an empty one, else the least recently written. */
	__u32 tag = syn_tag(h), base = syn_set(h), stamp = (__u32)(now >> 20);
	__u32 way = 0, oldest = 0;
	bool seen = false;
	for (__u32 i = 0; i < SYN_WAYS; i++) {
		const struct syn_way *w = &t->ways[(base + i) & (SYN_SLOTS - 1)];
		if (w->tag == tag) {
			way = i;
			seen = true;
			break;
		}
		__u32 age = w->tag ? stamp - w->stamp : 0xffffffff;
		if (age > oldest) {
			oldest = age;
			way = i;
		}
	}
	bool handshake = (p->tcp_flags & 0x02 /* SYN */) && !tcp_ends(p->tcp_flags);
	if (!seen && !handshake)
		return false;

	__u32 idx = (base + way) & (SYN_SLOTS - 1);
	struct syn_way *w = &t->ways[idx];
	struct srcip_flow_state *s = &t->slots[idx].st;
	if (!seen) {
		s->first_ns = now;
		s->packets = 0;
		s->bytes = 0;
		s->ct_id = 0;
		s->ct_status = 0;
		s->tcp_flags = 0;
		s->ct_dir = SRCIP_CT_DIR_UNKNOWN;
	}
	s->last_ns = now;
	s->packets += 1;
	s->bytes += skb->len;
	s->tcp_flags |= p->tcp_flags;
	bool ct_changed = ct->id && ct->id != s->ct_id;
	if (ct_changed) {
		s->ct_id = ct->id;
		s->ct_status = ct->status;
		s->ct_dir = ct->dir;
	}

	if (handshake) {
		w->tag = tag;
		w->stamp = stamp;
		if (!seen) {
			count(SRCIP_CNT_HANDSHAKES_DEFERRED);
			emit(skb, SRCIP_EVENT_NEW, p, s, ct);
		} else if (ct_changed) {
			emit(skb, SRCIP_EVENT_NAT, p, s, ct);
		}
		return true;
	}
	w->tag = 0;
	long err = bpf_map_update_elem(&flows, &p->key, s, BPF_NOEXIST);
	if (err == -17 /* EEXIST: another CPU inserted it first */)
		return false;
	if (err != 0) {
		count(SRCIP_CNT_FLOW_INSERT_FAILED);
		return true;
	}
	filter_add(h);
	count(SRCIP_CNT_FLOWS_CREATED);
	if (ct_changed)
		emit(skb, SRCIP_EVENT_NAT, p, s, ct);
	if (tcp_ends(p->tcp_flags)) {
		count(SRCIP_CNT_FLOWS_ENDED);
		emit(skb, SRCIP_EVENT_END, p, s, ct);
	}
	return true;
}

#endif
