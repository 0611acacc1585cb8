// lines ID: prints "JIT address file:line<TAB>source" for every line-info entry of BPF program ID and its subprograms
// (scripts/bpfprof/perf-lines.sh maps perf samples to source lines with it).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
int main(int argc, char **argv) {
	int fd = bpf_prog_get_fd_by_id(atoi(argv[1]));
	struct bpf_prog_info info = {}; unsigned len = sizeof(info);
	if (bpf_obj_get_info_by_fd(fd, &info, &len)) { perror("info"); return 1; }
	unsigned n = info.nr_jited_line_info, nl = info.nr_line_info, btf_id = info.btf_id;
	__u64 *jl = calloc(n, 8); struct bpf_line_info *li = calloc(nl, sizeof(*li));
	struct bpf_prog_info i2 = {}; len = sizeof(i2);
	i2.nr_jited_line_info = n; i2.jited_line_info = (unsigned long)jl; i2.jited_line_info_rec_size = 8;
	i2.nr_line_info = nl; i2.line_info = (unsigned long)li; i2.line_info_rec_size = sizeof(*li);
	if (bpf_obj_get_info_by_fd(fd, &i2, &len)) { perror("info2"); return 1; }
	struct btf *btf = btf__load_from_kernel_by_id(btf_id);
	for (unsigned i = 0; i < n && i < nl; i++) {
		const char *file = btf__name_by_offset(btf, li[i].file_name_off);
		const char *src = btf__name_by_offset(btf, li[i].line_off);
		printf("%llx %s:%u\t%s\n", (unsigned long long)jl[i], file ? strrchr(file, '/') ? strrchr(file, '/') + 1 : file : "?", li[i].line_col >> 10, src ? src : "");
	}
	return 0;
}
