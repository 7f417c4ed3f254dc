#!/usr/bin/env bash
# procs_ground_truth on the raw tracepoint variants of sock_recv_length and sock_send_length
# (PKTLENS_TP=raw), which kernels without tp_btf run: the same per-process counts.
set -u
TEST_NAME=procs_ground_truth_raw PKTLENS_TP=raw exec bash "$(dirname "$0")/procs_ground_truth.sh" "$@"
