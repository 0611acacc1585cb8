#!/bin/sh
# Produces the real output of every command srcip's export tests check (MergeExportTests), in DIR:
#   demo.txt and trace-node{1,2,3}.jsonl (srcip lab demo --keep), raw.jsonl (trace --raw --format jsonl on node1 while
#   the client calls a NodePort), paths.jsonl (merge --format jsonl --check), paths.svg, paths.html, paths.png
#   (headless Chromium), then removes the lab. Writes DIR/done with each step's exit status when it is finished.
# usage: export-outputs.sh DIR LAB SRCIP
dir=$1 lab=$2 srcip=$3
status() { echo "$1 $2" >> "$dir/status"; }
trap '"$srcip" lab down --name "$lab" >> "$dir/down.txt" 2>&1; echo finished > "$dir/done"' EXIT
"$srcip" lab demo --name "$lab" --keep > "$dir/demo.txt" 2>&1 < /dev/null; status demo $?
cp /run/srcip/labs/"$lab"/trace-node*.jsonl "$dir/"
ip netns exec "srcip-$lab-node1" "$srcip" trace --raw --format jsonl --duration 3 --output "$dir/raw.jsonl" > "$dir/raw.txt" 2>&1 &
tracer=$!
# Send the request once the tracer is attached (it says "tracing …"; under load that takes seconds), at most 30 s.
i=0; while [ $i -lt 300 ] && ! grep -q '^srcip: tracing ' "$dir/raw.txt" 2>/dev/null; do sleep 0.1; i=$((i + 1)); done
"$srcip" lab exec --name "$lab" client -- "$srcip" lab get http://192.168.10.11:30080/ > "$dir/get.txt" 2>&1; status get $?
wait $tracer; status raw $?
"$srcip" merge --format jsonl --check -o "$dir/paths.jsonl" "$dir"/trace-node*.jsonl > "$dir/merge.txt" 2>&1; status merge $?
"$srcip" merge --format svg -o "$dir/paths.svg" "$dir"/trace-node*.jsonl > /dev/null 2>&1; status svg $?
"$srcip" merge --format html -o "$dir/paths.html" "$dir"/trace-node*.jsonl > /dev/null 2>&1; status html $?
chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1400,1200 --user-data-dir="$dir/chromium" \
  --screenshot="$dir/paths.png" "file://$dir/paths.html" > "$dir/chromium.txt" 2>&1 < /dev/null; status chromium $?
