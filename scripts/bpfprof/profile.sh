#!/bin/bash
# Issue 13's profile: variants of bpf/srcip.bpf.c with one piece removed (variants.py), each attached to both router
# interfaces of a throwaway NAT lab (client — router with DNAT + SNAT pool — server), bpf_stats on; alternating rounds.
# Loads: MODE=syn (default) a SYN flood with random sources (hping3, every packet a new flow); MODE=bulk one iperf3
# TCP transfer through the VIP (the established path: data one way, ACKs the other). Also BPF_PROG_TEST_RUN of each
# variant (not with MODE=bulk).
# Usage (root): [MODE=syn|bulk] [FP=1] [BPFPROF_BASE=FILE | BPFPROF_BASE_REV=GITREV] scripts/bpfprof/profile.sh
#               [ROUNDS=2] [SECONDS=3] [VARIANT...]
# Variant "base": FILE (srcip.bpf.c with today's headers) or the whole bpf/ tree and ABI header of GITREV.
set -euo pipefail
ROUNDS=${1:-2}; SECS=${2:-3}; shift $(( $# > 2 ? 2 : $# ))
MODE=${MODE:-syn}
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
if [ -n "${BPFPROF_BASE_REV:-}" ]; then
  mkdir "$work/baserev"
  git -C "$root" archive "$BPFPROF_BASE_REV" bpf Sources/CSrcipABI/include | tar -x -C "$work/baserev"
fi
names=("$@")
if [ ${#names[@]} -eq 0 ]; then
  if [ "$MODE" = bulk ]; then names=(full parse_only lookup_only); else
    names=(full parse_only no_ct_update_record no_update_record no_update no_record no_ct lru_1m hash_1m); fi
fi
for v in "${names[@]}"; do
  case $v in *+batch) continue;; esac
  src="$work/$v.bpf.c"; inc="$root/bpf"
  [ "$v" = base ] && [ -n "${BPFPROF_BASE_REV:-}" ] && { src="$work/baserev/bpf/srcip.bpf.c"; inc="$work/baserev/bpf"; }
  /opt/swift/usr/bin/clang -target bpf -O2 -g -Wall -Werror -I/usr/include/$(uname -m)-linux-gnu -I"$inc" -c "$src" -o "$work/$v.o"
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
ip netns exec $R iptables -t nat -A PREROUTING -d 10.77.9.9 -p tcp --dport 5201 -j DNAT --to-destination 10.77.2.2:5201
# An SNAT pool, not MASQUERADE: one address has ~64 k reply tuples, which the flood exhausts in a second.
ip netns exec $R iptables -t nat -A POSTROUTING -o rs$T -p tcp -j SNAT --to-source 10.77.10.1-10.77.10.64
if [ "$MODE" = bulk ]; then
  ip netns exec $S iperf3 -s -B 10.77.2.2 -p 5201 >/dev/null 2>&1 & srv=$!
  sleep 0.5
  echo "bulk TCP (iperf3 through the VIP), bpf_stats on (ns per run):"
  load=(iperf3 -c 10.77.9.9 -p 5201 -t 600)  # killed after the round
  flush=NOFLUSH=1
else
  ip netns exec $S python3 -c 'import socket, time
s = socket.socket(); s.bind(("10.77.2.2", 8080)); s.listen(1024)
while True: time.sleep(100)' & srv=$!
  echo "BPF_PROG_TEST_RUN, new flows (ns, repeat 1 each) and established (repeat 1e6):"
  for v in "${names[@]}"; do [[ $v == *+batch ]] && continue; echo "== $v"; "$work/prof" "$work/$v.o" testrun 30000 | head -3; done
  echo "SYN flood, random sources, bpf_stats on (ns per run):"
  load=(hping3 --flood -q -S --rand-source -p 80 10.77.9.9)
  flush=
fi
for r in $(seq "$ROUNDS"); do
  for v in "${names[@]}" nop; do
    obj=$v; env="$flush"; [ $v = nop ] && { obj=${names[0]}; env="$flush NOP=1"; }
    case $v in *+batch) obj=${v%+batch}; env="$env BATCH=1";; esac
    ip netns exec $C "${load[@]}" >/dev/null 2>&1 & ld=$!  # ip netns exec execs: $ld is the load's own pid
    sleep 0.5
    printf '%-22s ' "$v"; ip netns exec $R env $env "$work/prof" "$work/$obj.o" attach "$SECS" rc$T rs$T | tail -${PROF_LINES:-1}  # PROF_LINES=2: also the counters
    kill $ld 2>/dev/null || true; wait $ld 2>/dev/null || true
  done
done
