/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The kernel's conntrack entry: the kfunc lookup at ingress, the skb's attached entry at egress, and one
 * read of both tuples and the status.
 * Part of srcip.bpf.c (one compilation unit): included after its maps, `struct packet` and the counters;
 * defines `struct ct_view` and its per-CPU scratch. */
#ifndef SRCIP_CONNTRACK_H
#define SRCIP_CONNTRACK_H

/* What conntrack says about a packet's connection. */
struct ct_view {
	__u64 id;
	__u32 status;
	__u8 dir;
	struct srcip_tuple orig;
	struct srcip_tuple reply;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ct_view);
} ct_scratch SEC(".maps");

static __always_inline void ct_tuple(const struct nf_conntrack_tuple *t, struct srcip_tuple *out)
{
	__u16 l3 = t->src.l3num;
	if (l3 == 2 /* AF_INET */) {
		out->family = SRCIP_FAMILY_IPV4;
		__builtin_memcpy(out->saddr, &t->src.u3.ip, 4);
		__builtin_memcpy(out->daddr, &t->dst.u3.ip, 4);
	} else if (l3 == 10 /* AF_INET6 */) {
		out->family = SRCIP_FAMILY_IPV6;
		__builtin_memcpy(out->saddr, t->src.u3.ip6, 16);
		__builtin_memcpy(out->daddr, t->dst.u3.ip6, 16);
	} else {
		return;
	}
	out->proto = t->dst.protonum;
	out->sport = bpf_ntohs(t->src.all);
	out->dport = (out->proto == IPPROTO_ICMP || out->proto == IPPROTO_ICMPV6) ? 0 : bpf_ntohs(t->dst.all);
}

/* Bytes of struct nf_conn read at once: tuplehash[0].tuple up to the end of status (with the
 * layout of every kernel since 2.6: tuple 40, hlist_nulls_node 16, tuple 40, status 8). */
#define CT_SPAN 104

/* Copies what srcip reports of a conntrack entry; `addr` is its address as
 * a number (the verifier forbids arithmetic on a trusted pointer). One
 * bpf_probe_read_kernel() of both tuples and the status (each read is a
 * helper call with a fault handler, ~15 ns); three when the layout is not
 * the usual one. The offsets are CO-RE constants the verifier sees. */
static __noinline void ct_read(const struct nf_conn *ct, __u64 addr, struct ct_view *v)
{
	__u64 buf[CT_SPAN / 8]; /* also the one tuple read at a time of the fallback: the stack is at its limit */
	struct nf_conntrack_tuple *t = (struct nf_conntrack_tuple *)buf;
	unsigned long status = 0;
	__u32 t0 = bpf_core_field_offset(struct nf_conn, tuplehash[0].tuple);
	__u32 t1 = bpf_core_field_offset(struct nf_conn, tuplehash[1].tuple);
	__u32 st = bpf_core_field_offset(struct nf_conn, status);

	__builtin_memset(v, 0, sizeof(*v));
	v->id = addr ^ cfg.ct_salt;
	if (t1 == t0 + 56 && st == t1 + 56 - 16 && st + 8 - t0 <= CT_SPAN) {
		if (bpf_probe_read_kernel(buf, CT_SPAN, (const void *)(addr + t0)) != 0)
			return;
		v->status = (__u32)buf[12];
		ct_tuple((const struct nf_conntrack_tuple *)buf, &v->orig);
		ct_tuple((const struct nf_conntrack_tuple *)&buf[7], &v->reply);
		return;
	}
	bpf_core_read(&status, sizeof(status), &ct->status);
	v->status = (__u32)status;
	if (bpf_probe_read_kernel(t, sizeof(*t), __builtin_preserve_access_index(&ct->tuplehash[0].tuple)) == 0)
		ct_tuple(t, &v->orig);
	if (bpf_probe_read_kernel(t, sizeof(*t), __builtin_preserve_access_index(&ct->tuplehash[1].tuple)) == 0)
		ct_tuple(t, &v->reply);
}

/* Ingress: find the conntrack entry of a TCP/UDP packet by its tuple. */
static __noinline bool ct_lookup(struct __sk_buff *skb, const struct packet *p, struct ct_view *v)
{
	struct bpf_sock_tuple bt = {};
	struct bpf_ct_opts opts = {};
	__u32 sz;

	if (p->key.tuple.proto != IPPROTO_TCP && p->key.tuple.proto != IPPROTO_UDP)
		return false;
	if (!bpf_skb_ct_lookup || !bpf_ct_release)
		return false;
	if (p->key.tuple.family == SRCIP_FAMILY_IPV4) {
		__builtin_memcpy(&bt.ipv4.saddr, p->key.tuple.saddr, 4);
		__builtin_memcpy(&bt.ipv4.daddr, p->key.tuple.daddr, 4);
		bt.ipv4.sport = bpf_htons(p->key.tuple.sport);
		bt.ipv4.dport = bpf_htons(p->key.tuple.dport);
		sz = sizeof(bt.ipv4);
	} else {
		__builtin_memcpy(bt.ipv6.saddr, p->key.tuple.saddr, 16);
		__builtin_memcpy(bt.ipv6.daddr, p->key.tuple.daddr, 16);
		bt.ipv6.sport = bpf_htons(p->key.tuple.sport);
		bt.ipv6.dport = bpf_htons(p->key.tuple.dport);
		sz = sizeof(bt.ipv6);
	}
	opts.netns_id = BPF_F_CURRENT_NETNS;
	opts.l4proto = p->key.tuple.proto;
	count(SRCIP_CNT_CT_LOOKUPS);
	struct nf_conn *ct = bpf_skb_ct_lookup(skb, &bt, sz, &opts, SRCIP_CT_OPTS_SZ);
	if (!ct)
		return false;
	count(SRCIP_CNT_CT_FOUND);
	/* The entry's address as a plain number, copied off the stack. */
	__u64 addr = 0;
	bpf_probe_read_kernel(&addr, sizeof(addr), &ct);
	ct_read(ct, addr, v);
	bpf_ct_release(ct);
	/* The packet matches the original tuple exactly unless it is a reply. */
	bool orig = __builtin_memcmp(v->orig.saddr, p->key.tuple.saddr, 16) == 0 && v->orig.sport == p->key.tuple.sport;
	v->dir = orig ? SRCIP_CT_DIR_ORIGINAL : SRCIP_CT_DIR_REPLY;
	return true;
}

/* Egress: the conntrack entry netfilter attached to the skb, as a raw value
 * (pointer | ctinfo); 0 when none. Cheap: one load. */
static __always_inline unsigned long ct_attached(struct __sk_buff *skb)
{
	if (!bpf_cast_to_kern_ctx)
		return 0;
	struct sk_buff *kskb = bpf_cast_to_kern_ctx(skb);
	return kskb->_nfct;
}

static __noinline bool ct_from_nfct(unsigned long nfct, struct ct_view *v)
{
	__u64 addr = nfct & ~SRCIP_NFCT_INFOMASK;
	if (!addr)
		return false;
	ct_read((const struct nf_conn *)addr, addr, v);
	v->dir = (nfct & SRCIP_NFCT_INFOMASK) >= SRCIP_IP_CT_IS_REPLY ? SRCIP_CT_DIR_REPLY : SRCIP_CT_DIR_ORIGINAL;
	return true;
}

/* Ingress: whether the n-th packet of a flow re-checks conntrack (see CT_UNKNOWN_EAGER). */
static __always_inline bool ct_check_due(__u64 ct_id, __u64 n, __s64 idle)
{
	return ct_id == 0 ? (n <= CT_UNKNOWN_EAGER || (n & (n - 1)) == 0)
			  : (idle > (__s64)CT_RECHECK_IDLE_NS || n % CT_RECHECK_PACKETS == 0);
}

#endif
