/* Placeholder until `make bpf` generates the skeleton. */
