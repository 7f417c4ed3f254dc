#!/usr/bin/env bash
# The status line says when the L7 ring fell behind and only a sample of the flows sent events:
# the TUI is stopped (SIGSTOP) while 30000 keep-alive HTTP exchanges fill its ring past 3/4
# (e2e/l7_overload.sh checks the counts exactly), then resumed: the top line shows "lost 0" and
# "L7 sampled N" with N > 0, and the HTTP pane's requests are a sample of the 30000.
set -u
TEST_NAME=tui-l7-sampled
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../lib/bench_http.sh"

N=30000
tui_require
require_cmd nginx
cleanup_init
make_tmpdir
netns_pair 237
nginx_bench_start "$ADDR_A" || fail "nginx did not start"

tui_start 160 30 -n "$NS_A" -i "$IF_A" --interval 0.5
tui_wait "1 Flows" 20
tui_wait_re " lost 0" 5
! tui_cap | head -n 1 | grep -q "L7 sampled" || fail "the status line says 'L7 sampled' before any traffic"
shell=$(tmux -L "$TUI_SOCK" display -p -t main '#{pane_pid}')
pid=$(pgrep -P "$shell" -x pktlens) || fail "no pktlens process under the tmux pane"
kill -STOP "$pid" || fail "cannot stop pktlens"
ns_b timeout 120 "$PYTHON" "$PL_ROOT/tests/lib/http_exchanges.py" "$ADDR_A" "$N" 16 --sample-mix \
	>"$TMP/client.out" 2>&1 || { kill -CONT "$pid"; fail "the client failed: $(tail -3 "$TMP/client.out")"; }
kill -CONT "$pid"
[ "$(cat "$TMP/client.out")" = "$N" ] || fail "the client completed $(cat "$TMP/client.out") of $N"
tui_wait "L7 sampled" 20
top=$(tui_cap | head -n 1)
log "status line: $top"
[[ "$top" =~ \ lost\ 0\  ]] || [[ "$top" =~ \ lost\ 0$ ]] || fail "events were lost: $top"
n=$(sed -nE 's/.* L7 sampled ([0-9.]+)([KMG]?).*/\1 \2/p' <<<"$top")
[ -n "$n" ] || fail "no count after 'L7 sampled': $top"
awk -v v="${n% *}" 'BEGIN { exit !(v > 0) }' || fail "L7 sampled shows $n"
tui_quit
log "ok"
exit 0
