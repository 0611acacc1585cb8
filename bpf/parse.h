/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Packet parsing: Ethernet/VLAN, IPv4, IPv6 extension headers, TCP/UDP/ICMP, quoted headers of ICMP
 * errors, VXLAN inner frames, the TCP timestamp option. Malformed input ends in a counted pass-through.
 * Part of srcip.bpf.c (one compilation unit): included after its maps, `struct packet`, `struct ct_view`
 * and the counters. */
#ifndef SRCIP_PARSE_H
#define SRCIP_PARSE_H

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

#endif
