/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * srcip_core.h - the few kernel-internal types srcip.bpf.c touches, declared
 * minimally for CO-RE (libbpf relocates every field access against the
 * running kernel's BTF). This replaces a full vmlinux.h dump.
 */
#ifndef SRCIP_CORE_H
#define SRCIP_CORE_H

#include <linux/types.h>

/* Low bits of sk_buff->_nfct hold enum ip_conntrack_info. */
#define SRCIP_NFCT_INFOMASK 7UL
/* enum ip_conntrack_info: values >= IP_CT_IS_REPLY are reply-direction packets. */
#define SRCIP_IP_CT_IS_REPLY 3

/* Fields of struct sk_buff read through bpf_cast_to_kern_ctx(). */
struct sk_buff {
	unsigned long _nfct;
} __attribute__((preserve_access_index));

/*
 * struct nf_conntrack_tuple. Its layout (40 bytes) has not changed since
 * 2.6; srcip reads its fields with this local layout (src.all is the kernel's
 * src.u.all), from the tuple's CO-RE relocated address inside nf_conn.
 */
union srcip_nf_inet_addr {
	__u32 all[4];
	__be32 ip;
	__be32 ip6[4];
};

struct nf_conntrack_tuple {
	struct {
		union srcip_nf_inet_addr u3;
		__be16 all;     /* port, ICMP echo id */
		__u16 l3num;
	} src;
	struct {
		union srcip_nf_inet_addr u3;
		__be16 all;     /* port; ICMP: type, code */
		__u8 protonum;
		__u8 dir;
	} dst;
};

struct nf_conntrack_tuple_hash {
	struct nf_conntrack_tuple tuple;
} __attribute__((preserve_access_index));

struct nf_conn {
	struct nf_conntrack_tuple_hash tuplehash[2];
	unsigned long status;
} __attribute__((preserve_access_index));

/* Options of bpf_skb_ct_lookup(); the first 12 bytes are accepted by every
 * kernel since 5.18 (NF_BPF_CT_OPTS_SZ). */
struct bpf_ct_opts {
	__s32 netns_id;
	__s32 error;
	__u8 l4proto;
	__u8 dir;
	__u8 reserved[2];
};

#define SRCIP_CT_OPTS_SZ 12

#endif /* SRCIP_CORE_H */
