#!/usr/bin/env bash
# `make vmtest`: boots Debian's stock kernel under qemu with a busybox initramfs and runs tests/vm/cases inside.
#
# The kernel package (linux-image-amd64's dependency) is fetched once with apt-get download into
# build/vm/ and unpacked there with dpkg-deb. The initramfs holds busybox, build/pktlens and the
# shared libraries ldd names, jq, tmux, xdp-filter and xdp-loader with libxdp's BPF objects, the
# test helpers and tests/vm/cases/*.sh; tests/vm/init runs
# them and prints "VMTEST: " lines on the serial console, ending with "N passed, N failed, N
# skipped". This script prints those lines and exits non-zero when a case failed, when the VM never
# reported, when fewer cases reported than tests/vm/cases holds, or when anything needed here
# (tools, the kernel package) is missing: all of that is a broken run, not a skip. The one skip
# (exit 77, "SKIP:" line) is a case inside the VM that says "kernel lacks FEATURE"; a case that
# skips for any other reason fails the run.
#
# Environment: VMTEST_KERNEL (a vmlinuz to boot instead of the Debian package; its modules are
# then not available), VMTEST_ONLY (run only cases whose name contains it), VMTEST_TIMEOUT (whole
# VM run after boot, seconds, default 900; the run also ends when no case has reported for the
# case timeout + 30 s), VMTEST_CASE_TIMEOUT (one case inside, default 150),
# VMTEST_KVM (0: never try KVM), BUILD (default build).
set -u

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
case "$BUILD" in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
VM=$BUILD/vm
STAGE=$VM/initramfs
LOG=$VM/console.log
VM_TIMEOUT=${VMTEST_TIMEOUT:-900}
CASE_TIMEOUT=${VMTEST_CASE_TIMEOUT:-150}
MODULES=(dummy veth sch_ingress cls_bpf)
qemu_pid=

cleanup() {
	if [ -n "$qemu_pid" ] && kill -0 "$qemu_pid" 2>/dev/null; then
		kill "$qemu_pid" 2>/dev/null
		wait "$qemu_pid" 2>/dev/null
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

die() {
	echo "vmtest: $*" >&2
	exit 1
}

need_tools() {
	local t
	for t in qemu-system-x86_64 cpio gzip dpkg-deb apt-get ldd cc; do
		command -v "$t" >/dev/null || die "$t is not installed (scripts/deps.sh installs it)"
	done
	BUSYBOX=$(command -v busybox) || die "busybox is not installed (scripts/deps.sh installs it)"
	# ldd fails on a static binary: the initramfs has no libraries for busybox itself.
	! ldd "$BUSYBOX" >/dev/null 2>&1 || die "$BUSYBOX is not static (apt-get install busybox-static)"
	JQ=$(command -v jq) || die "jq is not installed (scripts/deps.sh installs it)"
	TMUX_BIN=$(command -v tmux) || die "tmux is not installed (scripts/deps.sh installs it)"
	XDP_FILTER=$(command -v xdp-filter) || die "xdp-filter is not installed (scripts/deps.sh installs xdp-tools)"
	XDP_LOADER=$(command -v xdp-loader) || die "xdp-loader is not installed (scripts/deps.sh installs xdp-tools)"
	# libxdp and xdp-tools load their BPF objects (the dispatcher, xdp-filter's programs) from here
	XDP_OBJS=$(dirname "$(ls /usr/lib/*/bpf/xdp-dispatcher.o 2>/dev/null | head -n 1)")
	[ -e "$XDP_OBJS/xdpfilt_alw_all.o" ] || die "libxdp's BPF objects are missing (scripts/deps.sh installs libxdp1 and xdp-tools)"
	[ -x "$BUILD/pktlens" ] || die "$BUILD/pktlens is missing; run make first"
}

# Sets KERNEL (a vmlinuz) and MODDIR (its modules, may be empty), downloading the package once.
fetch_kernel() {
	if [ -n "${VMTEST_KERNEL:-}" ]; then
		KERNEL=$VMTEST_KERNEL
		MODDIR=
		return
	fi
	KERNEL=$(ls "$VM"/root/boot/vmlinuz-* 2>/dev/null | head -n 1)
	if [ -z "$KERNEL" ]; then
		local pkg deb rc
		pkg=$(apt-cache depends linux-image-amd64 2>/dev/null |
			sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*\)$/\1/p' | head -n 1)
		[ -n "$pkg" ] || die "apt-cache knows no linux-image-amd64 (run apt-get update)"
		mkdir -p "$VM/deb"
		echo "vmtest: downloading $pkg"
		# The status is apt-get's, not grep's (which fails when apt printed nothing to filter).
		(cd "$VM/deb" && apt-get download -q "$pkg" >apt.log 2>&1)
		rc=$?
		grep -v '^W: Download is performed unsandboxed' "$VM/deb/apt.log"
		[ "$rc" -eq 0 ] || die "apt-get download $pkg failed (exit $rc)"
		deb=$(ls "$VM"/deb/"$pkg"_*.deb 2>/dev/null | head -n 1)
		[ -n "$deb" ] || die "apt-get download $pkg left no package"
		rm -rf "$VM/root.tmp"
		dpkg-deb -x "$deb" "$VM/root.tmp" || die "dpkg-deb -x $deb failed"
		rm -rf "$VM/root" && mv "$VM/root.tmp" "$VM/root"
		KERNEL=$(ls "$VM"/root/boot/vmlinuz-* 2>/dev/null | head -n 1)
		[ -n "$KERNEL" ] || die "$deb holds no /boot/vmlinuz"
	fi
	MODDIR=$(ls -d "$VM"/root/lib/modules/* 2>/dev/null | head -n 1)
}

# copy_with_libs FILE...: each file at the same path in the stage, with the libraries ldd names.
copy_with_libs() {
	local f lib
	for f in "$@"; do
		mkdir -p "$STAGE$(dirname "$f")"
		cp -L "$f" "$STAGE$f"
		for lib in $(ldd "$f" 2>/dev/null | grep -oE '/[^ ]+'); do
			[ -e "$STAGE$lib" ] && continue
			mkdir -p "$STAGE$(dirname "$lib")"
			cp -L "$lib" "$STAGE$lib"
		done
	done
}

build_initramfs() {
	local a m cflags=(-static -O2 -g -Wall -Wextra -Werror)
	rm -rf "$STAGE"
	mkdir -p "$STAGE"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,tmp,run,root,etc,lib/modules,tests}
	cp "$BUSYBOX" "$STAGE/bin/busybox"
	for a in $("$BUSYBOX" --list); do
		[ "$a" = busybox ] || ln -sf busybox "$STAGE/bin/$a"
	done
	echo "root:x:0:0:root:/root:/bin/sh" >"$STAGE/etc/passwd"
	# The system's ld.so, libc and friends, so that pktlens, jq and the helper run as on the host.
	copy_with_libs "$BUILD/pktlens" "$JQ" "$TMUX_BIN" "$XDP_FILTER" "$XDP_LOADER"
	mkdir -p "$STAGE$XDP_OBJS"
	cp "$XDP_OBJS"/*.o "$STAGE$XDP_OBJS/"
	# tmux, the terminal descriptions it and pktlens' curses look up, and the C.UTF-8 locale tmux
	# insists on, for the TUI case
	mkdir -p "$STAGE/usr/lib/locale"
	cp -r /usr/lib/locale/C.utf8 "$STAGE/usr/lib/locale/" 2>/dev/null
	local ti d
	for ti in s/screen s/screen-256color x/xterm x/xterm-256color; do
		for d in /lib/terminfo /usr/share/terminfo; do
			[ -e "$d/$ti" ] || continue
			mkdir -p "$STAGE/usr/share/terminfo/${ti%%/*}"
			cp -L "$d/$ti" "$STAGE/usr/share/terminfo/$ti"
			break
		done
	done
	mv "$STAGE$BUILD/pktlens" "$STAGE/bin/pktlens"
	mv "$STAGE$JQ" "$STAGE/bin/jq"
	rm -rf "${STAGE:?}/${ROOT#/}" "${STAGE:?}/${BUILD#/}"
	mkdir -p "$STAGE/tests/bin"
	cc "${cflags[@]}" -o "$STAGE/tests/bin/pl-target" "$ROOT/tests/vm/target.c" ||
		die "building tests/vm/target.c failed"
	build_cycle_helper || die "building tests/vm/adhoc_cycle.c failed"
	cp "$ROOT/tests/vm/init" "$STAGE/init"
	cp "$ROOT/tests/vm/lib.sh" "$STAGE/tests/lib.sh"
	cp -r "$ROOT/tests/vm/cases" "$STAGE/tests/cases"
	if [ -n "$MODDIR" ]; then
		for m in "${MODULES[@]}"; do
			find "$MODDIR" -name "$m.ko*" -exec cp {} "$STAGE/lib/modules/" \;
		done
	fi
	(cd "$STAGE" && find . | cpio -o -H newc --quiet | gzip -1) >"$VM/initramfs.cpio.gz" ||
		die "packing the initramfs failed"
}

# The attach/detach cycle test links pktlens' core objects, as the test binaries do.
build_cycle_helper() {
	local objs
	objs=$(ls "$BUILD"/obj/core/*.o 2>/dev/null) || return 1
	# the objects' compiler and sanitizer flags (make SANITIZE=1 exports them) for the link
	# shellcheck disable=SC2086
	${CC:-cc} -std=gnu11 -O2 -g -Wall -Wextra -Werror -Wno-unused-parameter -D_GNU_SOURCE \
		${SAN_FLAGS:-} -I"$ROOT/include" -I"$ROOT/src" -I"$ROOT/bpf" -I"$BUILD" \
		-o "$VM/pl-cycle" "$ROOT/tests/vm/adhoc_cycle.c" $objs -lxdp -lbpf -lelf -lz -lpcap -lm || return 1
	copy_with_libs "$VM/pl-cycle"
	mv "$STAGE$VM/pl-cycle" "$STAGE/tests/bin/pl-cycle"
	rm -rf "${STAGE:?}/${VM#/}"
}

# boot ACCEL_ARGS...: runs qemu with the console in $LOG; returns qemu's status.
boot() {
	local append="console=ttyS0 panic=-1 quiet loglevel=3 mitigations=off"
	append+=" vmtest_timeout=$CASE_TIMEOUT vmtest_only=${VMTEST_ONLY:-}"
	: >"$LOG"
	qemu-system-x86_64 "$@" -m 1024 -smp 2 -nodefaults -no-user-config -nographic \
		-serial "file:$LOG" -monitor none -nic none -no-reboot \
		-kernel "$KERNEL" -initrd "$VM/initramfs.cpio.gz" -append "$append" </dev/null &
	qemu_pid=$!
}

# wait_for PATTERN SECONDS: 0 when the console shows PATTERN in time, 1 on timeout, 2 when qemu ended.
wait_for() {
	local pat=$1 limit=$2 t=0
	while [ "$t" -lt "$limit" ]; do
		grep -q "$pat" "$LOG" 2>/dev/null && return 0
		kill -0 "$qemu_pid" 2>/dev/null || { grep -q "$pat" "$LOG" && return 0 || return 2; }
		sleep 1
		t=$((t + 1))
	done
	return 1
}

# wait_progress PATTERN IDLE_S MAX_S: like wait_for, but the limit is IDLE_S without a new
# "VMTEST: " line (each case reports when it ends; software emulation on a busy host is slow,
# so a fixed limit for the whole run fails runs that are still progressing), and MAX_S in all.
wait_progress() {
	local pat=$1 idle=$2 max=$3 t=0 quiet=0 n last=0
	while [ "$t" -lt "$max" ] && [ "$quiet" -lt "$idle" ]; do
		grep -q "$pat" "$LOG" 2>/dev/null && return 0
		kill -0 "$qemu_pid" 2>/dev/null || { grep -q "$pat" "$LOG" && return 0 || return 2; }
		n=$(grep -c 'VMTEST: ' "$LOG" 2>/dev/null)
		if [ "$n" != "$last" ]; then
			last=$n
			quiet=0
		fi
		sleep 1
		t=$((t + 1))
		quiet=$((quiet + 1))
	done
	return 1
}

run_vm() {
	local t0 t1 rc
	t0=$(date +%s)
	# KVM is faster but has not booted on every host: it gets 15 s to reach init, then TCG runs.
	if [ "${VMTEST_KVM:-1}" != 0 ] && [ -w /dev/kvm ]; then
		echo "vmtest: trying KVM"
		boot -enable-kvm -cpu host,-arch-capabilities
		if wait_for 'VMTEST: booted' 15; then
			ACCEL=kvm
		else
			echo "vmtest: KVM did not boot within 15 s; falling back to software emulation"
			cleanup
			qemu_pid=
		fi
	fi
	if [ -z "${ACCEL:-}" ]; then
		ACCEL=tcg
		boot -cpu qemu64 -accel tcg,thread=multi
		wait_for 'VMTEST: booted' 120
		rc=$?
		[ "$rc" -eq 0 ] || {
			tail -n 40 "$LOG" | tr -d '\r'
			die "the VM did not reach /init within 120 s (software emulation)"
		}
	fi
	t1=$(date +%s)
	BOOT_S=$((t1 - t0))
	wait_progress '^VMTEST: [0-9]* passed, [0-9]* failed, [0-9]* skipped' $((CASE_TIMEOUT + 30)) "$VM_TIMEOUT"
	rc=$?
	# After the summary the VM powers off by itself; give it a moment, then stop it.
	for _ in 1 2 3 4 5; do kill -0 "$qemu_pid" 2>/dev/null || break; sleep 1; done
	cleanup
	qemu_pid=
	RUN_S=$(($(date +%s) - t0))
	return "$rc"
}

main() {
	need_tools
	fetch_kernel
	echo "vmtest: kernel $KERNEL"
	build_initramfs
	echo "vmtest: initramfs $(du -h "$VM/initramfs.cpio.gz" | cut -f1)"
	run_vm
	local rc=$? summary
	tr -d '\r' <"$LOG" | sed -n 's/^.*VMTEST: //p'
	echo "vmtest: $ACCEL, /init reached after ${BOOT_S} s, whole VM run ${RUN_S} s (console log: ${LOG#"$ROOT"/})"
	if [ "$rc" -ne 0 ]; then
		echo "vmtest: the VM ended without a summary; last console lines:" >&2
		tr -d '\r' <"$LOG" | grep -v '^VMTEST: ' | tail -n 30 >&2
		exit 1
	fi
	judge
}

# judge: the exit status from the cases' own lines, cross-checked with the VM's summary and with
# the cases this tree holds, so that a VM that lost a case or reported a skip it should not
# have cannot pass.
judge() {
	local console summary expected=0 np nf ns bad_skips kernel_skips t name
	console=$(tr -d '\r' <"$LOG" | sed -n 's/^.*VMTEST: //p')
	summary=$(printf '%s\n' "$console" | sed -n 's/^\([0-9]* passed, [0-9]* failed, [0-9]* skipped\)$/\1/p' | tail -n 1)
	echo "$summary"
	for t in "$ROOT"/tests/vm/cases/*.sh; do
		name=$(basename "$t" .sh)
		case "$name" in *"${VMTEST_ONLY:-}"*) expected=$((expected + 1)) ;; esac
	done
	np=$(printf '%s\n' "$console" | grep -c '^PASS ')
	nf=$(printf '%s\n' "$console" | grep -c '^FAIL ')
	ns=$(printf '%s\n' "$console" | grep -c '^SKIP ')
	[ "$summary" = "$np passed, $nf failed, $ns skipped" ] ||
		die "the VM's summary '$summary' disagrees with its case lines ($np passed, $nf failed, $ns skipped)"
	[ "$nf" -eq 0 ] || exit 1
	[ $((np + ns)) -eq "$expected" ] ||
		die "$((np + nf + ns)) cases reported inside the VM, tests/vm/cases holds $expected"
	[ "$expected" -gt 0 ] || die "no case in tests/vm/cases matches '${VMTEST_ONLY:-}'"
	bad_skips=$(printf '%s\n' "$console" | grep '^SKIP ' | grep -v '^SKIP [^ ]* (kernel lacks ')
	[ -z "$bad_skips" ] || die "cases skipped inside the VM for a reason other than a missing kernel feature: $bad_skips"
	if [ "$ns" -gt 0 ]; then
		kernel_skips=$(printf '%s\n' "$console" | sed -n 's/^SKIP \([^ ]*\) (kernel lacks \(.*\))$/\1: \2/p' | paste -sd ';' -)
		echo "SKIP: the VM kernel $(basename "$KERNEL") lacks what $ns case(s) need ($kernel_skips)"
		exit 77
	fi
	exit 0
}

main
