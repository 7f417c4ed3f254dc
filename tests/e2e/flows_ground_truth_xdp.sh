#!/usr/bin/env bash
# The flows ground-truth test with XDP counting received packets (--probes default,xdp).
set -u
TEST_NAME=flows_ground_truth_xdp PKTLENS_PROBES=default,xdp exec bash "$(dirname "$0")/flows_ground_truth.sh" "$@"
