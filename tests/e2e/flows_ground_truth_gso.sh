#!/usr/bin/env bash
# The flows ground-truth test with veth offloads on: a GSO aggregate counts as its segments.
set -u
TEST_NAME=flows_ground_truth_gso FLOWS_OFFLOADS=on exec bash "$(dirname "$0")/flows_ground_truth.sh" "$@"
