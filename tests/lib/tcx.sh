# tcx helpers for pktlens tests: build tests/lib/tcxtool.c, list the programs on an interface's tc
# hooks whichever way they attach (tcx links and classic cls_bpf filters).
# shellcheck shell=bash

# build_tcxtool: $TMP/tcxtool (needs TMP from make_tmpdir).
build_tcxtool() {
	TCXTOOL=$TMP/tcxtool
	cc -O2 -Wall -o "$TCXTOOL" "$PL_ROOT/tests/lib/tcxtool.c" -lbpf 2>"$TMP/tcxtool.err" ||
		fail "cannot build tests/lib/tcxtool.c: $(cat "$TMP/tcxtool.err")"
}

# have_tcx: the kernel attaches tcx links.
have_tcx() {
	"$TCXTOOL" probe
}

# tc_progs NS IF DIR: one line per BPF program on the hook, "tcx ID NAME" or "tc ID NAME".
tc_progs() {
	if have_tcx; then
		ip netns exec "$1" "$TCXTOOL" list "$2" "$3" 2>/dev/null | sed 's/^/tcx /'
	fi
	ip netns exec "$1" tc filter show dev "$2" "$3" 2>/dev/null |
		sed -nE 's/.* bpf .*handle [^ ]+ .* id ([0-9]+) name ([^ ]+) .*/tc \1 \2/p'
}

# pktlens_progs NS IF DIR: how many of pktlens' flow programs sit on the hook.
pktlens_progs() {
	tc_progs "$1" "$2" "$3" | grep -cE ' tc_(ingress|egress)_flow'
}
