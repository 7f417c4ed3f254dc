#!/usr/bin/env bash
# make install: under DESTDIR and PREFIX exactly the binary, the four themes, the man page and the
# JSON schema with its document, with their modes; `man` finds the page through the installed
# MANPATH, groff renders it without a warning, it documents every option --help lists; the
# installed binary is this build and, started in tmux, finds its themes beside it
# (PREFIX/share/pktlens/themes): --theme high-contrast runs, a missing name lists the installed ones.
set -u
TEST_NAME=install
. "$(dirname "$0")/lib.sh"

tui_require
require_cmd make man groff install
cleanup_init
make_tmpdir
netns_pair 215

ROOT=$TMP/root
PREFIX=/opt/pktlens-test
make -s -C "$PL_ROOT" install BUILD="${BUILD:-$PL_ROOT/build}" DESTDIR="$ROOT" PREFIX="$PREFIX" \
	>"$TMP/make.log" 2>&1 || fail "make install failed: $(tail -5 "$TMP/make.log")"

P=$ROOT$PREFIX
(cd "$ROOT" && find . -printf '%y %m %p\n' | sort) >"$TMP/tree.txt"
cat >"$TMP/want.txt" <<TREE
f 644 .$PREFIX/share/doc/pktlens/json-schema.md
f 644 .$PREFIX/share/man/man8/pktlens.8
f 644 .$PREFIX/share/pktlens/json-schema.json
f 644 .$PREFIX/share/pktlens/themes/default.theme
f 644 .$PREFIX/share/pktlens/themes/high-contrast.theme
f 644 .$PREFIX/share/pktlens/themes/light.theme
f 644 .$PREFIX/share/pktlens/themes/monochrome.theme
f 755 .$PREFIX/bin/pktlens
TREE
grep '^f ' "$TMP/tree.txt" | sort >"$TMP/files.txt"
sort "$TMP/want.txt" | diff -u - "$TMP/files.txt" >"$TMP/tree.diff" ||
	fail "installed files differ from the expected ones: $(cat "$TMP/tree.diff")"
cmp -s "$PL_ROOT/man/pktlens.8" "$P/share/man/man8/pktlens.8" || fail "the man page differs from man/pktlens.8"
cmp -s "${BUILD:-$PL_ROOT/build}/pktlens" "$P/bin/pktlens" || fail "the installed binary is not this build's"
"$P/bin/pktlens" --version | grep -qx "pktlens .*" || fail "the installed pktlens does not run"

# the page: found by man through the installed tree, rendered without warnings
page=$(MANPATH="$P/share/man" man -w pktlens 2>&1) || fail "man -w pktlens: $page"
[ "$page" = "$P/share/man/man8/pktlens.8" ] || fail "man found $page, not the installed page"
groff -man -ww -z -Tutf8 "$page" 2>"$TMP/groff.err" || fail "groff failed on the page"
[ ! -s "$TMP/groff.err" ] || fail "groff warns: $(head -5 "$TMP/groff.err")"
MANPATH="$P/share/man" MANWIDTH=100 MANPAGER=cat man pktlens 2>/dev/null >"$TMP/man.txt"
grep -q '^NAME' "$TMP/man.txt" && grep -q 'pktlens - interactive terminal network inspector' "$TMP/man.txt" ||
	fail "the rendered page has no NAME section"
missing=""
for opt in $("$P/bin/pktlens" --help | grep -oE -- '--[a-z][a-z-]+' | sort -u); do
	grep -qF -- "$opt" "$TMP/man.txt" || missing="$missing $opt"
done
[ -z "$missing" ] || fail "options of --help missing from the man page:$missing"

# the installed binary finds the installed themes (relative to itself), never the source tree's
PKTLENS=$P/bin/pktlens
tui_start 140 30 -n "$NS_A" -i "$IF_A" --theme high-contrast
tui_wait "1 Flows" 20
tui_quit
tui_start 140 30 -n "$NS_A" -i "$IF_A" --theme no-such-theme
wait_for 30 test -s "$TMP/rc" || fail "pktlens did not exit on a missing theme"
[ "$(cat "$TMP/rc")" = 1 ] || fail "a missing theme exited $(cat "$TMP/rc")"
want="no theme named 'no-such-theme' (looked for $P/bin/../share/pktlens/themes/no-such-theme.theme; themes there: "
grep -qF "$want" "$TMP/stderr" || fail "the error does not name the installed themes: $(cat "$TMP/stderr")"
for t in default high-contrast light monochrome; do
	grep -q "$t" "$TMP/stderr" || fail "theme $t not listed: $(cat "$TMP/stderr")"
done
echo "PASS: make install put the binary, themes, man page and schema under DESTDIR/PREFIX"
