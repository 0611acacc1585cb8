/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * srcip_abi.h - the one contract between the BPF programs (bpf/srcip.bpf.c)
 * and Swift (SrcipCore, SrcipKernel). Both sides include this file; nothing
 * here is mirrored by hand. Every struct has fixed-width fields, explicit
 * padding and a size assertion; Swift tests check MemoryLayout against it.
 *
 * Byte order: addresses are kept as on the wire (network order), ports and
 * all other integers in host order.
 */
#ifndef SRCIP_ABI_H
#define SRCIP_ABI_H

#include <linux/types.h>

#define SRCIP_ABI_VERSION 3

/* Address family of a tuple. 0 marks an empty tuple (no conntrack entry). */
enum srcip_family {
	SRCIP_FAMILY_NONE = 0,
	SRCIP_FAMILY_IPV4 = 4,
	SRCIP_FAMILY_IPV6 = 6,
};

/* Where a packet was observed. */
enum srcip_hook {
	SRCIP_HOOK_INGRESS = 0,
	SRCIP_HOOK_EGRESS = 1,
};

/* Why a record was written. Records follow flows, not packets. */
enum srcip_event {
	SRCIP_EVENT_NEW = 1,     /* first packet of a flow at this hook */
	SRCIP_EVENT_NAT = 2,     /* conntrack mapping became known, or changed */
	SRCIP_EVENT_END = 3,     /* TCP FIN or RST seen at this hook */
	SRCIP_EVENT_EXPIRED = 4, /* idle flow swept from the flow map by user space */
};

/* How the pre/post-NAT views of a packet can be joined. */
enum srcip_join {
	SRCIP_JOIN_CONNTRACK = 1,   /* ct_orig / ct_reply / ct_id are valid */
	SRCIP_JOIN_FINGERPRINT = 2, /* only the packet fingerprint is valid */
};

/* Direction of the packet relative to its conntrack entry. */
enum srcip_ct_dir {
	SRCIP_CT_DIR_ORIGINAL = 0,
	SRCIP_CT_DIR_REPLY = 1,
	SRCIP_CT_DIR_UNKNOWN = 0xff,
};

/* Conntrack status bits (include/uapi/linux/netfilter/nf_conntrack_common.h). */
#define SRCIP_IPS_EXPECTED      (1U << 0)
#define SRCIP_IPS_SEEN_REPLY    (1U << 1)
#define SRCIP_IPS_ASSURED       (1U << 2)
#define SRCIP_IPS_CONFIRMED     (1U << 3)
#define SRCIP_IPS_SRC_NAT       (1U << 4)
#define SRCIP_IPS_DST_NAT       (1U << 5)
#define SRCIP_IPS_SRC_NAT_DONE  (1U << 7)
#define SRCIP_IPS_DST_NAT_DONE  (1U << 8)
#define SRCIP_IPS_DYING         (1U << 9)

/* Per-CPU counters, indexes into the `counters` array map. */
enum srcip_counter {
	SRCIP_CNT_PACKETS = 0,        /* packets seen by any program */
	SRCIP_CNT_RECORDS,            /* records submitted to the ring buffer */
	SRCIP_CNT_RINGBUF_LOST,       /* records lost: ring buffer full */
	SRCIP_CNT_FLOWS_CREATED,      /* flow map inserts */
	SRCIP_CNT_FLOWS_ENDED,        /* flows removed after FIN/RST */
	SRCIP_CNT_FLOW_INSERT_FAILED, /* flow map update failed */
	SRCIP_CNT_NOT_IP,             /* not IPv4/IPv6 (ARP, LLDP, ...) */
	SRCIP_CNT_TRUNCATED,          /* header shorter than it claims */
	SRCIP_CNT_BAD_HEADER,         /* e.g. IHL < 5, bad version */
	SRCIP_CNT_FRAGMENT,           /* non-first fragment: no L4 header */
	SRCIP_CNT_UNKNOWN_PROTO,      /* L4 protocol srcip does not follow */
	SRCIP_CNT_CT_LOOKUPS,         /* conntrack lookups made */
	SRCIP_CNT_CT_FOUND,           /* ... that found an entry */
	SRCIP_CNT_FLOWS_REPLACED,     /* of FLOWS_CREATED: a new SYN replaced an ended entry */
	SRCIP_CNT_VXLAN,              /* VXLAN packets whose inner flow was followed */
	SRCIP_CNT_VXLAN_NOT_VXLAN,    /* UDP to a VXLAN port without a valid VXLAN header: followed as UDP */
	SRCIP_CNT_VXLAN_INNER_SKIPPED,/* valid VXLAN header, inner frame truncated/not IP/unparsable: followed as UDP */
	SRCIP_CNT_HANDSHAKES_DEFERRED,/* TCP SYN/SYN-ACK without an entry: NEW record, no map insert (the next packet inserts) */
	SRCIP_CNT__MAX,
};

/* Encapsulation of the packet a record describes (struct srcip_encap.type). */
enum srcip_encap_type {
	SRCIP_ENCAP_NONE = 0,
	SRCIP_ENCAP_VXLAN = 1,  /* UDP 4789 or 8472 (Linux/flannel), RFC 7348 header */
};

/* UDP destination ports srcip looks inside as VXLAN. */
#define SRCIP_VXLAN_PORT_IANA 4789
#define SRCIP_VXLAN_PORT_LINUX 8472

/* A packet's L3/L4 identity. 40 bytes. */
struct srcip_tuple {
	__u8 saddr[16];   /* IPv4 in the first 4 bytes, rest zero */
	__u8 daddr[16];
	__u16 sport;      /* TCP/UDP port; ICMP echo: identifier */
	__u16 dport;      /* TCP/UDP port; ICMP echo: 0 */
	__u8 family;      /* enum srcip_family */
	__u8 proto;       /* IPPROTO_TCP, _UDP, _ICMP, _ICMPV6 */
	__u8 _pad[2];
};

/* Fields NAT leaves alone, to join ingress and egress views of one packet
 * when there is no conntrack access. 16 bytes. */
struct srcip_fingerprint {
	__u32 tcp_seq;
	__u32 tcp_ack;
	__u32 tcp_tsval;  /* TCP timestamp option value, 0 if absent */
	__u16 ip_id;      /* IPv4 identification; 0 for IPv6 */
	__u16 length;     /* IPv4 total length / IPv6 payload length */
};

/* The outer packet of an encapsulated flow. All zero when not encapsulated. 48 bytes. */
struct srcip_encap {
	struct srcip_tuple outer; /* outer IP/UDP tuple of the packet that triggered the record */
	__u32 vni;                /* VXLAN network identifier (24 bits) */
	__u8 type;                /* enum srcip_encap_type */
	__u8 _pad[3];
};

/* One ring-buffer record, 112, 192 or 240 bytes: the parts a record does not need are left off its end, and
 * its length says which are there. SRCIP_RECORD_SHORT: no conntrack entry, not encapsulated (ct_* and encap read
 * as zero); SRCIP_RECORD_CT: with the conntrack tuples, not encapsulated; SRCIP_RECORD_FULL: everything. (A
 * SYN flood's record at ingress is 120 bytes of ring instead of 248: two cache lines.) For an encapsulated
 * packet `tuple` (and ct_*, fp) describe the inner packet and `encap` the outer one. */
struct srcip_record {
	__u64 ts_ns;       /* CLOCK_MONOTONIC of the event */
	__u64 first_ns;    /* first packet of the flow at this hook */
	__u64 packets;     /* packets of the flow at this hook so far */
	__u64 bytes;       /* bytes (skb->len) so far */
	__u64 ct_id;       /* opaque conntrack identity, 0 if none; equal at every hook of one connection */
	__u32 ifindex;
	__u32 ct_status;   /* SRCIP_IPS_* bits of the conntrack entry */
	__u8 kind;         /* enum srcip_event */
	__u8 hook;         /* enum srcip_hook */
	__u8 ct_dir;       /* enum srcip_ct_dir */
	__u8 tcp_flags;    /* OR of the TCP flags seen at this hook */
	__u8 join;         /* enum srcip_join; SRCIP_JOIN_CONNTRACK only in records of SRCIP_RECORD_CT bytes or more */
	__u8 _pad[3];
	struct srcip_tuple tuple;     /* as seen at this hook */
	struct srcip_fingerprint fp;  /* of the packet that triggered the record */
	/* SRCIP_RECORD_SHORT ends here */
	struct srcip_tuple ct_orig;   /* conntrack original-direction tuple */
	struct srcip_tuple ct_reply;  /* conntrack reply-direction tuple */
	/* SRCIP_RECORD_CT ends here */
	struct srcip_encap encap;     /* VXLAN: outer tuple and VNI (type 0: none) */
};

#define SRCIP_RECORD_SHORT 112
#define SRCIP_RECORD_CT 192
#define SRCIP_RECORD_FULL 240

/* Flow map key: one flow per (interface, hook, encapsulation, tuple); the
 * tuple of an encapsulated packet is the inner one. 48 bytes. */
struct srcip_flow_key {
	__u32 ifindex;
	__u8 hook;
	__u8 encap;       /* enum srcip_encap_type */
	__u8 _pad[2];
	struct srcip_tuple tuple;
};

/* Flow map value. 48 bytes. */
struct srcip_flow_state {
	__u64 first_ns;
	__u64 last_ns;
	__u64 packets;
	__u64 bytes;
	__u64 ct_id;       /* last conntrack identity reported */
	__u32 ct_status;   /* last status bits reported */
	__u8 tcp_flags;
	__u8 ct_dir;
	__u8 _pad[2];
};

/* A slot of the flow cache (bpf/flowcache.h): one established flow's packets and bytes counted outside the
 * `flows` map within a window of jiffies. User space only reads slots, to tell whether a flow it is about to read
 * or has removed has one (then it runs srcip_flush). 64 bytes: one cache line. */
#define SRCIP_FLOW_CACHE_SLOTS 4096

struct srcip_flow_slot {
	struct srcip_flow_key key;
	__u32 epoch;       /* window the slot was filled in (jiffies >> 4) */
	__u32 bytes;       /* counted here since then, not yet in the flow map */
	__u16 packets;
	__u16 limit;       /* packets the slot may count before the slow path runs */
	__u16 ct_lo;       /* low bits of the entry's conntrack id */
	__u8 tcp_flags;    /* the entry's TCP flags (never FIN/RST) */
	__u8 live;         /* 1: filled; 0: empty */
};

/* The slot of a flow key: two multiplies over the key's words folded in two (collisions only cost speed). */
static inline __u32 srcip_flow_cache_index(const struct srcip_flow_key *k)
{
	const __u64 *w = (const __u64 *)k;
	__u64 h = (w[0] ^ w[2] ^ w[4]) * 0x9e3779b97f4a7c15ULL ^ (w[1] ^ w[3] ^ w[5]) * 0xff51afd7ed558ccdULL;
	return (__u32)(h >> 32) & (SRCIP_FLOW_CACHE_SLOTS - 1);
}

/* Load-time configuration (read-only data of the BPF object). 16 bytes. */
struct srcip_config {
	__u64 ct_salt;           /* mixed into ct_id so kernel pointers do not leak */
	__u8 force_fingerprint;  /* 1: never touch conntrack, fingerprints only */
	__u8 ct_read_direct;     /* 1: read conntrack entries with direct loads through bpf_rdonly_cast(addr, 0)
				  * (Linux 6.17+); 0: with bpf_probe_read_kernel() */
	__u8 _pad[6];
};

#if defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L
_Static_assert(sizeof(struct srcip_tuple) == 40, "srcip_tuple size");
_Static_assert(sizeof(struct srcip_fingerprint) == 16, "srcip_fingerprint size");
_Static_assert(sizeof(struct srcip_encap) == 48, "srcip_encap size");
_Static_assert(sizeof(struct srcip_record) == 240, "srcip_record size");
_Static_assert(sizeof(struct srcip_flow_key) == 48, "srcip_flow_key size");
_Static_assert(sizeof(struct srcip_flow_state) == 48, "srcip_flow_state size");
_Static_assert(sizeof(struct srcip_config) == 16, "srcip_config size");
_Static_assert(sizeof(struct srcip_flow_slot) == 64, "srcip_flow_slot size");
_Static_assert(__builtin_offsetof(struct srcip_record, tuple) == 56, "srcip_record.tuple offset");
_Static_assert(__builtin_offsetof(struct srcip_record, fp) == 96, "srcip_record.fp offset");
_Static_assert(__builtin_offsetof(struct srcip_record, ct_orig) == SRCIP_RECORD_SHORT, "srcip_record.ct_orig offset");
_Static_assert(__builtin_offsetof(struct srcip_record, encap) == SRCIP_RECORD_CT, "srcip_record.encap offset");
_Static_assert(sizeof(struct srcip_record) == SRCIP_RECORD_FULL, "srcip_record size");
#endif

#endif /* SRCIP_ABI_H */
