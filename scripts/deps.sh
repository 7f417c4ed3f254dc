#!/usr/bin/env bash
# Installs every Debian package that pktlens' build, tests, demo and benchmarks need (idempotent).
set -eu
pkgs=(
	make clang llvm libbpf-dev libelf-dev zlib1g-dev libncurses-dev pkg-config
	bpftool libcmocka-dev libpcap-dev
	# libxdp: XDP through its dispatcher beside other programs; xdp-tools: xdp-filter in tests
	libxdp-dev xdp-tools
	iproute2 nftables ethtool tmux tshark python3 curl iperf3 procps jq
	dnsmasq-base bind9-dnsutils openssl qemu-system-x86 busybox-static cpio libc6-dev
	tcpdump nginx wrk iftop nethogs
	# the man page: man -l, groff warnings (tests/tui/install.sh)
	man-db groff-base
	# JSON Schema validation of --json output (tests/e2e/json_schema.sh; Debian's python3)
	python3-jsonschema
	# --metrics tests: a real Prometheus and promtool; the deploy files' checks
	prometheus python3-yaml systemd
	# scans and floods the alerts are tested against (tests/e2e/security_*.sh)
	nmap hping3
	# libFuzzer and the sanitizer runtimes for clang (libclang-rt-14-dev on Debian 12): make fuzz
	libclang-rt-dev
)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
	exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "deps.sh: missing packages (${missing[*]}); run as root to install them" >&2
	exit 1
fi
echo "deps.sh: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# tshark asks whether non-root users may capture; answer once, non-interactively.
echo 'wireshark-common wireshark-common/install-setuid boolean false' | debconf-set-selections
if [ ! -f /var/lib/apt/periodic/pktlens-updated ] || [ -n "${CI:-}" ]; then
	apt-get update -qq
	mkdir -p /var/lib/apt/periodic && touch /var/lib/apt/periodic/pktlens-updated
fi
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
