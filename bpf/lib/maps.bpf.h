/* Maps and knobs shared by every program of the pktlens BPF object. */
#ifndef PKTLENS_MAPS_BPF_H
#define PKTLENS_MAPS_BPF_H

#include "shared/flow.h"
#include "shared/tcp.h"

/* Knobs set by user space before load. */
const volatile __u64 netns_ino = 0; /* only sockets of this netns in tracepoints; 0 = all */
/*
 * The struct net of netns_ino, learnt by the first socket found in it (pl_sk_in_netns): then
 * one pointer read decides instead of two. pktlens lives in that namespace (it entered it
 * for -n), which keeps the struct where it is for as long as these programs run.
 */
volatile __u64 netns_net = 0;

/* Written by user space at run time through the mmapped .bss. */
volatile __u32 watch_count = 0; /* entries in `watch`: skip the lookup when there are none */
volatile __u32 xdp_count = 0;	/* entries in `rx_owner`: same, for tc ingress */
volatile __u32 flow_epoch = 0;	/* bumped at every refresh; 0: flows queue nothing */

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536); /* user space sets it from --flows before load */
	__type(key, struct flow_key);
	__type(value, struct flow_val);
} flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct pl_counters);
} counters SEC(".maps");

/* Keys of the flows that changed in an epoch (struct flow_dirty); sized by user space. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1024 * 1024);
} flow_dirty SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, __u32);   /* ifindex */
	__type(value, __u32); /* enum pl_rx_owner */
} rx_owner SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PL_WATCH_MAX);
	__type(key, struct flow_key);
	__type(value, __u32);
} watch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct sock_key);
	__type(value, struct sock_val);
} socks SEC(".maps");

/* Hits of ad-hoc probes (tracepoint, kprobe, uprobe), keyed by the attach cookie. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 1024);
	__type(key, __u64);
	__type(value, __u64);
} probe_hits SEC(".maps");

static __always_inline struct pl_counters *pl_counters_get(void)
{
	__u32 zero = 0;
	return bpf_map_lookup_elem(&counters, &zero);
}

#endif
