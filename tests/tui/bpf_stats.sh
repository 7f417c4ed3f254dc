#!/usr/bin/env bash
# BPF run-time statistics are held only while asked for: the Probes pane on screen, or --bpf-stats.
#
# Statistics are global (every BPF program on the host pays for them while anyone holds them),
# and another pktlens on the machine may hold them, so the run counts alone prove nothing here:
# the test looks at the fds of this pktlens (bpf_enable_stats gives an anon inode named
# "bpf-stats") and at what it says (the Probes pane's info line, JSON bpf_stats.on).
set -u
TEST_NAME=tui-bpf-stats
. "$(dirname "$0")/lib.sh"

tui_require
cleanup_init
make_tmpdir
netns_pair 219

# holds_stats PID: the process holds a BPF run-time statistics fd.
holds_stats() {
	local l
	for l in /proc/"$1"/fd/*; do
		[ "$(readlink "$l" 2>/dev/null)" = "anon_inode:bpf-stats" ] && return 0
	done
	return 1
}
no_stats() { ! holds_stats "$1"; }

tui_start 120 40 -n "$NS_A" -i "$IF_A" --interval 0.5 --no-config
tui_wait "Flows" 20
sh_pid=$(tmux -L "$TUI_SOCK" display -p -t main '#{pane_pid}')
pl_pid=
find_pl() {
	local p
	for p in $(ps --ppid "$sh_pid" -o pid=); do
		[ "$(cat "/proc/$p/comm" 2>/dev/null)" = pktlens ] && pl_pid=$p && return 0
	done
	return 1
}
wait_for 10 find_pl || fail "no pktlens under the tmux shell"

# Flows on screen: nothing held (wait a couple of refreshes first).
sleep 1.5
holds_stats "$pl_pid" && fail "BPF stats held while the Flows pane is shown"

tui_keys 2
tui_wait "tc-ingress"
wait_for 5 holds_stats "$pl_pid" || fail "BPF stats not held while the Probes pane is shown"
tui_wait "BPF stats on" 5

tui_keys 1
wait_for 5 no_stats "$pl_pid" || fail "BPF stats still held after leaving the Probes pane"
tui_keys 2
wait_for 5 holds_stats "$pl_pid" || fail "BPF stats not held again on the Probes pane"
tui_quit

# Headless: off unless --bpf-stats, and the JSON says which.
for want in off on; do
	args=(-n "$NS_A" -i "$IF_A" --json --interval 0.5 --duration 60 --probes tc)
	[ "$want" = on ] && args+=(--bpf-stats)
	pktlens_start "$TMP/pl-$want.json" "${args[@]}"
	wait_for 20 eval '[ "$(json_count "$TMP/pl-$want.json")" -ge 2 ]' ||
		fail "pktlens ($want) wrote no JSON: $(head -c 300 "$TMP/pl-$want.json.err")"
	if [ "$want" = on ]; then
		holds_stats "$PL_PID" || fail "--bpf-stats: no stats fd held"
	else
		holds_stats "$PL_PID" && fail "BPF stats held without --bpf-stats"
	fi
	got=$(json_last "$TMP/pl-$want.json" | json_get 'j["bpf_stats"]["on"]')
	[ "$got" = "$([ "$want" = on ] && echo True || echo False)" ] ||
		fail "JSON bpf_stats.on is $got with stats $want"
	pktlens_stop INT 30 || fail "pktlens did not stop"
done
log "ok (held only on the Probes pane and with --bpf-stats)"
exit 0
