#!/usr/bin/env bash
# pktlens leaves no tc filter or XDP program behind after kill -9 + restart, any signal, a crash or a
# reader that went away; never touches foreign filters, qdiscs holding them or XDP programs; decides
# which pktlens is alive by its lock, not its name; drops privileges after attaching; and fails with
# one clear stderr line on bad input.
set -u
TEST_NAME=lifecycle
. "$(dirname "$0")/../lib/netns.sh"

# Classic tc filters (clsact + cls_bpf) outlive a crash, so this is where cleanup and ownership
# matter; tcx links die with their process (tests/e2e/coexist.sh covers both ways).
export PKTLENS_TC=classic

# A foreign BPF filter the test owns (cls_matchall may be missing); pktlens must leave it as it was.
FOREIGN_PREF=49152
ERRORS=0

check() {
	local what=$1
	shift
	if "$@" >/dev/null; then
		log "ok: $what"
	else
		log "NOT OK: $what"
		ERRORS=$((ERRORS + 1))
	fi
}

# bpf_filters NS IF DIR: BPF tc filters on one hook other than the test's own (one line each).
bpf_filters() {
	ip netns exec "$1" tc filter show dev "$2" "$3" 2>/dev/null |
		grep -E '^filter .* bpf .*handle' | grep -v "pref $FOREIGN_PREF " || true
}

no_bpf_filters() {
	[ -z "$(bpf_filters "$1" "$2" ingress)$(bpf_filters "$1" "$2" egress)" ]
}

has_bpf_filter() {
	[ -n "$(bpf_filters "$1" "$2" "$3")" ]
}

one_bpf_filter_each() {
	[ "$(bpf_filters "$1" "$2" ingress | wc -l)" -eq 1 ] &&
		[ "$(bpf_filters "$1" "$2" egress | wc -l)" -eq 1 ]
}

# xdp_prog_id NS IF: id of the XDP program on IF, empty if none.
xdp_prog_id() {
	ip -n "$1" -d link show dev "$2" 2>/dev/null | sed -nE 's/.*prog\/xdp id ([0-9]+).*/\1/p' | head -n 1
}

no_xdp() {
	[ -z "$(xdp_prog_id "$1" "$2")" ]
}

# bpftool_net_clean NS: bpftool sees no XDP and no tc BPF program in the namespace.
bpftool_net_clean() {
	local out
	out=$(ip netns exec "$1" bpftool -j net list 2>/dev/null) || return 0
	"$PYTHON" -c '
import json, sys
j = json.loads(sys.argv[1])
j = j[0] if isinstance(j, list) and j else j
tc = [t for t in j.get("tc", []) if "foreign" not in t.get("name", "")]
sys.exit(1 if (j.get("xdp") or tc) else 0)
' "$out"
}

foreign_filters() {
	local dir
	for dir in ingress egress; do
		ip netns exec "$NS_A" tc filter show dev "$IF_A" "$dir" pref "$FOREIGN_PREF" | sed "s/^/$dir: /"
	done
}

foreign_unchanged() {
	[ "$(foreign_filters)" = "$FOREIGN_BASELINE" ] &&
		ip netns exec "$NS_A" tc qdisc show dev "$IF_A" | grep -q clsact
}

# leftovers_none NS IF: nothing of pktlens' remains on the interface.
leftovers_none() {
	no_bpf_filters "$1" "$2" && no_xdp "$1" "$2" && bpftool_net_clean "$1"
}

# run_until_attached LABEL ARGS...: start pktlens and wait until its tc-ingress probe is attached.
run_until_attached() {
	local label=$1
	shift
	pktlens_start "$TMP/$label.json" --json --interval 1 "$@"
	pktlens_wait_attached "$TMP/$label.json" tc-ingress "${WAIT_IF:-$IF_A}" 20 || {
		log "pktlens ($label) never reported tc-ingress attached; stderr:"
		cat "$TMP/$label.json.err" >&2
		return 1
	}
}

# pktlens_supports_xdp: the --probes list accepts XDP on this kernel.
xdp_probes_arg() {
	local list=${PKTLENS_XDP_PROBES:-xdp,tc-ingress,tc-egress}
	timeout 20 "$PKTLENS" -n "$NS_A" -i "$IF_A" --probes "$list" --list-probes >"$TMP/list.out" 2>&1 ||
		return 1
	grep -Eiq 'xdp' "$TMP/list.out" || return 1
	printf '%s' "$list"
}

test_crash_and_restart() {
	local probes=() xdp_list
	if xdp_list=$(xdp_probes_arg); then
		probes=(--probes "$xdp_list")
	else
		log "XDP probe not accepted by --probes; crash test uses the default probes: $(head -n 3 "$TMP/list.out")"
	fi
	run_until_attached crash -n "$NS_A" -i "$IF_A" --duration 60 "${probes[@]}" || {
		ERRORS=$((ERRORS + 1))
		return
	}
	check "tc ingress filter attached while running" has_bpf_filter "$NS_A" "$IF_A" ingress
	check "tc egress filter attached while running" has_bpf_filter "$NS_A" "$IF_A" egress
	if [ ${#probes[@]} -gt 0 ]; then
		sleep 1.5
		if [ "$(probe_state "$TMP/crash.json" xdp "$IF_A")" = attached ]; then
			check "XDP program attached while running" test -n "$(xdp_prog_id "$NS_A" "$IF_A")"
		else
			log "XDP probe state: $(probe_state "$TMP/crash.json" xdp "$IF_A")"
		fi
	fi
	kill -KILL "$PL_PID"
	wait "$PL_PID" 2>/dev/null
	if has_bpf_filter "$NS_A" "$IF_A" ingress; then
		log "after kill -9: tc filters of the dead pktlens remain (expected: netlink tc survives a crash)"
	else
		log "after kill -9: no tc filter remains"
	fi
	check "after kill -9: no XDP program (bpf_link dies with the process)" no_xdp "$NS_A" "$IF_A"
	check "after kill -9: foreign filters and qdisc untouched" foreign_unchanged

	# --duration long enough that a loaded host still checks the filters before it ends
	run_until_attached restart -n "$NS_A" -i "$IF_A" --duration 10 || {
		ERRORS=$((ERRORS + 1))
		return
	}
	check "restart: stale filters replaced, exactly one BPF filter per direction" \
		one_bpf_filter_each "$NS_A" "$IF_A"
	wait_pid_exit "$PL_PID" 30 || log "pktlens --duration 10 still running after 30 s"
	wait "$PL_PID"
	check "restart: --duration run exits 0" test $? -eq 0
	check "restart: final JSON object printed" json_last "$TMP/restart.json"
	check "restart: no tc filter, XDP program or bpftool net entry remains" leftovers_none "$NS_A" "$IF_A"
	check "restart: foreign filters and qdisc untouched" foreign_unchanged
}

test_signals() {
	local sig before
	for sig in INT TERM HUP; do
		run_until_attached "sig$sig" -n "$NS_A" -i "$IF_A" --duration 60 || {
			ERRORS=$((ERRORS + 1))
			continue
		}
		before=$(json_count "$TMP/sig$sig.json")
		pktlens_stop "$sig" 10
		check "SIG$sig: pktlens exits within 10 s" test "$PL_RC" -ne 124
		if [ "$sig" != HUP ]; then
			check "SIG$sig: exit status 0 (got $PL_RC)" test "$PL_RC" -eq 0
			check "SIG$sig: a last JSON object on exit" test "$(json_count "$TMP/sig$sig.json")" -gt "$before"
		fi
		check "SIG$sig: nothing left attached" leftovers_none "$NS_A" "$IF_A"
		check "SIG$sig: foreign filters and qdisc untouched" foreign_unchanged
	done
}

# On an interface without a clsact qdisc (vethB), pktlens still cleans up its filters.
test_no_qdisc() {
	pktlens_start "$TMP/noqdisc.json" -n "$NS_B" -i "$IF_B" --json --interval 1 --duration 60
	if ! pktlens_wait_attached "$TMP/noqdisc.json" tc-ingress "$IF_B" 20; then
		log "pktlens on $IF_B never reported tc-ingress attached: $(cat "$TMP/noqdisc.json.err")"
		ERRORS=$((ERRORS + 1))
		return
	fi
	pktlens_stop TERM 10
	check "no pre-existing clsact: nothing left attached on $IF_B" leftovers_none "$NS_B" "$IF_B"
}

# build_foreign_progs: $TMP/foreign.o with a pass-all tc and XDP program the test owns.
build_foreign_progs() {
	cat >"$TMP/foreign.c" <<'EOF'
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
SEC("tc") int foreign_tc_pass(struct __sk_buff *skb) { return 0; }
SEC("xdp") int foreign_xdp(struct xdp_md *ctx) { return XDP_PASS; }
char LICENSE[] SEC("license") = "GPL";
EOF
	clang -O2 -g -target bpf -I"/usr/include/$(uname -m)-linux-gnu" -c "$TMP/foreign.c" \
		-o "$TMP/foreign.o" 2>"$TMP/clang.err" || fail "cannot build the foreign programs: $(cat "$TMP/clang.err")"
}

# A foreign XDP program on vethB must survive a pktlens run that asks for XDP there.
test_foreign_xdp() {
	local xdp_list id_before id_after
	xdp_list=$(xdp_probes_arg) || {
		log "XDP probe not available; foreign-XDP check not run"
		return
	}
	ip -n "$NS_B" link set dev "$IF_B" xdpgeneric obj "$TMP/foreign.o" sec xdp || {
		ERRORS=$((ERRORS + 1))
		return
	}
	cleanup_add_cmd "ip -n '$NS_B' link set dev '$IF_B' xdpgeneric off"
	id_before=$(xdp_prog_id "$NS_B" "$IF_B")
	timeout 20 "$PKTLENS" -n "$NS_B" -i "$IF_B" --probes "$xdp_list" --json --interval 1 --duration 2 \
		>"$TMP/fxdp.json" 2>"$TMP/fxdp.err"
	log "pktlens with a foreign XDP program: exit $?, stderr: $(head -n 2 "$TMP/fxdp.err")"
	id_after=$(xdp_prog_id "$NS_B" "$IF_B")
	check "foreign XDP program (id $id_before) still attached after pktlens (id now '$id_after')" \
		test "$id_before" = "$id_after"
	check "pktlens says why XDP did not attach (probe state or stderr)" \
		grep -Eiq 'xdp' "$TMP/fxdp.err" "$TMP/fxdp.json"
	check "foreign XDP: no tc filter left on $IF_B" no_bpf_filters "$NS_B" "$IF_B"
	ip -n "$NS_B" link set dev "$IF_B" xdpgeneric off
}

# Item 6 (issue 12): a reader that goes away (`| head -c 50`) ends the run: exit 0, nothing attached.
test_epipe() {
	local rc
	timeout 30 bash -c '"$1" -n "$2" -i "$3" --json --interval 0.2 2>"$4" | head -c 50 >/dev/null
		exit "${PIPESTATUS[0]}"' _ "$PKTLENS" "$NS_A" "$IF_A" "$TMP/epipe.err"
	rc=$?
	check "| head -c 50: pktlens ends by itself (exit $rc, 124 = still running after 30 s)" \
		test "$rc" -eq 0
	check "| head -c 50: no message for a reader that left ($(head -c 200 "$TMP/epipe.err"))" \
		test ! -s "$TMP/epipe.err"
	check "| head -c 50: nothing left attached" leftovers_none "$NS_A" "$IF_A"
	check "| head -c 50: foreign filters and qdisc untouched" foreign_unchanged
}

# Item 7 (issue 12): every default-fatal signal detaches everything, then pktlens dies of that signal
# (the parent sees why); faults take the crash path (no libbpf, prepared netlink messages).
test_fatal_signals() {
	local sig num
	for sig in QUIT USR1 USR2 ALRM XCPU VTALRM SEGV; do
		run_until_attached "fatal$sig" -n "$NS_A" -i "$IF_A" --duration 60 || {
			ERRORS=$((ERRORS + 1))
			continue
		}
		num=$(kill -l "$sig")
		pktlens_stop "$sig" 20
		check "SIG$sig: pktlens died of SIG$sig (status $PL_RC, want $((128 + num)))" \
			test "$PL_RC" -eq $((128 + num))
		check "SIG$sig: nothing left attached" leftovers_none "$NS_A" "$IF_A"
		check "SIG$sig: foreign filters and qdisc untouched" foreign_unchanged
	done
}

# Item 8 (issue 12): a clsact pktlens created stays when someone else added a filter to it meanwhile,
# on a clean exit and on the crash path; an empty one goes.
test_shared_qdisc() {
	local how
	for how in TERM SEGV; do
		pktlens_start "$TMP/shq$how.json" -n "$NS_B" -i "$IF_B" --json --interval 1 --duration 60
		pktlens_wait_attached "$TMP/shq$how.json" tc-ingress "$IF_B" 20 || {
			log "pktlens on $IF_B never attached: $(cat "$TMP/shq$how.json.err")"
			ERRORS=$((ERRORS + 1))
			return
		}
		ip netns exec "$NS_B" tc filter add dev "$IF_B" ingress pref "$FOREIGN_PREF" protocol all \
			bpf direct-action obj "$TMP/foreign.o" sec tc || fail "cannot add a filter on $IF_B"
		cleanup_add_cmd "ip netns exec '$NS_B' tc qdisc del dev '$IF_B' clsact"
		pktlens_stop "$how" 20
		check "$how: the filter added meanwhile survives pktlens' exit" \
			bash -c "ip netns exec '$NS_B' tc filter show dev '$IF_B' ingress pref $FOREIGN_PREF | grep -q foreign"
		check "$how: pktlens' own filters are gone" no_bpf_filters "$NS_B" "$IF_B"
		ip netns exec "$NS_B" tc qdisc del dev "$IF_B" clsact
	done
}

# udp_burst N PORT: N datagrams from A to B:PORT, one every 5 ms (B has no foreign filter that
# would end tc classification before pktlens' filter runs).
udp_burst() {
	ip netns exec "$NS_A" "$PYTHON" -c '
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(int(sys.argv[1])):
    s.sendto(b"pktlens-owner-test", (sys.argv[2], int(sys.argv[3])))
    time.sleep(0.005)
' "$1" "$ADDR_B" "$2"
}

# udp_rx FILE PORT: rx_packets of the UDP flow to local port PORT in the last JSON object of FILE.
udp_rx() {
	json_last "$1" | json_get "sum(f['rx_packets'] for f in j['flows'] if f['proto'] == 'udp' and f['local_port'] == $2)"
}

udp_rx_is() {
	[ "$(udp_rx "$1" "$2")" = "$3" ]
}

comm_is() {
	[ "$(cat "/proc/$1/comm" 2>/dev/null)" = "$2" ]
}

# Item 9 (issue 12): liveness is a lock held by the live instance, not the name "pktlens".
test_ownership() {
	local WAIT_IF=$IF_B
	# (a) a pktlens under another file name keeps its filters when the next pktlens starts
	mkdir -p "$TMP/bin"
	cp "$PKTLENS" "$TMP/bin/netlens"
	PKTLENS_SAVED=$PKTLENS
	PKTLENS=$TMP/bin/netlens
	run_until_attached renamed -n "$NS_B" -i "$IF_B" --duration 60 || {
		PKTLENS=$PKTLENS_SAVED
		ERRORS=$((ERRORS + 1))
		return
	}
	PKTLENS=$PKTLENS_SAVED
	local first=$PL_PID ids_before ids_after
	ids_before=$(bpf_filters "$NS_B" "$IF_B" ingress; bpf_filters "$NS_B" "$IF_B" egress)
	timeout 30 "$PKTLENS" -n "$NS_B" -i "$IF_B" --json --interval 1 --duration 2 \
		>"$TMP/second.json" 2>"$TMP/second.err"
	log "a second pktlens beside the renamed one: exit $?, stderr: $(head -n 2 "$TMP/second.err")"
	ids_after=$(bpf_filters "$NS_B" "$IF_B" ingress; bpf_filters "$NS_B" "$IF_B" egress)
	check "renamed pktlens: its filters are still in place after the next pktlens ran" \
		bash -c "grep -q 'tc_ingress_flow' <<<'$ids_before' && [ '$ids_before' = '$ids_after' ]"
	udp_burst 40 5301
	wait_for 10 udp_rx_is "$TMP/renamed.json" 5301 40
	check "renamed pktlens still counts: 40 UDP packets sent, $(udp_rx "$TMP/renamed.json" 5301) counted" \
		test "$(udp_rx "$TMP/renamed.json" 5301)" = 40
	PL_PID=$first
	pktlens_stop TERM 20

	# (b) a process that is merely called pktlens does not protect a dead pktlens' filters
	run_until_attached dead -n "$NS_B" -i "$IF_B" --duration 60 || {
		ERRORS=$((ERRORS + 1))
		return
	}
	kill -KILL "$PL_PID"
	wait "$PL_PID" 2>/dev/null
	mkdir -p "$TMP/decoy"
	cp "$(command -v sleep)" "$TMP/decoy/pktlens"
	bg_start "$TMP/decoy.log" ip netns exec "$NS_B" "$TMP/decoy/pktlens" 120
	wait_for 5 comm_is "$BG_PID" pktlens || log "the decoy is not called pktlens: $(cat "/proc/$BG_PID/comm")"
	run_until_attached afterdecoy -n "$NS_B" -i "$IF_B" --duration 60 || {
		log "with a process named pktlens running, a new pktlens did not attach"
		ERRORS=$((ERRORS + 1))
		return
	}
	check "a process named pktlens does not keep a dead pktlens' filters: one filter per direction" \
		one_bpf_filter_each "$NS_B" "$IF_B"
	pktlens_stop TERM 20
	kill "$BG_PID" 2>/dev/null
	check "ownership tests: nothing left attached" leftovers_none "$NS_B" "$IF_B"
}

# cap_mask NAMES...: the CapEff hex mask of these capability numbers.
cap_mask() {
	local m=0 c
	for c in "$@"; do
		m=$((m | (1 << c)))
	done
	printf '%016x' "$m"
}

# Item 10 (issue 12): after attaching, only the capabilities toggling needs, and no_new_privs.
test_privileges() {
	local WAIT_IF=$IF_B
	run_until_attached privs -n "$NS_B" -i "$IF_B" --duration 60 || {
		ERRORS=$((ERRORS + 1))
		return
	}
	local want eff nnp
	# CAP_DAC_READ_SEARCH 2, CAP_NET_ADMIN 12, CAP_SYS_PTRACE 19, CAP_PERFMON 38, CAP_BPF 39, and
	# CAP_SYS_ADMIN 21 where the kernel has uprobes (its uprobe PMU wants it; tests/tui/probe_add.sh
	# adds one after the drop)
	if [ -e /sys/bus/event_source/devices/uprobe/type ] || [ -e /sys/kernel/tracing/uprobe_events ]; then
		want=$(cap_mask 2 12 19 21 38 39)
	else
		want=$(cap_mask 2 12 19 38 39)
	fi
	eff=$(sed -n 's/^CapEff:\t//p' "/proc/$PL_PID/status")
	nnp=$(sed -n 's/^NoNewPrivs:\t//p' "/proc/$PL_PID/status")
	check "after attaching: CapEff $eff = $want (bpf, perfmon, net_admin, sys_ptrace, dac_read_search[, sys_admin])" \
		test "$eff" = "$want"
	check "after attaching: CapBnd has nothing more" \
		test "$(sed -n 's/^CapBnd:\t//p' "/proc/$PL_PID/status")" = "$want"
	check "after attaching: no_new_privs is set ($nnp)" test "$nnp" = 1
	# still counting exactly with fewer privileges
	udp_burst 25 5302
	wait_for 10 udp_rx_is "$TMP/privs.json" 5302 25
	check "with dropped privileges: 25 UDP packets sent, $(udp_rx "$TMP/privs.json" 5302) counted" \
		test "$(udp_rx "$TMP/privs.json" 5302)" = 25
	pktlens_stop TERM 20
	check "dropped privileges: clean exit (status $PL_RC)" test "$PL_RC" -eq 0
	check "dropped privileges: nothing left attached" leftovers_none "$NS_B" "$IF_B"
}

# in_tty CMD...: run CMD on a pseudo terminal (the TUI needs one); its output in $TMP/tty.out.
# The TUI writes its settings when it quits: into the test's folder, not the user's ~/.config.
in_tty() {
	local cmd
	printf -v cmd '%q ' "$@"
	XDG_CONFIG_HOME=$TMP/config timeout 30 script -qec "$cmd" /dev/null </dev/null \
		>"$TMP/tty.out" 2>&1
}

# Item 10 (issue 12) and item 14 (issue 20): files opened as root, theme lookup, /run/pktlens names.
test_files() {
	local ok
	echo "normal = red,default" >"$TMP/good.theme"
	ln -sf "$TMP/good.theme" "$TMP/link.theme"
	in_tty "$PKTLENS" -n "$NS_A" -i "$IF_A" --probes none --theme "$TMP/link.theme" --duration 1
	check "--theme through a symlink: refused ($(tr -d '\r' <"$TMP/tty.out" | head -n 1))" \
		grep -q 'symbolic link' "$TMP/tty.out"

	printf 's3cr3t-token = x,y\n' >"$TMP/secret"
	chmod 600 "$TMP/secret"
	SUDO_UID=65534 in_tty "$PKTLENS" -n "$NS_A" -i "$IF_A" --probes none --theme "$TMP/secret" --duration 1
	check "--theme on a file the sudo user could not read: an error ($(tr -d '\r' <"$TMP/tty.out" | head -n 1))" \
		grep -q "$TMP/secret:1" "$TMP/tty.out"
	check "--theme on a file the sudo user could not read: its contents are not echoed" \
		bash -c "! grep -q s3cr3t '$TMP/tty.out'"

	cp "$TMP/good.theme" "$TMP/nobody.theme"
	chown 65534 "$TMP/nobody.theme"
	in_tty "$PKTLENS" -n "$NS_A" -i "$IF_A" --probes none --theme "$TMP/nobody.theme" --duration 1
	check "--theme owned by another user: refused ($(tr -d '\r' <"$TMP/tty.out" | head -n 1))" \
		grep -q 'belongs to uid 65534' "$TMP/tty.out"

	# a bare name is a theme: a file of that name in the current directory is not read
	mkdir -p "$TMP/cwd/themes"
	cp "$TMP/good.theme" "$TMP/cwd/mytheme"
	cp "$TMP/good.theme" "$TMP/cwd/themes/evil.theme"
	(cd "$TMP/cwd" && in_tty "$PKTLENS" -n "$NS_A" -i "$IF_A" --probes none --theme mytheme --duration 1)
	check "--theme NAME with a file NAME in the current directory: the error names the path tried and ./NAME ($(tr -d '\r' <"$TMP/tty.out" | head -n 1))" \
		bash -c "grep -q 'looked for /[^ ]*/mytheme.theme' '$TMP/tty.out' && grep -q '\./mytheme' '$TMP/tty.out'"
	(cd "$TMP/cwd" && in_tty "$PKTLENS" -n "$NS_A" -i "$IF_A" --probes none --theme ./mytheme --duration 1)
	ok=$?
	check "--theme ./FILE loads the file in the current directory (exit $ok)" test "$ok" -eq 0
	# a pktlens without themes/ beside it does not fall back to ./themes
	cp "$PKTLENS" "$TMP/bin/pktlens-copy"
	(cd "$TMP/cwd" && in_tty "$TMP/bin/pktlens-copy" -n "$NS_A" -i "$IF_A" --probes none --theme evil --duration 1)
	check "no theme lookup in ./themes ($(tr -d '\r' <"$TMP/tty.out" | head -n 1))" \
		grep -q "no theme named 'evil'" "$TMP/tty.out"

	# PKTLENS_LOG through a symlink: refused, the target untouched
	echo "keep" >"$TMP/target"
	ln -sf "$TMP/target" "$TMP/log.link"
	PKTLENS_LOG=$TMP/log.link in_tty "$PKTLENS" -n "$NS_A" -i "$IF_A" --probes none --duration 1
	check "PKTLENS_LOG through a symlink: refused ($(tr -d '\r' <"$TMP/tty.out" | head -n 1))" \
		grep -q 'symbolic link' "$TMP/tty.out"
	check "PKTLENS_LOG through a symlink: the target is untouched" test "$(cat "$TMP/target")" = keep

	# /run/pktlens: only files named exactly as a pid are ever removed
	local odd
	for odd in "${PL_PREFIX}notes" "0000${$}" "${$}abc"; do
		: >"/run/pktlens/$odd"
		cleanup_add_cmd "rm -f '/run/pktlens/$odd'"
	done
	timeout 30 "$PKTLENS" -n "$NS_A" -i "$IF_A" --json --duration 1 >/dev/null 2>&1
	for odd in "${PL_PREFIX}notes" "0000${$}" "${$}abc"; do
		check "/run/pktlens/$odd (not a pid) is left alone" test -e "/run/pktlens/$odd"
		rm -f "/run/pktlens/$odd"
	done
	check "file tests: nothing left attached" leftovers_none "$NS_A" "$IF_A"
}

# expect_error LABEL ARGS...: pktlens must exit nonzero with exactly one non-empty stderr line.
expect_error() {
	local label=$1 rc lines
	shift
	timeout 20 "$@" </dev/null >"$TMP/err.out" 2>"$TMP/err.err"
	rc=$?
	lines=$(grep -c . "$TMP/err.err")
	check "$label: nonzero exit (got $rc), one stderr line (got $lines): $(head -n 3 "$TMP/err.err" | tr '\n' '|')" \
		test "$rc" -ne 0 -a "$rc" -ne 124 -a "$lines" -eq 1
}

test_errors() {
	expect_error "unknown interface" "$PKTLENS" -n "$NS_A" -i nosuch0 --json --duration 1
	expect_error "unknown interface after a good one" "$PKTLENS" -n "$NS_A" -i "$IF_A" -i nosuch0 \
		--json --duration 1
	check "failed start leaves nothing attached on $IF_A" leftovers_none "$NS_A" "$IF_A"
	expect_error "unknown namespace" "$PKTLENS" -n "${PL_PREFIX}nosuchns" -i "$IF_A" --json --duration 1
	local v
	for v in abc 0 -1 1x ''; do
		expect_error "--interval '$v'" "$PKTLENS" -n "$NS_A" -i "$IF_A" --json --interval "$v" --duration 1
	done
	expect_error "--duration abc" "$PKTLENS" -n "$NS_A" -i "$IF_A" --json --duration abc
	expect_error "unknown option --bogus" "$PKTLENS" --bogus
	expect_error "-i without a value" "$PKTLENS" --json -i
	check "bad options leave nothing attached on $IF_A" leftovers_none "$NS_A" "$IF_A"
	check "foreign filters and qdisc untouched by failed starts" foreign_unchanged

	if command -v setpriv >/dev/null; then
		expect_error "not root" setpriv --reuid=65534 --regid=65534 --clear-groups \
			"$PKTLENS" -i lo --json --duration 1
		check "not root: the message says what is missing" \
			grep -Eiq 'root|privilege|permission|capabilit|CAP_' "$TMP/err.err"
		expect_error "not root, with -n" setpriv --reuid=65534 --regid=65534 --clear-groups \
			"$PKTLENS" -n "$NS_A" -i "$IF_A" --json --duration 1
	fi
	timeout 10 "$PKTLENS" --help >"$TMP/help.out" 2>&1
	check "--help exits 0" test $? -eq 0
	check "--help documents --json and --probes" grep -q -- '--probes' "$TMP/help.out"
}

main() {
	require_root
	require_cmd ip tc bpftool clang script "$PYTHON"
	require_pktlens
	cleanup_init
	make_tmpdir
	netns_pair 202
	build_foreign_progs
	ip netns exec "$NS_A" tc qdisc add dev "$IF_A" clsact || fail "cannot add clsact to $IF_A"
	local dir
	for dir in ingress egress; do
		ip netns exec "$NS_A" tc filter add dev "$IF_A" "$dir" pref "$FOREIGN_PREF" protocol all \
			bpf direct-action obj "$TMP/foreign.o" sec tc || fail "cannot add the foreign $dir filter"
	done
	FOREIGN_BASELINE=$(foreign_filters)
	[ "$(grep -c 'foreign' <<<"$FOREIGN_BASELINE")" -eq 2 ] || fail "foreign filters not in place: $FOREIGN_BASELINE"

	# LIFECYCLE_ONLY="test_epipe test_files": run only these (while working on one of them)
	local t
	for t in ${LIFECYCLE_ONLY:-test_crash_and_restart test_signals test_epipe test_fatal_signals \
		test_ownership test_privileges test_files test_no_qdisc test_shared_qdisc test_foreign_xdp \
		test_errors}; do
		"$t"
	done

	[ "$ERRORS" -eq 0 ] || fail "$ERRORS checks failed"
	log "PASS"
}

main "$@"
