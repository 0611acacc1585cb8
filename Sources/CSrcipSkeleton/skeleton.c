/* Wrappers around the generated skeleton (see include/srcip_skeleton.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include "srcip_skeleton.h"
#include "srcip.skel.h"
#include <bpf/btf.h>
#include <bpf/bpf.h>

struct srcip *srcip_skel_open(void)
{
	return srcip__open();
}

int srcip_skel_load(struct srcip *skel)
{
	return srcip__load(skel);
}

void srcip_skel_destroy(struct srcip *skel)
{
	srcip__destroy(skel);
}

struct bpf_object *srcip_skel_object(struct srcip *skel)
{
	return skel->obj;
}

struct bpf_program *srcip_skel_program(struct srcip *skel, enum srcip_prog_id id)
{
	switch (id) {
	case SRCIP_PROG_INGRESS_CT: return skel->progs.srcip_ingress_ct;
	case SRCIP_PROG_EGRESS_CT: return skel->progs.srcip_egress_ct;
	case SRCIP_PROG_INGRESS_FP: return skel->progs.srcip_ingress_fp;
	case SRCIP_PROG_EGRESS_FP: return skel->progs.srcip_egress_fp;
	case SRCIP_PROG_NOP: return skel->progs.srcip_nop;
	case SRCIP_PROG_FLUSH: return skel->progs.srcip_flush;
	case SRCIP_PROG_FILTER_REBUILD: return skel->progs.srcip_filter_rebuild;
	default: return NULL;
	}
}

struct bpf_map *srcip_skel_map(struct srcip *skel, enum srcip_map_id id)
{
	switch (id) {
	case SRCIP_MAP_FLOWS: return skel->maps.flows;
	case SRCIP_MAP_EVENTS: return skel->maps.events;
	case SRCIP_MAP_COUNTERS: return skel->maps.counters;
	case SRCIP_MAP_FLOW_CACHE: return skel->maps.flow_cache;
	default: return NULL;
	}
}

struct srcip_config *srcip_skel_config(struct srcip *skel)
{
	return (struct srcip_config *)&skel->rodata->cfg;
}

static srcip_log_fn current_logger;

static int forward_log(enum libbpf_print_level level, const char *fmt, va_list args)
{
	char buf[4096];
	int n = vsnprintf(buf, sizeof(buf), fmt, args);
	if (current_logger)
		current_logger((int)level, buf);
	return n;
}

void srcip_set_libbpf_logger(srcip_log_fn fn)
{
	current_logger = fn;
	libbpf_set_print(fn ? forward_log : NULL);
}

int srcip_kernel_has_btf_func(const char *name)
{
	static const char *const modules[] = { "/sys/kernel/btf/nf_conntrack", "/sys/kernel/btf/nf_nat" };
	struct btf *vmlinux = btf__load_vmlinux_btf();
	int found = 0;

	if (!vmlinux)
		return -errno;
	found = btf__find_by_name_kind(vmlinux, name, BTF_KIND_FUNC) >= 0;
	for (size_t i = 0; !found && i < sizeof(modules) / sizeof(modules[0]); i++) {
		struct btf *mod = btf__parse_split(modules[i], vmlinux);
		if (!mod)
			continue;
		found = btf__find_by_name_kind(mod, name, BTF_KIND_FUNC) >= 0;
		btf__free(mod);
	}
	btf__free(vmlinux);
	return found;
}

int srcip_tc_attach(int ifindex, int ingress, int prog_fd, __u32 handle, __u32 priority)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
		    .attach_point = ingress ? BPF_TC_INGRESS : BPF_TC_EGRESS);
	LIBBPF_OPTS(bpf_tc_opts, opts, .prog_fd = prog_fd, .flags = BPF_TC_F_REPLACE,
		    .handle = handle, .priority = priority);
	int err = bpf_tc_hook_create(&hook);

	if (err && err != -EEXIST)
		return err;
	return bpf_tc_attach(&hook, &opts);
}

int srcip_tc_detach(int ifindex, int ingress, __u32 handle, __u32 priority)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
		    .attach_point = ingress ? BPF_TC_INGRESS : BPF_TC_EGRESS);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = handle, .priority = priority);

	return bpf_tc_detach(&hook, &opts);
}

int srcip_test_run(int prog_fd, const void *data_in, __u32 data_in_size, void *data_out, __u32 *data_out_size,
		   __u32 repeat, __u32 *retval, __u32 *duration_ns)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = data_in, .data_size_in = data_in_size,
		    .data_out = data_out, .data_size_out = *data_out_size, .repeat = repeat);
	int err = bpf_prog_test_run_opts(prog_fd, &opts);

	if (err)
		return err;
	*data_out_size = opts.data_size_out;
	*retval = opts.retval;
	*duration_ns = opts.duration;
	return 0;
}
