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

/* Ring buffer notification: a wakeup is an irq_work (a self-IPI, a VM exit
 * in a guest), 5-10 us here: at one per 64 records it was 80-150 ns of every
 * record. Records go in silently and the reader, which polls every 100 ms
 * anyway, is woken when the backlog reaches a multiple of WAKEUP_RECORDS:
 * once per 1024 records (a quarter megabyte of the 4 MB ring) however far
 * behind it is, never on every record while it catches up. */
#define RECORD_SLOT (sizeof(struct srcip_record) + 8 /* ring buffer header */)
#define WAKEUP_RECORDS 1024

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
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct coarse_clock);
} clock_cache SEC(".maps");

/* Opening handshakes recorded without a flow entry (issue 13). A TCP SYN or SYN-ACK (without
 * FIN/RST) that finds no entry emits its NEW record and keeps its state here instead of in the
 * flow map: the insert into the 65,536-entry LRU map (cold bucket and element, an eviction when
 * full) was most of a new flow's cost, and a flood of SYNs that are never answered filled the
 * map with half-open flows. The flow's next packet finds its slot and inserts the state without
 * a second NEW record; a retransmitted SYN updates the slot. Direct-mapped by a hash of the key
 * (224 KB): a slot is overwritten by a later handshake with the same index, after which the next
 * packet is a new flow again (a second NEW record, as for a flow whose entry was evicted). Races
 * between CPUs have the same outcome at worst. */
#define SYN_SLOTS 4096

struct syn_slot {
	struct srcip_flow_state st;
	__u32 tag; /* high half of the key's hash, low bit set; 0: empty */
	__u32 _pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SYN_SLOTS);
	__type(key, __u32);
	__type(value, struct syn_slot);
} syn_seen SEC(".maps");

extern struct nf_conn *bpf_skb_ct_lookup(struct __sk_buff *skb, struct bpf_sock_tuple *tuple, __u32 tuple__sz,
					 struct bpf_ct_opts *opts, __u32 opts__sz) __ksym __weak;
extern void bpf_ct_release(struct nf_conn *ct) __ksym __weak;
extern void *bpf_cast_to_kern_ctx(void *obj) __ksym __weak;

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

/* What conntrack says about a packet's connection. */
struct ct_view {
	__u64 id;
	__u32 status;
	__u8 dir;
	struct srcip_tuple orig;
	struct srcip_tuple reply;
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

enum parse_result {
	PARSE_OK = 0,
	PARSE_NOT_IP,
	PARSE_TRUNCATED,
	PARSE_BAD_HEADER,
	PARSE_FRAGMENT,
	PARSE_UNKNOWN_PROTO,
};

/* The source port of the packet an ICMP error quotes (the client's port: the error goes back
 * to it), or 0 when the quote is too short or not TCP/UDP. IPv6: no extension headers. */
static __always_inline __u16 icmp_error_client_port(void *quote, void *data_end, __u8 proto)
{
	__u32 hlen;
	__u8 l4;

	if (proto == IPPROTO_ICMP) {
		struct iphdr *in = quote;
		if ((void *)(in + 1) > data_end)
			return 0;
		hlen = (__u32)in->ihl * 4;
		l4 = in->protocol;
		if (hlen < sizeof(*in))
			return 0;
	} else {
		struct ipv6hdr *in6 = quote;
		if ((void *)(in6 + 1) > data_end)
			return 0;
		hlen = sizeof(*in6);
		l4 = in6->nexthdr;
	}
	if (l4 != IPPROTO_TCP && l4 != IPPROTO_UDP)
		return 0;
	__be16 *ports = quote + (hlen & 0x3f);
	if ((void *)(ports + 1) > data_end)
		return 0;
	return bpf_ntohs(*ports);
}

static __always_inline int parse_l4(void *data, void *data_end, __u32 off, __u8 proto, struct packet *p)
{
	p->key.tuple.proto = proto;
	p->l4_off = off;
	if (proto == IPPROTO_TCP) {
		struct tcphdr *th = data + off;
		if ((void *)(th + 1) > data_end)
			return PARSE_TRUNCATED;
		if (th->doff < 5)
			return PARSE_BAD_HEADER;
		p->key.tuple.sport = bpf_ntohs(th->source);
		p->key.tuple.dport = bpf_ntohs(th->dest);
		p->tcp_flags = ((__u8 *)th)[13];
		p->tcp_doff = th->doff * 4;
		p->fp.tcp_seq = bpf_ntohl(th->seq);
		p->fp.tcp_ack = bpf_ntohl(th->ack_seq);
		return PARSE_OK;
	}
	if (proto == IPPROTO_UDP) {
		struct udphdr *uh = data + off;
		if ((void *)(uh + 1) > data_end)
			return PARSE_TRUNCATED;
		p->key.tuple.sport = bpf_ntohs(uh->source);
		p->key.tuple.dport = bpf_ntohs(uh->dest);
		return PARSE_OK;
	}
	if (proto == IPPROTO_ICMP || proto == IPPROTO_ICMPV6) {
		struct icmp_echo *ih = data + off; /* same layout for ICMPv6 echo */
		if ((void *)(ih + 1) > data_end)
			return PARSE_TRUNCATED;
		__u8 t = ih->type;
		/* Destination unreachable (a REJECT): one flow per sender, client, type and code;
		 * port 0 and type<<8|code, so it never collides with an echo (id, 0). */
		if ((proto == IPPROTO_ICMP && t == ICMP_DEST_UNREACH_) || (proto == IPPROTO_ICMPV6 && t == ICMPV6_DEST_UNREACH_)) {
			p->key.tuple.sport = icmp_error_client_port(ih + 1, data_end, proto);
			p->key.tuple.dport = ((__u16)t << 8) | ih->code;
			p->icmp_error = 1;
			return PARSE_OK;
		}
		if (proto == IPPROTO_ICMP && t != ICMP_ECHO_ && t != ICMP_ECHOREPLY_)
			return PARSE_UNKNOWN_PROTO;
		if (proto == IPPROTO_ICMPV6 && t != ICMPV6_ECHO_REQUEST && t != ICMPV6_ECHO_REPLY)
			return PARSE_UNKNOWN_PROTO;
		p->key.tuple.sport = bpf_ntohs(ih->id);
		p->key.tuple.dport = 0;
		return PARSE_OK;
	}
	return PARSE_UNKNOWN_PROTO;
}

static __always_inline int parse_ipv4(void *data, void *data_end, __u32 off, struct packet *p)
{
	struct iphdr *iph = data + off;
	if ((void *)(iph + 1) > data_end)
		return PARSE_TRUNCATED;
	if (iph->version != 4 || iph->ihl < 5)
		return PARSE_BAD_HEADER;
	__u32 ihl = iph->ihl * 4;
	if (data + off + ihl > data_end)
		return PARSE_TRUNCATED;
	__u16 tot_len = bpf_ntohs(iph->tot_len);
	if (tot_len != 0 /* 0: BIG TCP GSO packet */ && tot_len < ihl)
		return PARSE_BAD_HEADER;
	p->key.tuple.family = SRCIP_FAMILY_IPV4;
	__builtin_memcpy(p->key.tuple.saddr, &iph->saddr, 4);
	__builtin_memcpy(p->key.tuple.daddr, &iph->daddr, 4);
	p->fp.ip_id = bpf_ntohs(iph->id);
	p->fp.length = tot_len;
	if (bpf_ntohs(iph->frag_off) & 0x1fff) {
		p->key.tuple.proto = iph->protocol;
		return PARSE_FRAGMENT;
	}
	return parse_l4(data, data_end, off + ihl, iph->protocol, p);
}

static __always_inline int parse_ipv6(void *data, void *data_end, __u32 off, struct packet *p)
{
	struct ipv6hdr *ip6 = data + off;
	if ((void *)(ip6 + 1) > data_end)
		return PARSE_TRUNCATED;
	if (ip6->version != 6)
		return PARSE_BAD_HEADER;
	p->key.tuple.family = SRCIP_FAMILY_IPV6;
	__builtin_memcpy(p->key.tuple.saddr, &ip6->saddr, 16);
	__builtin_memcpy(p->key.tuple.daddr, &ip6->daddr, 16);
	p->fp.length = bpf_ntohs(ip6->payload_len);
	__u8 nexthdr = ip6->nexthdr;
	off += sizeof(*ip6);

	for (int i = 0; i < IPV6_MAX_EXT_HEADERS; i++) {
		if (nexthdr != IPPROTO_HOPOPTS && nexthdr != IPPROTO_ROUTING && nexthdr != IPPROTO_DSTOPTS &&
		    nexthdr != IPPROTO_FRAGMENT)
			break;
		__u8 *eh = data + off;
		if ((void *)(eh + 8) > data_end)
			return PARSE_TRUNCATED;
		if (nexthdr == IPPROTO_FRAGMENT) {
			__u16 frag = bpf_ntohs(*(__be16 *)(eh + 2));
			nexthdr = eh[0];
			if (frag & 0xfff8) {
				p->key.tuple.proto = nexthdr;
				return PARSE_FRAGMENT;
			}
			off += 8;
		} else {
			nexthdr = eh[0];
			off += ((__u32)eh[1] + 1) * 8;
		}
		if (off > 1024)
			return PARSE_BAD_HEADER;
	}
	if (nexthdr == IPPROTO_HOPOPTS || nexthdr == IPPROTO_ROUTING || nexthdr == IPPROTO_DSTOPTS ||
	    nexthdr == IPPROTO_FRAGMENT)
		return PARSE_BAD_HEADER; /* longer extension chain than srcip follows */
	return parse_l4(data, data_end, off, nexthdr, p);
}

/* An Ethernet frame at `off` (one 802.1Q/802.1ad tag allowed) carrying IPv4 or IPv6. */
static __always_inline int parse_frame(void *data, void *data_end, __u32 off, struct packet *p)
{
	struct ethhdr *eth = data + off;
	if ((void *)(eth + 1) > data_end)
		return PARSE_TRUNCATED;
	off += sizeof(*eth);
	__be16 proto = eth->h_proto;
	if (proto == bpf_htons(ETH_P_8021Q_) || proto == bpf_htons(ETH_P_8021AD_)) {
		__be16 *vlan = data + off; /* TCI, then the encapsulated EtherType */
		if ((void *)(vlan + 2) > data_end)
			return PARSE_TRUNCATED;
		proto = vlan[1];
		off += 4;
	}
	if (proto == bpf_htons(ETH_P_IP))
		return parse_ipv4(data, data_end, off, p);
	if (proto == bpf_htons(ETH_P_IPV6))
		return parse_ipv6(data, data_end, off, p);
	return PARSE_NOT_IP;
}

/* VXLAN (RFC 7348): 8 bytes after the UDP header; flags 0x08 (VNI valid), optionally with
 * the group-policy bit 0x80, the last byte reserved (0). */
struct vxlan_hdr_ {
	__u8 flags;
	__u8 reserved[3];
	__u8 vni[3];
	__u8 reserved2;
};

enum vxlan_result {
	VXLAN_INNER = 0,     /* p describes the inner packet, p->encap the outer */
	VXLAN_NOT_VXLAN,     /* no valid VXLAN header: p still describes the outer UDP packet */
	VXLAN_INNER_SKIPPED, /* inner frame unusable: p still describes the outer UDP packet */
};

/* Looks inside a UDP packet to a VXLAN port (the outer tuple is in p). The inner frame is
 * parsed into a copy, so p changes only when the whole inner frame parses; its IP length must
 * fit in the UDP payload, so a non-VXLAN datagram that happens to start like one is not read
 * as a packet. A global function: the verifier checks this second copy of the parser once,
 * not once per state of its caller. */
__noinline int parse_vxlan(struct __sk_buff *skb, struct packet *p)
{
	struct srcip_encap *encap = &p->encap;

	if (!skb || !p)
		return VXLAN_NOT_VXLAN;
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	__u32 off = p->l4_off;
	if (off > 1200)
		return VXLAN_NOT_VXLAN;
	struct udphdr *uh = data + off;
	if ((void *)(uh + 1) > data_end)
		return VXLAN_NOT_VXLAN;
	__u16 udp_len = bpf_ntohs(uh->len);
	struct vxlan_hdr_ *vx = (void *)(uh + 1);
	if ((void *)(vx + 1) > data_end)
		return VXLAN_NOT_VXLAN;
	if ((vx->flags & 0x7f) != 0x08 || vx->reserved2 != 0)
		return VXLAN_NOT_VXLAN;
	/* What the inner IP packet may claim: the UDP payload less the VXLAN and Ethernet headers
	 * (0: GSO, the length is not per packet). */
	__u32 room = udp_len >= 8 + 8 + 14 ? udp_len - 8 - 8 - 14 : 0;
	if (udp_len != 0 && room == 0)
		return VXLAN_INNER_SKIPPED;

	struct packet in = {};
	if (parse_frame(data, data_end, off + 8 + 8, &in) != PARSE_OK)
		return VXLAN_INNER_SKIPPED;
	__u32 claimed = in.key.tuple.family == SRCIP_FAMILY_IPV4 ? in.fp.length : (__u32)in.fp.length + 40;
	if (udp_len != 0 && claimed > room)
		return VXLAN_INNER_SKIPPED;

	encap->outer = p->key.tuple;
	encap->vni = (__u32)vx->vni[0] << 16 | (__u32)vx->vni[1] << 8 | vx->vni[2];
	encap->type = SRCIP_ENCAP_VXLAN;
	p->key.encap = SRCIP_ENCAP_VXLAN;
	p->key.tuple = in.key.tuple;
	p->fp = in.fp;
	p->l4_off = in.l4_off;
	p->tcp_flags = in.tcp_flags;
	p->tcp_doff = in.tcp_doff;
	p->icmp_error = in.icmp_error;
	return VXLAN_INNER;
}

/* Parses the packet into p; for VXLAN the inner packet into p->key.tuple and the outer one
 * into p->encap (key.encap set). */
static __always_inline int parse(struct __sk_buff *skb, struct packet *p)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	int res = parse_frame(data, data_end, 0, p);
	if (res != PARSE_OK || p->key.tuple.proto != IPPROTO_UDP ||
	    (p->key.tuple.dport != SRCIP_VXLAN_PORT_LINUX && p->key.tuple.dport != SRCIP_VXLAN_PORT_IANA))
		return res;
	switch (parse_vxlan(skb, p)) {
	case VXLAN_INNER:
		count(SRCIP_CNT_VXLAN);
		break;
	case VXLAN_NOT_VXLAN:
		count(SRCIP_CNT_VXLAN_NOT_VXLAN);
		break;
	default:
		count(SRCIP_CNT_VXLAN_INNER_SKIPPED);
		break;
	}
	return PARSE_OK;
}

/* The TCP timestamp option value, 0 when absent. Only called for records. */
static __always_inline __u32 tcp_tsval(struct __sk_buff *skb, const struct packet *p)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	__u32 off = 20;
	__u32 end = p->tcp_doff;
	if (p->key.tuple.proto != IPPROTO_TCP || end <= 20 || end > 60)
		return 0;
	for (int i = 0; i < TCP_MAX_OPTIONS; i++) {
		if (off >= end)
			return 0;
		__u8 *opt = data + (p->l4_off & 0x3ff) + (off & 0x3f);
		if ((void *)(opt + 1) > data_end)
			return 0;
		__u8 kind = opt[0];
		if (kind == 0)
			return 0;
		if (kind == 1) {
			off += 1;
			continue;
		}
		if ((void *)(opt + 2) > data_end)
			return 0;
		__u8 len = opt[1];
		if (kind == 8 && len == 10) {
			if ((void *)(opt + 6) > data_end || off + 10 > end)
				return 0;
			__u32 v;
			__builtin_memcpy(&v, opt + 2, 4);
			return bpf_ntohl(v);
		}
		if (len < 2)
			return 0;
		off += len;
	}
	return 0;
}

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
	__u64 buf[CT_SPAN / 8];
	struct nf_conntrack_tuple t;
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

/* Writes one record stamped with the precise clock; the hook is p->key.hook. A flow's first
 * packet reuses the clock read that stamped first_ns. When the ring buffer is full the record
 * is counted as lost: the packet path never waits. */
static __noinline void emit(struct __sk_buff *skb, __u8 kind, const struct packet *p,
			    const struct srcip_flow_state *st, const struct ct_view *ct)
{
	struct srcip_record *r = bpf_ringbuf_reserve(&events, sizeof(*r), 0);
	if (!r) {
		count(SRCIP_CNT_RINGBUF_LOST);
		return;
	}
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
	r->encap = p->encap; /* all zero unless p->key.encap */
	if (ct && ct->id) {
		r->join = SRCIP_JOIN_CONNTRACK;
		r->ct_id = ct->id;
		r->ct_status = ct->status;
		r->ct_dir = ct->dir;
		r->ct_orig = ct->orig;
		r->ct_reply = ct->reply;
	} else {
		r->join = SRCIP_JOIN_FINGERPRINT;
		r->ct_id = 0;
		r->ct_status = 0;
		r->ct_dir = SRCIP_CT_DIR_UNKNOWN;
		__builtin_memset(&r->ct_orig, 0, sizeof(r->ct_orig) + sizeof(r->ct_reply));
	}
	/* Records waiting, this one included (reserve already advanced the producer). */
	__u64 waiting = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) / RECORD_SLOT;
	bpf_ringbuf_submit(r, waiting % WAKEUP_RECORDS == 0 ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP);
	count(SRCIP_CNT_RECORDS);
}

static __always_inline bool tcp_ends(__u8 flags)
{
	return flags & (0x01 /* FIN */ | 0x04 /* RST */);
}

/* A 64-bit hash of the flow key: the low bits index syn_seen, the high half is the slot's tag. */
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

/* A TCP packet without a flow entry, with what conntrack said (ct->id 0: nothing, or not
 * asked). A handshake packet is recorded in syn_seen (NEW record the first time; a
 * retransmission only reports a changed mapping); the packet after it inserts the slot's state
 * into the flow map and reports only what it adds (the mapping conntrack knows now, FIN/RST).
 * False: not handled, the caller makes a new flow (or, when another CPU inserted the entry
 * first, updates it). A subprogram that calls no conntrack function: the stack of
 * handle → ct_lookup → ct_read is at the verifier's 512-byte limit. */
static __noinline bool handshake_flow(struct __sk_buff *skb, struct packet *p, struct ct_view *ct)
{
	__u64 h = key_hash(&p->key);
	__u32 idx = (__u32)h & (SYN_SLOTS - 1);
	__u32 tag = (__u32)(h >> 32) | 1;
	struct syn_slot *slot = bpf_map_lookup_elem(&syn_seen, &idx);
	if (!slot)
		return false;
	bool handshake = (p->tcp_flags & 0x02 /* SYN */) && !tcp_ends(p->tcp_flags);
	bool seen = slot->tag == tag;
	if (!seen && !handshake)
		return false;

	struct srcip_flow_state *s = &slot->st;
	__u64 now = bpf_ktime_get_ns();
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
		slot->tag = tag;
		if (!seen) {
			count(SRCIP_CNT_HANDSHAKES_DEFERRED);
			emit(skb, SRCIP_EVENT_NEW, p, s, ct);
		} else if (ct_changed) {
			emit(skb, SRCIP_EVENT_NAT, p, s, ct);
		}
		return true;
	}
	slot->tag = 0;
	long err = bpf_map_update_elem(&flows, &p->key, s, BPF_NOEXIST);
	if (err == -17 /* EEXIST: another CPU inserted it first */)
		return false;
	if (err != 0) {
		count(SRCIP_CNT_FLOW_INSERT_FAILED);
		return true;
	}
	count(SRCIP_CNT_FLOWS_CREATED);
	if (ct_changed)
		emit(skb, SRCIP_EVENT_NAT, p, s, ct);
	if (tcp_ends(p->tcp_flags)) {
		count(SRCIP_CNT_FLOWS_ENDED);
		emit(skb, SRCIP_EVENT_END, p, s, ct);
	}
	return true;
}

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

	struct ct_view ct;
	ct.id = 0;
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

	struct srcip_flow_state *st = bpf_map_lookup_elem(&flows, &p.key);
	bool restart = st && is_tcp && (p.tcp_flags & 0x02 /* SYN */) && tcp_ends(st->tcp_flags);
	if (!st || restart) {
		__u64 now = bpf_ktime_get_ns();
		struct srcip_flow_state fresh = {};
		fresh.first_ns = now;
		fresh.last_ns = now;
		fresh.packets = 1;
		fresh.bytes = skb->len;
		fresh.tcp_flags = p.tcp_flags;
		fresh.ct_dir = SRCIP_CT_DIR_UNKNOWN;
		/* At ingress (before conntrack) an opening SYN (SYN without ACK) has no entry yet, or
		 * only a stale one of an earlier connection on this tuple: skip the costly lookup; the
		 * flow's next packets look it up (the NAT record). */
		bool opening_syn = is_tcp && (p.tcp_flags & (0x02 | 0x10)) == 0x02;
		if (use_ct && (attached || !opening_syn) && (attached ? ct_from_nfct(nfct, &ct) : ct_lookup(skb, &p, &ct))) {
			fresh.ct_id = ct.id;
			fresh.ct_status = ct.status;
			fresh.ct_dir = ct.dir;
		}
		if (is_tcp && !restart && handshake_flow(skb, &p, &ct))
			return SRCIP_PASS;
		long err = bpf_map_update_elem(&flows, &p.key, &fresh, restart ? BPF_ANY : BPF_NOEXIST);
		if (err == 0) {
			count(SRCIP_CNT_FLOWS_CREATED);
			if (restart)
				count(SRCIP_CNT_FLOWS_REPLACED);
			emit(skb, SRCIP_EVENT_NEW, &p, &fresh, &ct);
			if (is_tcp && tcp_ends(p.tcp_flags)) {
				count(SRCIP_CNT_FLOWS_ENDED);
				emit(skb, SRCIP_EVENT_END, &p, &fresh, &ct);
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
				changed = ct_from_nfct(nfct, &ct);
		} else {
			bool check = st->ct_id == 0 ? (n <= CT_UNKNOWN_EAGER || (n & (n - 1)) == 0)
						    : (idle > (__s64)CT_RECHECK_IDLE_NS || n % CT_RECHECK_PACKETS == 0);
			if (check && ct_lookup(skb, &p, &ct))
				changed = ct.id != st->ct_id;
		}
		if (changed) {
			st->ct_id = ct.id;
			st->ct_status = ct.status;
			st->ct_dir = ct.dir;
			emit(skb, SRCIP_EVENT_NAT, &p, st, &ct);
		}
	}

	if (is_tcp && tcp_ends(p.tcp_flags) && !tcp_ends(old_flags)) {
		/* The entry stays (marked by FIN/RST in tcp_flags) so the last
		 * ACKs of the close do not look like a new flow; user space
		 * sweeps it. */
		count(SRCIP_CNT_FLOWS_ENDED);
		ct.id = 0;
		if (use_ct && st->ct_id) {
			if (attached)
				ct_from_nfct(nfct, &ct);
			else
				ct_lookup(skb, &p, &ct);
		}
		emit(skb, SRCIP_EVENT_END, &p, st, &ct);
	}
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
