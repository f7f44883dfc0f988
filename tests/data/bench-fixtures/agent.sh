#!/bin/sh
# A tiny agent for tests/bench.rs, driven by `metaclaw bench run --agent command`:
#   agent.sh {session} {message_file} {workspace} {base_url} {model}
# It logs each call to $BENCH_LOG, sends one chat turn through the proxy (so the engine records
# it), then acts on markers in the question: [write FILE], [answer A], [answer boxed B], [slow],
# [crash], and [block] (waits while the file $BENCH_BLOCK exists, after touching $BENCH_BLOCK.reached).
# $BENCH_EXTRA is added to the text sent upstream (the stand-in's judge and evolver directives).
session="$1"; msg_file="$2"; ws="$3"; base="$4"; model="$5"
msg=$(cat "$msg_file")
tag=$(basename "$msg_file" .txt)
echo "$tag" >>"$BENCH_LOG"
curl -sS -m 20 "$base/chat/completions" -H 'content-type: application/json' -H "X-Session-Id: $session" \
  -d "{\"model\":\"$model\",\"messages\":[{\"role\":\"user\",\"content\":\"round $tag $BENCH_EXTRA\"}]}" >/dev/null || exit 7
case "$msg" in *"[block]"*)
  if [ -e "$BENCH_BLOCK" ]; then
    touch "$BENCH_BLOCK.reached"
    while [ -e "$BENCH_BLOCK" ]; do sleep 0.1; done
  fi ;;
esac
case "$msg" in *"[slow]"*) sleep 30 ;; esac
case "$msg" in *"[crash]"*) echo "simulated crash" >&2; exit 3 ;; esac
case "$msg" in *"[write done.txt]"*) echo ok >"$ws/done.txt" ;; esac
case "$msg" in *"[write report_1.md]"*) echo "# Report" >"$ws/report_1.md" ;; esac
case "$msg" in
  *"[answer A]"*) printf '%s\n' 'I think \bbox{A}' ;;
  *"[answer boxed B]"*) printf '%s\n' 'It is \boxed{b}' ;;
  *) echo done ;;
esac
