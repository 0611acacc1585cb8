/*
 * srcip_skeleton.h - a thin C face over the generated bpftool skeleton
 * (srcip.skel.h, `make bpf`), so Swift never sees the generated struct.
 */
#ifndef SRCIP_SKELETON_H
#define SRCIP_SKELETON_H

#include <stddef.h>
#include <bpf/libbpf.h>
#include "srcip_abi.h"

struct srcip;

/* The BPF programs in the object. */
enum srcip_prog_id {
	SRCIP_PROG_INGRESS_CT = 0,
	SRCIP_PROG_EGRESS_CT,
	SRCIP_PROG_INGRESS_FP,
	SRCIP_PROG_EGRESS_FP,
	SRCIP_PROG_NOP,       /* benchmark baseline: returns -1, touches nothing */
	SRCIP_PROG_FLUSH,     /* moves the flow cache's pending counts into `flows` (run by user space) */
	SRCIP_PROG_FILTER_REBUILD, /* rebuilds half of the "may be in `flows`" filter (run by user space after sweeps) */
	SRCIP_PROG__MAX,
};

/* The maps in the object. */
enum srcip_map_id {
	SRCIP_MAP_FLOWS = 0,
	SRCIP_MAP_EVENTS,
	SRCIP_MAP_COUNTERS,
	SRCIP_MAP_FLOW_CACHE,
	SRCIP_MAP__MAX,
};

/* Opens (does not load) the embedded object; NULL and errno on failure. */
struct srcip *srcip_skel_open(void);
/* Loads and verifies the programs whose autoload is on; 0 or -errno. */
int srcip_skel_load(struct srcip *skel);
void srcip_skel_destroy(struct srcip *skel);

struct bpf_object *srcip_skel_object(struct srcip *skel);
struct bpf_program *srcip_skel_program(struct srcip *skel, enum srcip_prog_id id);
struct bpf_map *srcip_skel_map(struct srcip *skel, enum srcip_map_id id);
/* The read-only config; writable between open and load. */
struct srcip_config *srcip_skel_config(struct srcip *skel);

/* Routes libbpf's log (including verifier logs) to `fn`, one formatted
 * message at a time; NULL silences libbpf. */
typedef void (*srcip_log_fn)(int level, const char *message);
void srcip_set_libbpf_logger(srcip_log_fn fn);

/* 1 if kernel BTF (vmlinux, or the nf_conntrack/nf_nat modules) has a
 * function `name`, 0 if not, -errno if kernel BTF cannot be read. */
int srcip_kernel_has_btf_func(const char *name);

/*
 * libbpf opts structs must have zeroed padding, which Swift does not
 * guarantee; these build them with LIBBPF_OPTS in C.
 */
/* Creates the clsact qdisc if needed and attaches (or replaces) a filter
 * with `handle`/`priority` at ingress (1) or egress (0). 0 or -errno. */
int srcip_tc_attach(int ifindex, int ingress, int prog_fd, __u32 handle, __u32 priority);
/* Removes the filter with `handle`/`priority`. 0 or -errno. */
int srcip_tc_detach(int ifindex, int ingress, __u32 handle, __u32 priority);
/* A clsact filter as listed by rtnetlink. */
struct srcip_tc_filter {
	__u32 handle;
	__u32 priority;
	__u32 prog_id;     /* bpf filters only, else 0 */
	char kind[16];     /* "bpf", "u32", ... */
	char name[64];     /* bpf: libbpf's "<prog name>:[<id>]" */
};
/* Lists the filters at clsact ingress (1) or egress (0) of `ifindex`:
 * writes up to `max` into `out` and returns how many there are (more than
 * `max`: call again with room), 0 without a clsact qdisc, or -errno. */
int srcip_tc_list(int ifindex, int ingress, struct srcip_tc_filter *out, int max);
/* Creates the clsact qdisc: 0, -EEXIST if there is one, or -errno. */
int srcip_tc_clsact_create(int ifindex);
/* Deletes the clsact qdisc with all its filters. 0 or -errno. */
int srcip_tc_clsact_destroy(int ifindex);
/* BPF_PROG_TEST_RUN `repeat` times (0 = once); *data_out_size is in/out;
 * *duration_ns gets the kernel's average per run. 0 or -errno. */
int srcip_test_run(int prog_fd, const void *data_in, __u32 data_in_size, void *data_out, __u32 *data_out_size,
		   __u32 repeat, __u32 *retval, __u32 *duration_ns);

#endif /* SRCIP_SKELETON_H */
