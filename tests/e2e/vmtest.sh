#!/usr/bin/env bash
# Runs `make vmtest` (scripts/vmtest.sh): the kprobe/kretprobe/uprobe tests on Debian's stock kernel under qemu.
# Missing tools or a failed kernel download fail (scripts/deps.sh installs the tools); the only skip
# is scripts/vmtest.sh's own, for a case inside the VM whose kernel lacks a feature.
# Software emulation on a loaded 2-core host takes 3-6 minutes (boot ~40 s, the cases ~250 s):
# test-timeout: 900
set -u
TEST_NAME=vmtest
. "$(dirname "$0")/../lib/common.sh"

require_root
require_pktlens
[ -e /dev/kvm ] || grep -qw -e vmx -e svm /proc/cpuinfo || log "no KVM: software emulation (slower)"
exec "$PL_ROOT/scripts/vmtest.sh"
