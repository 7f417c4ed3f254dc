#!/usr/bin/env bash
# --persist-rules: the XDP firewall stays after pktlens exits and keeps dropping, pinned under
# /sys/fs/bpf/pktlens; `pktlens -n NS --flush-rules` names and removes what it kept (only that
# namespace's), and traffic flows again. A new pktlens refuses to replace the kept program.
set -u
TEST_NAME=security_persist
. "$(dirname "$0")/../lib/netns.sh"
. "$(dirname "$0")/../lib/security.sh"

PORT=9002

require_root
require_cmd ip bpftool "$PYTHON"
require_pktlens
cleanup_init
make_tmpdir
netns_pair 242
# pktlens mounts bpffs where nobody did (pins outlive a process only there): if this test is
# what made it, it goes again at the end, unless something else was pinned there meanwhile
if [ "$(stat -f -c %T /sys/fs/bpf 2>/dev/null)" != bpf_fs ]; then
	cleanup_add_cmd "[ -z \"\$(ls /sys/fs/bpf | grep -v '\\.debug\$')\" ] && umount /sys/fs/bpf"
fi
# whatever happens, this namespace's pins go (and with them the program)
cleanup_add_cmd "'$PKTLENS' -n '$NS_A' --flush-rules"

xdp_prog() { ip -n "$NS_A" -d link show dev "$IF_A" 2>/dev/null | grep -o 'prog/xdp id [0-9]*' | awk '{print $3}'; }
no_xdp() { [ -z "$(xdp_prog)" ]; }

"$PKTLENS" -n "$NS_A" -i "$IF_A" --json --interval 0.5 --duration 2 --persist-rules \
	--deny "$ADDR_B/32" >"$TMP/pl.json" 2>"$TMP/pl.err" || fail "pktlens failed: $(cat "$TMP/pl.err")"
[ "$(json_last "$TMP/pl.json" | json_get 'j["firewall"]["persist"]')" = True ] ||
	fail "persist not reported: $(json_last "$TMP/pl.json" | json_get 'j["firewall"]')"
id=$(xdp_prog)
[ -n "$id" ] || fail "no XDP program on $IF_A after pktlens exited with --persist-rules"
bpftool prog show id "$id" | grep -q 'name xdp_firewall' ||
	fail "the program kept is not the firewall alone: $(bpftool prog show id "$id" | head -1)"
ls /sys/fs/bpf/pktlens/fw-*/link-* >/dev/null 2>&1 || fail "nothing pinned under /sys/fs/bpf/pktlens"

log "the kept rule still drops, with no pktlens running"
udp_sink_start "$NS_A" "$ADDR_A" $PORT "$TMP/a.count"
sent=$(udp_send "$NS_B" "$ADDR_A" $PORT 100)
sleep 0.5
got=$(udp_sink_stop "$TMP/a.count")
[ "$got" = 0 ] || fail "the kept rule let $got of $sent through"

log "a new pktlens does not replace it"
"$PKTLENS" -n "$NS_A" -i "$IF_A" --json --duration 1 --deny 192.0.2.1 >/dev/null 2>"$TMP/busy.err"
rc=$?
[ "$rc" != 0 ] || fail "a second firewall replaced the kept one"
grep -q -- "--flush-rules" "$TMP/busy.err" || fail "the refusal does not say how: $(cat "$TMP/busy.err")"
[ "$(xdp_prog)" = "$id" ] || fail "the kept program was replaced"

log "flush: only this namespace, named, and gone"
"$PKTLENS" -n "$NS_A" --flush-rules >"$TMP/flush.out" 2>&1 || fail "flush failed: $(cat "$TMP/flush.out")"
grep -q "removed the XDP firewall on $IF_A (netns $NS_A) with 1 rule: deny $ADDR_B/32" \
	"$TMP/flush.out" ||
	fail "flush said: $(cat "$TMP/flush.out")"
wait_for 5 no_xdp || fail "XDP still on $IF_A after --flush-rules"
udp_sink_start "$NS_A" "$ADDR_A" $PORT "$TMP/b.count"
sent=$(udp_send "$NS_B" "$ADDR_A" $PORT 100)
udp_sink_wait "$TMP/b.count" "$sent"
got=$(udp_sink_stop "$TMP/b.count")
[ "$got" = "$sent" ] || fail "after the flush: $got of $sent received"
"$PKTLENS" -n "$NS_A" --flush-rules >"$TMP/flush2.out" 2>&1 || fail "second flush failed"
grep -q "no rules kept" "$TMP/flush2.out" || fail "second flush said: $(cat "$TMP/flush2.out")"
log "ok"
exit 0
