/* The pktlens BPF object: every program and map, so that all hooks share one flow table. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>

#include "xdp/flows.bpf.h"
#include "xdp/firewall.bpf.h"
#include "tc/flows.bpf.h"
#include "tracepoint/tcp.bpf.h"
#include "tracepoint/adhoc.bpf.h"
#include "tracepoint/drops.bpf.h"
#include "tracepoint/latency.bpf.h"
#include "tracepoint/funclat.bpf.h"
#include "tracepoint/ssl.bpf.h"
#include "tracepoint/procs.bpf.h"
#include "tracepoint/tcp_fexit.bpf.h"
#include "kprobe/rxlat.bpf.h"

char LICENSE[] SEC("license") = "GPL";
