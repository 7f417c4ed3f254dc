#!/usr/bin/env bash
# TUI add-probe prompt under tmux: Tab completes tracepoint and kernel function names; `a` + "uprobe:BINARY:func" attaches
# a uprobe whose hit count equals the test program's own call count; adding the uretprobe makes the
# selected probe show a latency histogram with that many calls.
set -u
TEST_NAME=tui-probe-add
. "$(dirname "$0")/lib.sh"

N=7
tui_require
require_cmd cc
[ -e /sys/bus/event_source/devices/uprobe/type ] || [ -e /sys/kernel/tracing/uprobe_events ] ||
	skip "kernel built without uprobes"
cleanup_init
make_tmpdir
T=$TMP/pl-target
cc -O2 -g -o "$T" "$PL_ROOT/tests/vm/target.c" || fail "building tests/vm/target.c"
netns_pair 220
tui_start 160 45 -n "$NS_A" -i "$IF_A" --interval 0.5

tui_keys 2
tui_wait "tc-ingress"

# completion: the engine knows tracepoint names from tracefs
tui_keys a
tui_wait "add probe"
tui_type "tracepoint:sock:inet_sock_set_st"
tui_keys Tab
tui_wait "tracepoint:sock:inet_sock_set_state"
tui_keys C-u
# kernel functions (available_filter_functions or kallsyms), even where kprobes are missing
tui_type "kprobe:tcp_v4_rc"
tui_keys Tab
tui_wait "kprobe:tcp_v4_rcv"
tui_keys Escape
tui_wait_gone "add probe"

U="uprobe:$T:pl_target_func"
R="uretprobe:$T:pl_target_func"
tui_keys a
tui_wait "add probe"
tui_type "$U"
tui_keys Enter
tui_wait "added $U"
tui_keys f
tui_type "pl_target_func"
tui_keys Enter
tui_wait_re "^uprobe +[^ ]+ +attached"

for _ in $(seq "$N"); do "$T" call 1 || fail "the test program failed"; done
# HITS, the sixth column of the probe's row (below 1000 a whole number)
hits() { tui_cap | awk -v k="$1" '$1 == k && $3 == "attached" { print $6; exit }'; }
hits_are() { [ "$(hits uprobe)" = "$1" ]; }
wait_for 5 hits_are "$N"
h=$(hits uprobe)
[ "$h" = "$N" ] || { tui_cap >&2; fail "uprobe hits: expected $N, got '$h'"; }

tui_keys a
tui_wait "add probe"
tui_type "$R"
tui_keys Enter
tui_wait "added $R"
tui_wait_re "^uretprobe +[^ ]+ +attached"
for _ in $(seq "$N"); do "$T" call 1 || fail "the test program failed"; done
# select the uretprobe row (the filter leaves the two rows, the uprobe first)
tui_keys Down
tui_wait "latency of $R: $N calls" 5
h=$(hits uprobe)
[ "$h" = "$((2 * N))" ] || { tui_cap >&2; fail "uprobe hits: expected $((2 * N)), got '$h'"; }
tui_cap | grep -qE '^ by process: +pid [0-9]+: 1 ' || { tui_cap >&2; fail "no per-process line"; }
tui_cap >"$TMP/screen"

[ -n "${KEEP_SCREEN:-}" ] && cp "$TMP/screen" "$KEEP_SCREEN"
tui_quit
log "ok ($N hits, histogram of $N calls)"
exit 0
