#!/usr/bin/env bash
# --theme and --version. A theme file of the test's own: the roles it colours (the header bar's
# labels, the table header) reach the terminal as exactly those colours (tmux capture-pane -e);
# --theme monochrome sends no colour at all; a missing theme or a bad line is one stderr sentence
# naming it, a non-zero exit, the terminal untouched. --version prints one line, "pktlens VERSION",
# with the version of the tree it was built from.
set -u
TEST_NAME=tui-theme-version
. "$(dirname "$0")/lib.sh"

# The version comes from build/version.h, rewritten by make whenever git describe changes: an
# incremental build reports the tree it was built from (with -D on the command line nothing
# rebuilt main.o, and --version named the commit main.c was last compiled at).

tui_require
cleanup_init
make_tmpdir
netns_pair 252

# ---- --version ----
"$PKTLENS" --version >"$TMP/v.out" 2>"$TMP/v.err" || fail "--version exited $?"
[ ! -s "$TMP/v.err" ] || fail "--version wrote to stderr: $(cat "$TMP/v.err")"
[ "$(wc -l <"$TMP/v.out")" = 1 ] || fail "--version printed $(wc -l <"$TMP/v.out") lines"
version=$(sed -n 's/^pktlens \(.*\)$/\1/p' "$TMP/v.out")
[ -n "$version" ] || fail "--version printed '$(cat "$TMP/v.out")', not 'pktlens VERSION'"
want=$(git -C "$PL_ROOT" describe --always --dirty 2>/dev/null || echo 0.1)
[ "$version" = "$want" ] || fail "--version says '$version', the tree is $want"

# ---- a theme file of our own ----
cp "$PL_ROOT/themes/default.theme" "$TMP/test.theme"
# distinctive 256-colour pairs for two roles (the last assignment of a role wins)
printf 'top_label = 46,21\nheader = 196,226\n' >>"$TMP/test.theme"
tui_start 140 30 -n "$NS_A" -i "$IF_A" --theme "$TMP/test.theme"
tui_wait "1 Flows"
tui_wait "PROTO"
tmux -L "$TUI_SOCK" capture-pane -e -p -t main >"$TMP/colour.txt"
# the header bar's label " host " and the table header line, with their SGR sequences
grep -F ' host ' "$TMP/colour.txt" | grep -qE $'\e\\[([0-9;]*;)?38;5;46(;[0-9;]*)?m' ||
	fail "the header bar's labels are not colour 46: $(grep -F ' host ' "$TMP/colour.txt" | cat -v | cut -c1-200)"
grep -F ' host ' "$TMP/colour.txt" | grep -qE $'\e\\[([0-9;]*;)?48;5;21(;[0-9;]*)?m' ||
	fail "the header bar's labels are not on colour 21"
hdr=$(grep -E 'PROTO.*LOCAL' "$TMP/colour.txt")
printf '%s' "$hdr" | grep -qE $'\e\\[([0-9;]*;)?38;5;196(;[0-9;]*)?m' ||
	fail "the table header is not colour 196: $(printf '%s' "$hdr" | cat -v | cut -c1-200)"
printf '%s' "$hdr" | grep -qE $'\e\\[([0-9;]*;)?48;5;226(;[0-9;]*)?m' || fail "the table header is not on colour 226"
tui_quit
tmux -L "$TUI_SOCK" kill-server 2>/dev/null

# ---- monochrome: attributes only ----
rm -f "$TMP/rc"
tui_start 140 30 -n "$NS_A" -i "$IF_A" --theme monochrome
tui_wait "PROTO"
tmux -L "$TUI_SOCK" capture-pane -e -p -t main >"$TMP/mono.txt"
if grep -qE $'\e\\[([0-9;]*;)?(3[0-7]|4[0-7]|9[0-7]|10[0-7]|38;5;[0-9]+|48;5;[0-9]+)(;[0-9;]*)?m' "$TMP/mono.txt"; then
	fail "--theme monochrome sent colours: $(grep -oE $'\e\\[[0-9;]*m' "$TMP/mono.txt" | sort -u | cat -v | tr '\n' ' ')"
fi
grep -qE $'\e\\[([0-9;]*;)?(1|7)(;[0-9;]*)?m' "$TMP/mono.txt" || fail "--theme monochrome shows no attributes at all"
tui_quit
tmux -L "$TUI_SOCK" kill-server 2>/dev/null

# ---- errors ----
# (in tmux: pktlens checks for a terminal before it reads the theme)
expect_theme_error() { # LABEL WORD ARG
	rm -f "$TMP/rc"
	tui_start 140 30 -n "$NS_A" -i "$IF_A" --theme "$3"
	wait_for 20 test -s "$TMP/rc" || fail "$1: pktlens did not exit"
	local rc
	rc=$(cat "$TMP/rc")
	[ "$rc" -ne 0 ] || fail "$1: exit 0"
	[ "$(grep -c . "$TMP/stderr")" = 1 ] || fail "$1: $(grep -c . "$TMP/stderr") stderr lines: $(cat "$TMP/stderr")"
	grep -qF -- "$2" "$TMP/stderr" || fail "$1: the error does not name '$2': $(cat "$TMP/stderr")"
	[ "$(tmux -L "$TUI_SOCK" display -p -t main '#{alternate_on}')" = 0 ] || fail "$1: terminal left in the alternate screen"
	[ -z "$(ip netns exec "$NS_A" tc qdisc show dev "$IF_A" | grep clsact)" ] || fail "$1: left a clsact qdisc"
	log "$1: exit $rc, $(cat "$TMP/stderr")"
	tmux -L "$TUI_SOCK" kill-server 2>/dev/null
}
expect_theme_error "unknown theme" "nosuchtheme" nosuchtheme
printf 'normal = black,default\nheader = chartreuse,default\n' >"$TMP/bad.theme"
expect_theme_error "bad theme line" "$TMP/bad.theme:2" "$TMP/bad.theme"
log "ok"
exit 0
