#!/usr/bin/env bash
# kprobe probes on this host match the kernel's abilities: without kprobes they are unsupported with
# "kernel built without kprobes", --list-probes says so, and an explicit kprobe fails with that sentence.
set -u
TEST_NAME=kprobe_host
. "$(dirname "$0")/../lib/common.sh"

tmp=
cleanup() { [ -n "$tmp" ] && rm -rf "$tmp"; }
trap cleanup EXIT

require_root
require_pktlens
tmp=$(mktemp -d /tmp/pl-kprobe.XXXXXX)

"$PKTLENS" --list-probes >"$tmp/list" 2>&1 || { cat "$tmp/list" >&2; fail "--list-probes failed"; }
line=$(grep '^kprobe:tcp_v4_rcv ' "$tmp/list") || fail "--list-probes has no kprobe:tcp_v4_rcv"
log "$line"
if [ -e /sys/bus/event_source/devices/kprobe/type ] || [ -e /sys/kernel/tracing/kprobe_events ]; then
	# A kernel with kprobes (the VM test covers them for real): listed as attachable.
	grep -q 'kprobes yes' "$tmp/list" || fail "--list-probes says no kprobes on a kernel with them"
	grep -qE '^kprobe:tcp_v4_rcv +kprobe +detached' <<<"$line" || fail "kprobe:tcp_v4_rcv not attachable"
	log "pass (kernel with kprobes)"
	exit 0
fi
grep -q 'kprobes no' "$tmp/list" || fail "--list-probes does not say 'kprobes no'"
grep -qE '^kprobe:tcp_v4_rcv +kprobe +unsupported +kernel built without kprobes' <<<"$line" ||
	fail "kprobe:tcp_v4_rcv is not 'unsupported: kernel built without kprobes'"

for spec in kprobe:__x64_sys_getppid kretprobe:__x64_sys_getppid; do
	"$PKTLENS" --json --duration 1 --probes "none,$spec" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	[ "$rc" -eq 1 ] || fail "$spec: exit $rc, expected 1"
	[ "$(wc -l <"$tmp/err")" -eq 1 ] || { cat "$tmp/err" >&2; fail "$spec: not one line on stderr"; }
	grep -q 'kernel built without kprobes' "$tmp/err" || { cat "$tmp/err" >&2; fail "$spec: wrong reason"; }
	log "ok: $spec -> $(cat "$tmp/err")"
done
# The rest keeps working: the default set with a kprobe left out runs.
"$PKTLENS" --json --duration 1 --interval 1 -i lo --probes default >"$tmp/out" 2>"$tmp/err" ||
	{ cat "$tmp/err" >&2; fail "the default probes fail on this kernel"; }
log "pass"
