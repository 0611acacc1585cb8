/* Listing clsact filters and managing the clsact qdisc (see include/srcip_skeleton.h).
 * libbpf 1.1 can only query a filter whose handle and priority are known
 * (bpf_tc_query), so listing uses an RTM_GETTFILTER dump over rtnetlink. */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/pkt_sched.h>
#include <linux/pkt_cls.h>
#include <bpf/libbpf.h>
#include "srcip_skeleton.h"

static void copy_string(char *dst, size_t size, const struct rtattr *rta)
{
	size_t n = RTA_PAYLOAD(rta);

	if (n >= size)
		n = size - 1;
	memcpy(dst, RTA_DATA(rta), n);
	dst[n] = 0;
}

static void parse_filter(const struct tcmsg *t, int len, struct srcip_tc_filter *f)
{
	memset(f, 0, sizeof(*f));
	f->handle = t->tcm_handle;
	f->priority = TC_H_MAJ(t->tcm_info) >> 16;
	for (const struct rtattr *a = (const struct rtattr *)((const char *)t + NLMSG_ALIGN(sizeof(*t)));
	     RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		if (a->rta_type == TCA_KIND) {
			copy_string(f->kind, sizeof(f->kind), a);
		} else if (a->rta_type == TCA_OPTIONS) {
			int olen = RTA_PAYLOAD(a);
			for (const struct rtattr *o = RTA_DATA(a); RTA_OK(o, olen); o = RTA_NEXT(o, olen)) {
				if (o->rta_type == TCA_BPF_ID && RTA_PAYLOAD(o) >= sizeof(__u32))
					memcpy(&f->prog_id, RTA_DATA(o), sizeof(__u32));
				else if (o->rta_type == TCA_BPF_NAME)
					copy_string(f->name, sizeof(f->name), o);
			}
		}
	}
}

int srcip_tc_list(int ifindex, int ingress, struct srcip_tc_filter *out, int max)
{
	struct {
		struct nlmsghdr nh;
		struct tcmsg t;
	} req;
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	static __thread char buf[32768];
	int fd, count = 0, err = 0, done = 0;

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return -errno;
	memset(&req, 0, sizeof(req));
	req.nh.nlmsg_len = NLMSG_LENGTH(sizeof(struct tcmsg));
	req.nh.nlmsg_type = RTM_GETTFILTER;
	req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	req.nh.nlmsg_seq = 1;
	req.t.tcm_family = AF_UNSPEC;
	req.t.tcm_ifindex = ifindex;
	req.t.tcm_parent = TC_H_MAKE(TC_H_CLSACT, ingress ? TC_H_MIN_INGRESS : TC_H_MIN_EGRESS);
	if (sendto(fd, &req, req.nh.nlmsg_len, 0, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		err = -errno;
		goto out;
	}
	while (!done) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			break;
		}
		if (n == 0)
			break;
		for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
			if (h->nlmsg_type == NLMSG_DONE) {
				done = 1;
				break;
			}
			if (h->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = NLMSG_DATA(h);
				err = e->error;
				done = 1;
				break;
			}
			if (h->nlmsg_type != RTM_NEWTFILTER)
				continue;
			const struct tcmsg *t = NLMSG_DATA(h);
			if (t->tcm_handle == 0) /* a chain/priority header, not a filter */
				continue;
			if (count < max)
				parse_filter(t, (int)h->nlmsg_len - NLMSG_LENGTH(sizeof(*t)), &out[count]);
			count++;
		}
	}
out:
	close(fd);
	/* No clsact qdisc (or no such device): no filters. */
	if (err == -EINVAL || err == -ENOENT)
		return 0;
	return err ? err : count;
}

int srcip_tc_clsact_create(int ifindex)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = BPF_TC_INGRESS);

	return bpf_tc_hook_create(&hook);
}

int srcip_tc_clsact_destroy(int ifindex)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS);

	return bpf_tc_hook_destroy(&hook);
}
