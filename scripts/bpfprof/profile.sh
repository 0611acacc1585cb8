#!/bin/bash
# Issue 13's new-flow profile: variants of bpf/srcip.bpf.c with one piece removed (variants.py), each attached to
# both router interfaces of a throwaway NAT lab (client — router with DNAT + SNAT pool — server) under a SYN flood
# with random sources (hping3), bpf_stats on; alternating rounds. Also BPF_PROG_TEST_RUN of each variant.
# Usage (root): [BPFPROF_BASE=FILE] scripts/bpfprof/profile.sh [ROUNDS=2] [SECONDS=3] [VARIANT...] (base: FILE, see variants.py)
set -euo pipefail
ROUNDS=${1:-2}; SECS=${2:-3}; shift $(( $# > 2 ? 2 : $# ))
here=$(cd "$(dirname "$0")" && pwd); root=$(cd "$here/../.." && pwd)
work=$(mktemp -d); T=$$; C=bpc$T; R=bpr$T; S=bps$T; srv=""
cleanup() {
  [ -n "$srv" ] && kill "$srv" 2>/dev/null || true
  for n in $C $R $S; do ip netns del $n 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
gcc -O2 -o "$work/prof" "$here/prof.c" -lbpf
python3 "$here/variants.py" "$work" >/dev/null
names=("$@"); [ ${#names[@]} -eq 0 ] && names=(full parse_only no_ct_update_record no_update_record no_update no_record no_ct lru_1m hash_1m)
for v in "${names[@]}"; do
  /opt/swift/usr/bin/clang -target bpf -O2 -g -Wall -Werror -I/usr/include/$(uname -m)-linux-gnu -I"$root/bpf" -c "$work/$v.bpf.c" -o "$work/$v.o"
done
for n in $C $R $S; do ip netns add $n; done
ip link add c$T type veth peer name rc$T; ip link set c$T netns $C; ip link set rc$T netns $R
ip link add s$T type veth peer name rs$T; ip link set s$T netns $S; ip link set rs$T netns $R
ip -n $C addr add 10.77.1.2/24 dev c$T; ip -n $C link set c$T up; ip -n $C link set lo up; ip -n $C route add default via 10.77.1.1
ip -n $S addr add 10.77.2.2/24 dev s$T; ip -n $S link set s$T up; ip -n $S link set lo up; ip -n $S route add default via 10.77.2.1
ip -n $R addr add 10.77.1.1/24 dev rc$T; ip -n $R addr add 10.77.2.1/24 dev rs$T
for i in rc$T rs$T lo; do ip -n $R link set $i up; done
ip netns exec $R sysctl -qw net.ipv4.ip_forward=1
ip netns exec $R iptables -t nat -A PREROUTING -d 10.77.9.9 -p tcp --dport 80 -j DNAT --to-destination 10.77.2.2:8080
# An SNAT pool, not MASQUERADE: one address has ~64 k reply tuples, which the flood exhausts in a second.
ip netns exec $R iptables -t nat -A POSTROUTING -o rs$T -p tcp -j SNAT --to-source 10.77.10.1-10.77.10.64
ip netns exec $S python3 -c 'import socket, time
s = socket.socket(); s.bind(("10.77.2.2", 8080)); s.listen(1024)
while True: time.sleep(100)' & srv=$!
echo "BPF_PROG_TEST_RUN, new flows (ns, repeat 1 each) and established (repeat 1e6):"
for v in "${names[@]}"; do echo "== $v"; "$work/prof" "$work/$v.o" testrun 30000 | head -3; done
echo "SYN flood, random sources, bpf_stats on (ns per run):"
for r in $(seq "$ROUNDS"); do
  for v in "${names[@]}" nop; do
    obj=$v; env=""; [ $v = nop ] && { obj=full; env=NOP=1; }
    ip netns exec $C hping3 --flood -q -S --rand-source -p 80 10.77.9.9 >/dev/null 2>&1 & hp=$!
    sleep 0.5
    printf '%-22s ' "$v"; ip netns exec $R env $env "$work/prof" "$work/$obj.o" attach "$SECS" rc$T rs$T | tail -1
    kill $hp; wait $hp 2>/dev/null || true
  done
done
