#!/usr/bin/env bash
# pktlens leaves no tc filter or XDP program behind after kill -9 + restart or any signal, never
# touches foreign filters or XDP programs, and fails with one clear stderr line on bad input.
set -u
TEST_NAME=lifecycle
. "$(dirname "$0")/../lib/netns.sh"

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
	pktlens_wait_attached "$TMP/$label.json" tc-ingress "$IF_A" 20 || {
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

	run_until_attached restart -n "$NS_A" -i "$IF_A" --duration 3 || {
		ERRORS=$((ERRORS + 1))
		return
	}
	check "restart: stale filters replaced, exactly one BPF filter per direction" \
		one_bpf_filter_each "$NS_A" "$IF_A"
	wait_pid_exit "$PL_PID" 20 || log "pktlens --duration 3 still running after 20 s"
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
	require_cmd ip tc bpftool clang "$PYTHON"
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

	test_crash_and_restart
	test_signals
	test_no_qdisc
	test_foreign_xdp
	test_errors

	[ "$ERRORS" -eq 0 ] || fail "$ERRORS checks failed"
	log "PASS"
}

main "$@"
