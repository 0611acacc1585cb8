#!/bin/bash
# Where srcip's programs spend their time, by source line: samples every CPU with perf (cpu-clock: a VM has no PMU)
# for SECONDS while srcip's tc programs are attached (e.g. under `scripts/bpfprof/profile.sh 1 30 full &`), then
# maps each sample inside a program to its source line through the programs' jited_line_info (lines.c).
# Usage (root): scripts/bpfprof/perf-lines.sh [SECONDS=10] [TOP=30]
set -euo pipefail
secs=${1:-10}; top=${2:-30}
here=$(cd "$(dirname "$0")" && pwd); work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
gcc -O1 -o "$work/lines" "$here/lines.c" -lbpf
ids=$(bpftool prog show | grep -E "name srcip_(ingress|egress)_(ct|fp) " | cut -d: -f1)
[ -n "$ids" ] || { echo "no srcip program is loaded" >&2; exit 1; }
for id in $ids; do "$work/lines" "$id"; done > "$work/lines.txt"
perf record -q -e cpu-clock -F 4999 -a -o "$work/perf.data" -- sleep "$secs" 2>/dev/null
perf script -i "$work/perf.data" -F ip,sym 2>/dev/null | grep "bpf_prog_" | awk '{print $1}' > "$work/ips.txt"
python3 - "$work/lines.txt" "$work/ips.txt" "$top" <<'PY'
import bisect, collections, sys
ents = []
for l in open(sys.argv[1]):
    a, rest = l.rstrip("\n").split(" ", 1)
    loc, _, src = rest.partition("\t")
    ents.append((int(a, 16), loc, src.strip()[:80]))
ents.sort()
addrs = [e[0] for e in ents]
c = collections.Counter(); n = other = 0
for l in open(sys.argv[2]):
    ip = int(l.split()[0], 16)
    i = bisect.bisect_right(addrs, ip) - 1
    if i < 0 or ip - addrs[i] > 400:
        other += 1
        continue
    c[(ents[i][1], ents[i][2])] += 1; n += 1
print(f"samples in srcip programs' own code: {n} (in other BPF code or unmapped: {other})")
for (loc, src), v in c.most_common(int(sys.argv[3])):
    print(f"{v:5d} {100 * v / max(n, 1):5.1f}%  {loc:24s} {src}")
PY
