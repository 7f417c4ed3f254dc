#!/usr/bin/env bash
# tcp_window on the raw tracepoint variant of tcp_probe (PKTLENS_TP=raw), which kernels without
# tp_btf run: the same windows, ssthresh, cwnd and srtt as ss -ti.
set -u
TEST_NAME=tcp_window_raw PKTLENS_TP=raw exec bash "$(dirname "$0")/tcp_window.sh" "$@"
