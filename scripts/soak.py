#!/usr/bin/env python3
"""make soak: srcip trace --check on every node of a lab under pod/Service churn and steady connection load.

A 2-node lab (iptables mode unless SOAK_PROXY_MODE=nftables) gets `srcip trace --check --format jsonl` in every node;
then, for SOAK_SECONDS (default 600): `srcip lab apply/scale/delete` churn every SOAK_CHURN_INTERVAL seconds (default 2)
and a load generator in the lab's client namespace opening SOAK_RATE connections/s (default 250) to the NodePorts of
both nodes. Every 5 s each trace's RSS and open file descriptors are sampled. At the end the traces are stopped with
SIGINT; their exit summaries give every lost record. Exits 1 if a trace did not exit 0, lost records, or the load
fell short of 200 connections/s. Traffic goes only to addresses inside the lab's namespaces. Run as root.
"""
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import threading
import time

MANIFEST = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: stable}
spec:
  replicas: 2
  selector: {matchLabels: {app: stable}}
  template:
    metadata: {labels: {app: stable}}
    spec: {containers: [{name: web, image: echo, ports: [{containerPort: 8080}]}]}
---
apiVersion: v1
kind: Service
metadata: {name: stable}
spec:
  type: NodePort
  selector: {app: stable}
  ports: [{port: 80, targetPort: 8080, nodePort: 30180}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: churn}
spec:
  replicas: 1
  selector: {matchLabels: {app: churn}}
  template:
    metadata: {labels: {app: churn}}
    spec: {containers: [{name: web, image: echo, ports: [{containerPort: 8080}]}]}
"""

CHURN_SERVICE = """
apiVersion: v1
kind: Service
metadata: {name: churn}
spec:
  type: NodePort
  selector: {app: churn}
  ports: [{port: 80, targetPort: 8080, nodePort: 30181}]
"""

NODE_IPS = ["192.168.10.11", "192.168.10.12"]
PORTS = [30180, 30181]


def load(rate, seconds, stats_path):
    """The load generator (runs in the client namespace): `rate` HTTP connections/s over 8 threads."""
    threads, lock = 8, threading.Lock()
    stats = {"ok": 0, "refused": 0, "timeout": 0, "error": 0}
    stop = time.monotonic() + seconds

    def worker(i):
        interval, nxt = threads / rate, time.monotonic() + i / rate
        n = 0
        while nxt < stop:
            delay = nxt - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            nxt += interval
            # k numbers every connection of the run: 1 in 8 goes to the churned Service, alternately on each node.
            k = n * threads + i
            churn = k % 8 == 7
            ip, port = NODE_IPS[(k // 8) % 2 if churn else k % 2], PORTS[1 if churn else 0]
            n += 1
            kind = "ok"
            try:
                with socket.create_connection((ip, port), timeout=1) as s:
                    s.sendall(b"GET / HTTP/1.0\r\nHost: soak\r\n\r\n")
                    while s.recv(4096):
                        pass
            except ConnectionRefusedError:
                kind = "refused"
            except socket.timeout:
                kind = "timeout"
            except OSError:
                kind = "error"
            with lock:
                stats[kind] += 1

    started = time.monotonic()
    pool = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    stats["seconds"] = time.monotonic() - started
    with open(stats_path, "w") as f:
        json.dump(stats, f)


def run(srcip, *args, check=True):
    r = subprocess.run([srcip, *args], capture_output=True, text=True)
    if check and r.returncode != 0:
        raise RuntimeError(f"srcip {' '.join(args)} failed ({r.returncode}): {r.stderr.strip()}")
    return r


def sample(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            rss = int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))
        return rss, len(os.listdir(f"/proc/{pid}/fd"))
    except (OSError, AttributeError):
        return None


def summary(stderr):
    """Losses from a trace's exit summary (TraceSummary.line) and the --check JSON line."""
    out = {}
    patterns = {"written": r"(\d+) flows written", "received": r"\((\d+) BPF records received\)",
                "ringbuf_lost": r"ring buffer full: (\d+) lost", "consumer_dropped": r"consumer buffer full: (\d+) dropped",
                "bpf_evicted": r"(\d+) evicted \(map full\)", "bpf_not_tracked": r"(\d+) not tracked \(map full\)",
                "correlator_evicted": r"correlator: (\d+) evicted", "unmatched_replies": r"(\d+) replies without request",
                "as_documented": r'"flows_as_documented":(\d+)', "not_as_documented": r'"flows_not_as_documented":(\d+)',
                "undecided": r'"flows_undecided":(\d+)'}
    for key, pattern in patterns.items():
        m = re.findall(pattern, stderr)
        out[key] = int(m[-1]) if m else None
    m = re.findall(r"interfaces: (\d+) at start, (\d+) attached later, (\d+) removed", stderr)
    out["interfaces"] = "/".join(m[-1]) if m else None
    m = re.findall(r"catalog: (\d+) refresh", stderr)
    out["catalog_refreshes"] = int(m[-1]) if m else None
    return out


def mismatches(path, met=False):
    """Flows --check counts as not documented (met=False) or not checkable (met=None: verdict and expectation
    known, the record says it cannot be checked), grouped by Service, verdict, expectation and reason."""
    groups = {}
    with open(path) as f:
        for line in f:
            r = json.loads(line)
            if r.get("kind") == "flow" and r.get("expected") and r["verdict"] != "unknown" and r.get("expectation_met") is met:
                key = f"{(r.get('service') or {}).get('name')}:{r['dst_port']} {r['verdict']} (expected {r['expected']}): {r.get('reason', '')}"
                groups[key] = groups.get(key, 0) + 1
    return sorted(groups.items(), key=lambda kv: -kv[1])


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "load":
        load(float(sys.argv[2]), float(sys.argv[3]), sys.argv[4])
        return 0
    srcip = os.path.abspath(os.environ.get("SOAK_SRCIP", ".build/debug/srcip"))
    seconds = int(os.environ.get("SOAK_SECONDS", "600"))
    rate = float(os.environ.get("SOAK_RATE", "250"))
    churn_every = float(os.environ.get("SOAK_CHURN_INTERVAL", "2"))
    mode = os.environ.get("SOAK_PROXY_MODE", "iptables")
    lab = f"soak{os.getpid() % 10000}"
    work = f"/tmp/srcip-soak-{lab}"
    os.makedirs(work, exist_ok=True)
    for name, text in (("manifest.yaml", MANIFEST), ("churn-svc.yaml", CHURN_SERVICE)):
        with open(f"{work}/{name}", "w") as f:
            f.write(text)
    traces, loadgen, failures = {}, None, []
    print(f"soak: lab {lab} ({mode}), {seconds} s, {rate:.0f} connections/s, churn every {churn_every} s; files in {work}")
    try:
        run(srcip, "lab", "up", "--name", lab, "--nodes", "2", "--proxy-mode", mode, "--manifest", f"{work}/manifest.yaml")
        for node in ("node1", "node2"):
            err = open(f"{work}/trace-{node}.err", "w")
            traces[node] = (subprocess.Popen(
                ["ip", "netns", "exec", f"srcip-{lab}-{node}", srcip, "trace", "--check", "--verbose", "--format", "jsonl",
                 "--output", f"{work}/trace-{node}.jsonl", "--force", "--node", node, "--node-ips", ",".join(NODE_IPS)],
                stdout=subprocess.DEVNULL, stderr=err), err)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not all("tracing " in open(f"{work}/trace-{n}.err").read() for n in traces):
            time.sleep(0.1)
        loadgen = subprocess.Popen(["ip", "netns", "exec", f"srcip-{lab}-ext", sys.executable, os.path.abspath(__file__),
                                    "load", str(rate), str(seconds), f"{work}/load.json"])
        samples = {n: [] for n in traces}
        ops, churned, start = 0, {"scale": 0, "service": 0, "pod": 0}, time.monotonic()
        next_churn, next_sample, pods = start, start, []
        while time.monotonic() - start < seconds:
            now = time.monotonic()
            if now >= next_sample:
                for n, (p, _) in traces.items():
                    s = sample(p.pid)
                    if s:
                        samples[n].append(s)
                next_sample += 5
            if now >= next_churn:
                step = ops % 6
                with open(f"{work}/churn.log", "a") as log:
                    log.write(f"{time.time():.3f} step {step}\n")
                if step in (0, 3):
                    run(srcip, "lab", "scale", "--name", lab, "churn", str(random.randint(0, 3)))
                    churned["scale"] += 1
                elif step == 1:
                    run(srcip, "lab", "apply", "--name", lab, f"{work}/churn-svc.yaml")
                    churned["service"] += 1
                elif step == 4:
                    run(srcip, "lab", "delete", "--name", lab, "svc/churn")
                    churned["service"] += 1
                elif step == 2:
                    name = f"tmp-{ops}"
                    with open(f"{work}/pod.yaml", "w") as f:
                        f.write(f"apiVersion: v1\nkind: Pod\nmetadata: {{name: {name}, labels: {{app: tmp}}}}\n"
                                f"spec: {{nodeName: node{random.randint(1, 2)}, containers: [{{name: c, image: busybox}}]}}\n")
                    run(srcip, "lab", "apply", "--name", lab, f"{work}/pod.yaml")
                    pods.append(name)
                    churned["pod"] += 1
                elif pods:
                    run(srcip, "lab", "delete", "--name", lab, f"pod/{pods.pop(0)}")
                    churned["pod"] += 1
                ops += 1
                next_churn += churn_every
            time.sleep(0.05)
        loadgen.wait(timeout=60)
        loadgen = None
        time.sleep(2)
        for n, (p, _) in traces.items():
            s = sample(p.pid)
            if s:
                samples[n].append(s)
        results = {}
        for n, (p, err) in traces.items():
            p.send_signal(signal.SIGINT)
            status = p.wait(timeout=60)
            err.close()
            results[n] = (status, summary(open(f"{work}/trace-{n}.err").read()))
        traces = {}
        stats = json.load(open(f"{work}/load.json"))
        achieved = stats["ok"] / stats["seconds"] if stats["seconds"] else 0
        total = sum(v for k, v in stats.items() if k != "seconds")
        print(f"load: {total} connections in {stats['seconds']:.0f} s = {total / stats['seconds']:.0f}/s attempted, "
              f"{achieved:.0f}/s answered; refused {stats['refused']}, timeout {stats['timeout']}, error {stats['error']}")
        print(f"churn: {ops} changes ({churned['scale']} scales, {churned['service']} Service adds/deletes, "
              f"{churned['pod']} pod adds/deletes)")
        for n in sorted(results):
            status, s = results[n]
            rss = [x[0] for x in samples[n]]
            fds = [x[1] for x in samples[n]]
            lost = sum(s[k] or 0 for k in ("ringbuf_lost", "consumer_dropped", "bpf_evicted", "bpf_not_tracked", "correlator_evicted"))
            print(f"{n}: exit {status}; RSS start/end/peak {rss[0] // 1024}/{rss[-1] // 1024}/{max(rss) // 1024} MB; "
                  f"fds start/end/peak {fds[0]}/{fds[-1]}/{max(fds)}; {s['written']} flows written, "
                  f"{s['received']} BPF records; lost: ring buffer {s['ringbuf_lost']}, consumer {s['consumer_dropped']}, "
                  f"BPF map evicted {s['bpf_evicted']}, not tracked {s['bpf_not_tracked']}, correlator {s['correlator_evicted']}; "
                  f"replies without request {s['unmatched_replies']}; check: {s['as_documented']} as documented, "
                  f"{s['not_as_documented']} not, {s['undecided']} not checkable; interfaces (start/later/removed) {s['interfaces']}; "
                  f"catalog refreshes {s['catalog_refreshes']}")
            print(f"  {n} RSS MB per minute: {' '.join(str(x // 1024) for x in rss[::12])}; fds per minute: "
                  f"{' '.join(str(x) for x in fds[::12])}")
            for key, count in mismatches(f"{work}/trace-{n}.jsonl"):
                print(f"  {n} not as documented: {count} × {key}")
            for key, count in mismatches(f"{work}/trace-{n}.jsonl", met=None):
                print(f"  {n} not checkable: {count} × {key}")
            if status != 0:
                failures.append(f"{n}: trace exited {status}")
            if lost:
                failures.append(f"{n}: {lost} records lost")
        if total / stats["seconds"] < 200:
            failures.append(f"load reached only {total / stats['seconds']:.0f} connections/s")
    finally:
        if loadgen:
            loadgen.kill()
        for p, err in traces.values():
            p.kill()
            p.wait()
        run(srcip, "lab", "down", "--name", lab, check=False)
    for f in failures:
        print(f"soak: FAIL {f}", file=sys.stderr)
    print("soak: " + ("FAIL (files kept in " + work + ")" if failures else "OK"))
    if not failures:
        subprocess.run(["rm", "-rf", work])
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
