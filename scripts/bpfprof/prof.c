// prof: cost of a build of bpf/srcip.bpf.c (issue 13's profile; scripts/bpfprof/profile.sh drives it).
//   prof OBJ testrun [N]          BPF_PROG_TEST_RUN: N new flows (distinct random IPv4 packets, repeat 1 each: the
//                                 kernel's timer costs ~68 ns, see srcip_nop) of 3 kinds, then an established flow
//                                 (repeat 1,000,000), per program; ring buffer drained as it goes.
//   prof OBJ attach SECONDS IF... attach the ingress/egress programs (NOP=1: srcip_nop) to the interfaces (clsact),
//                                 flush conntrack (not with NOFLUSH=1: a running connection would lose its NAT), bpf_stats
//                                 on for SECONDS while draining the ring buffer; prints ns per run and the program's
//                                 counters. FP=1: the fingerprint programs.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <time.h>
#include <net/if.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <arpa/inet.h>
#include <bpf/libbpf.h>
#include <bpf/bpf.h>

static int rb_cb(void *ctx, void *data, size_t sz) { (*(long *)ctx)++; return 0; }

/* BATCH=1: a reader of its own that stores consumer_pos once per pass over what is waiting (libbpf's stores it
 * after every record, a line the producer reads on every reserve). */
#include <sys/mman.h>
#include <sys/epoll.h>
struct batch_ring { unsigned long *cons; unsigned long *prod; unsigned char *data; unsigned long mask; int epfd; };
static int batch_open(struct batch_ring *r, int fd, unsigned long size) {
	long pg = sysconf(_SC_PAGESIZE);
	r->cons = mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	r->prod = mmap(NULL, pg + 2 * size, PROT_READ, MAP_SHARED, fd, pg);
	if (r->cons == MAP_FAILED || r->prod == MAP_FAILED) return -1;
	r->data = (unsigned char *)r->prod + pg; r->mask = size - 1;
	r->epfd = epoll_create1(0);
	struct epoll_event ev = { .events = EPOLLIN };
	return epoll_ctl(r->epfd, EPOLL_CTL_ADD, fd, &ev);
}
static long batch_consume(struct batch_ring *r, long *n) {
	unsigned long c = __atomic_load_n(r->cons, __ATOMIC_ACQUIRE), p0 = c;
	for (;;) {
		unsigned long p = __atomic_load_n(r->prod, __ATOMIC_ACQUIRE);
		if (c >= p) break;
		while (c < p) {
			unsigned int *hdr = (unsigned int *)(r->data + (c & r->mask));
			unsigned int len = __atomic_load_n(hdr, __ATOMIC_ACQUIRE);
			if (len & (1U << 31)) goto done;
			if (!(len & (1U << 30))) (*n)++;
			c += ((len & 0x3fffffff) + 8 + 7) & ~7UL;
		}
	}
done:
	if (c != p0) __atomic_store_n(r->cons, c, __ATOMIC_RELEASE);
	return c - p0;
}

static unsigned short csum(void *p, int n) { unsigned long s = 0; unsigned short *w = p; for (; n > 1; n -= 2) s += *w++; while (s >> 16) s = (s & 0xffff) + (s >> 16); return ~s; }

static int build(unsigned char *buf, int proto, unsigned saddr, unsigned short sport, unsigned char flags) {
	memset(buf, 0, 128);
	struct ethhdr *eth = (void *)buf; eth->h_proto = htons(ETH_P_IP);
	memcpy(eth->h_source, "\x02\0\0\0\0\1", 6); memcpy(eth->h_dest, "\x02\0\0\0\0\2", 6);
	struct iphdr *ip = (void *)(eth + 1); ip->version = 4; ip->ihl = 5; ip->ttl = 64; ip->protocol = proto;
	ip->saddr = saddr; ip->daddr = inet_addr("10.77.9.9"); ip->id = htons(1234);
	int l4len;
	if (proto == 6) {
		struct tcphdr *th = (void *)(ip + 1); th->source = htons(sport); th->dest = htons(80); th->doff = 5;
		((unsigned char *)th)[13] = flags; th->seq = htonl(1000); th->window = htons(512); l4len = 20;
	} else {
		struct udphdr *uh = (void *)(ip + 1); uh->source = htons(sport); uh->dest = htons(53); uh->len = htons(8 + 22); l4len = 8 + 22;
	}
	ip->tot_len = htons(20 + l4len); ip->check = csum(ip, 20);
	return 14 + 20 + l4len;
}

static unsigned long long run1(int fd, void *pkt, int len, int repeat) {
	unsigned char out[256];
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = pkt, .data_size_in = len, .data_out = out, .data_size_out = sizeof(out), .repeat = repeat);
	if (bpf_prog_test_run_opts(fd, &o)) { perror("test_run"); exit(1); }
	return o.duration;
}

static void stats(struct bpf_program *p, unsigned long long *cnt, unsigned long long *ns) {
	struct bpf_prog_info info = {}; unsigned len = sizeof(info);
	bpf_obj_get_info_by_fd(bpf_program__fd(p), &info, &len);
	*cnt = info.run_cnt; *ns = info.run_time_ns;
}

int main(int argc, char **argv) {
	if (argc < 3) { fprintf(stderr, "usage: prof OBJ testrun [N] | prof OBJ attach SECONDS IF...\n"); return 2; }
	if (!getenv("DEBUG")) libbpf_set_print(NULL);
	struct bpf_object *obj = bpf_object__open_file(argv[1], NULL);
	if (!obj) { perror("open"); return 1; }
	int fp = getenv("FP") != NULL;
	struct bpf_program *p;
	bpf_object__for_each_program(p, obj) {
		const char *n = bpf_program__name(p);
		int want = strcmp(n, "srcip_nop") == 0 || (fp ? strstr(n, "_fp") != NULL : strstr(n, "_ct") != NULL);
		bpf_program__set_autoload(p, want);
	}
	if (bpf_object__load(obj)) { perror("load"); return 1; }
	long nrec = 0;
	struct ring_buffer *rb = ring_buffer__new(bpf_map__fd(bpf_object__find_map_by_name(obj, "events")), rb_cb, &nrec, NULL);
	struct bpf_map *second = bpf_object__find_map_by_name(obj, "events_b"); /* variant ring_per_cpu */
	if (second && ring_buffer__add(rb, bpf_map__fd(second), rb_cb, &nrec)) { perror("events_b"); return 1; }
	const char *names[3] = { fp ? "srcip_ingress_fp" : "srcip_ingress_ct", fp ? "srcip_egress_fp" : "srcip_egress_ct", "srcip_nop" };
	if (strcmp(argv[2], "testrun") == 0) {
		int N = argc > 3 ? atoi(argv[3]) : 100000;
		unsigned char pkt[128];
		srand(getpid());
		for (int i = 0; i < 3; i++) {
			int fd = bpf_program__fd(bpf_object__find_program_by_name(obj, names[i]));
			// new flows: SYN (opening), then ACK (non-opening: ct lookup at ingress), then UDP
			struct { const char *what; int proto; unsigned char flags; } kinds[] = { {"new SYN", 6, 0x02}, {"new ACK", 6, 0x10}, {"new UDP", 17, 0} };
			printf("%-18s", names[i]);
			for (int k = 0; k < 3; k++) {
				unsigned long long tot = 0;
				for (int j = 0; j < N; j++) {
					int len = build(pkt, kinds[k].proto, htonl(0x0a000000 | (rand() & 0xffffff)), 1024 + (rand() & 0x7fff), kinds[k].flags);
					tot += run1(fd, pkt, len, 1);
					if ((j & 1023) == 0) ring_buffer__consume(rb);
				}
				ring_buffer__consume(rb);
				printf("  %s %6.1f", kinds[k].what, (double)tot / N);
			}
			int len = build(pkt, 6, inet_addr("10.1.2.3"), 4000, 0x10);
			run1(fd, pkt, len, 1);
			printf("  estab ACK %5llu", run1(fd, pkt, len, 1000000));
			len = build(pkt, 17, inet_addr("10.1.2.3"), 4000, 0);
			run1(fd, pkt, len, 1);
			printf("  estab UDP %5llu\n", run1(fd, pkt, len, 1000000));
			ring_buffer__consume(rb);
		}
		printf("records consumed %ld\n", nrec);
		return 0;
	}
	// attach
	int secs = atoi(argv[3]);
	int sfd = bpf_enable_stats(BPF_STATS_RUN_TIME);
	struct bpf_program *pi = bpf_object__find_program_by_name(obj, names[getenv("NOP") ? 2 : 0]);
	struct bpf_program *pe = bpf_object__find_program_by_name(obj, names[getenv("NOP") ? 2 : 1]);
	int nif = argc - 4;
	for (int i = 0; i < nif; i++) {
		int ifx = if_nametoindex(argv[4 + i]);
		LIBBPF_OPTS(bpf_tc_hook, h, .ifindex = ifx, .attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS);
		bpf_tc_hook_create(&h);
		h.attach_point = BPF_TC_INGRESS;
		LIBBPF_OPTS(bpf_tc_opts, oi, .prog_fd = bpf_program__fd(pi), .handle = 77, .priority = 1);
		if (bpf_tc_attach(&h, &oi)) { perror("attach in"); return 1; }
		h.attach_point = BPF_TC_EGRESS;
		LIBBPF_OPTS(bpf_tc_opts, oe, .prog_fd = bpf_program__fd(pe), .handle = 77, .priority = 1);
		if (bpf_tc_attach(&h, &oe)) { perror("attach eg"); return 1; }
	}
	if (!getenv("NOFLUSH") && system("conntrack -F >/dev/null 2>&1")) {}
	usleep(300000);
	unsigned long long c0i, n0i, c0e, n0e, c1i, n1i, c1e, n1e;
	stats(pi, &c0i, &n0i); stats(pe, &c0e, &n0e);
	time_t end = time(NULL) + secs;
	if (getenv("BATCH")) {
		struct batch_ring br;
		if (batch_open(&br, bpf_map__fd(bpf_object__find_map_by_name(obj, "events")), 4 * 1024 * 1024)) { perror("batch ring"); return 1; }
		struct epoll_event ev;
		while (time(NULL) < end) { epoll_wait(br.epfd, &ev, 1, 100); batch_consume(&br, &nrec); }
	} else
	while (time(NULL) < end) { ring_buffer__poll(rb, 100); ring_buffer__consume(rb); } /* as srcip's reader: records written without a wakeup are read too */
	stats(pi, &c1i, &n1i); stats(pe, &c1e, &n1e);
	for (int i = 0; i < nif; i++) {
		int ifx = if_nametoindex(argv[4 + i]);
		LIBBPF_OPTS(bpf_tc_hook, h, .ifindex = ifx, .attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS);
		bpf_tc_hook_destroy(&h);
	}
	close(sfd);
	{
		int cfd = bpf_map__fd(bpf_object__find_map_by_name(obj, "counters"));
		int ncpu = libbpf_num_possible_cpus();
		for (unsigned k = 0; k < 17; k++) {
			unsigned long long v[64] = {0}, sum = 0;
			bpf_map_lookup_elem(cfd, &k, v);
			for (int c = 0; c < ncpu; c++) sum += v[c];
			printf("c%u=%llu ", k, sum);
		}
		printf("\n");
	}
	printf("ingress %.1f ns (%llu runs)  egress %.1f ns (%llu runs)  records %ld\n",
	       (double)(n1i - n0i) / (c1i - c0i ? c1i - c0i : 1), c1i - c0i, (double)(n1e - n0e) / (c1e - c0e ? c1e - c0e : 1), c1e - c0e, nrec);
	return 0;
}
