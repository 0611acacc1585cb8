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
	__builtin_memset(out, 0, sizeof(*out));
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

/* Copies what srcip reports of a conntrack entry; `addr` is its address as a number (the entry's identity).
 * `ct` is a pointer the verifier types as the kernel's struct nf_conn or as untrusted memory: the one
 * bpf_skb_ct_lookup() returned, or the attached entry's address cast with bpf_rdonly_cast(addr, 0). Either way
 * every field is a direct load the JIT inlines (a faulting load of a cast pointer reads 0 instead of oopsing),
 * at offsets CO-RE relocated against the running kernel: no helper call. */
static __always_inline void ct_read(const struct nf_conn *ct, __u64 addr, struct ct_view *v)
{
	v->id = addr ^ cfg.ct_salt;
	v->status = (__u32)ct->status;
	ct_tuple(&ct->tuplehash[0].tuple, &v->orig);
	ct_tuple(&ct->tuplehash[1].tuple, &v->reply);
}

/* The same from an address only, where bpf_rdonly_cast() cannot cast to untrusted memory (before Linux 6.17):
 * each part copied with bpf_probe_read_kernel() (a helper call with a fault handler; the three cost a new flow
 * at egress ~100 ns under a SYN flood, where the direct loads cost ~40). */
static __noinline void ct_read_copied(__u64 addr, struct ct_view *v)
{
	struct nf_conntrack_tuple t;
	unsigned long status = 0;
	const struct nf_conn *ct = (const struct nf_conn *)addr;

	v->id = addr ^ cfg.ct_salt;
	bpf_core_read(&status, sizeof(status), &ct->status);
	v->status = (__u32)status;
	__builtin_memset(&v->orig, 0, sizeof(v->orig));
	__builtin_memset(&v->reply, 0, sizeof(v->reply));
	if (bpf_probe_read_kernel(&t, sizeof(t), __builtin_preserve_access_index(&ct->tuplehash[0].tuple)) == 0)
		ct_tuple(&t, &v->orig);
	if (bpf_probe_read_kernel(&t, sizeof(t), __builtin_preserve_access_index(&ct->tuplehash[1].tuple)) == 0)
		ct_tuple(&t, &v->reply);
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
	/* The entry's address as a plain number, copied off the stack (the verifier forbids arithmetic on a trusted
	 * pointer). */
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
	if (cfg.ct_read_direct && bpf_rdonly_cast)
		ct_read(bpf_rdonly_cast((void *)addr, 0), addr, v);
	else
		ct_read_copied(addr, v);
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
