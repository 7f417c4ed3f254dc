#!/usr/bin/env bash
# Runs `make vmtest` (scripts/vmtest.sh): the kprobe/kretprobe/uprobe tests on Debian's stock kernel under qemu.
set -u
TEST_NAME=vmtest
. "$(dirname "$0")/../lib/common.sh"

require_root
require_pktlens
command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 is not installed (apt-get install qemu-system-x86)"
command -v busybox >/dev/null || skip "busybox is not installed (apt-get install busybox-static)"
command -v cpio >/dev/null || skip "cpio is not installed"
[ -e /dev/kvm ] || grep -qw -e vmx -e svm /proc/cpuinfo || log "no KVM: software emulation (slower)"
exec "$PL_ROOT/scripts/vmtest.sh"
