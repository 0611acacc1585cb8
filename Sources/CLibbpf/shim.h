#ifndef SRCIP_CLIBBPF_SHIM_H
#define SRCIP_CLIBBPF_SHIM_H
#include <bpf/libbpf.h>
#include <bpf/bpf.h>
#include <linux/bpf.h>
#endif
