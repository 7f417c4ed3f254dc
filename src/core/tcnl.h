/* Classic tc through rtnetlink: list and delete filters, delete clsact, and the crash path's prepared messages. */
#ifndef PKTLENS_TCNL_H
#define PKTLENS_TCNL_H

#include <stdbool.h>
#include <stdint.h>

/* tcm_parent of the clsact hooks (TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_INGRESS / _EGRESS)). */
#define PL_TC_PARENT_INGRESS 0xfffffff2U
#define PL_TC_PARENT_EGRESS 0xfffffff3U

struct tcnl_filter {
	uint32_t handle; /* 0: the chain's head for one priority/protocol, not a filter */
	uint32_t prio;
	uint16_t proto;	  /* host order (ETH_P_ALL = 3) */
	char kind[16];	  /* "bpf", "matchall", "u32", ... */
	uint32_t prog_id; /* bpf: the program's id */
	char name[64]; /* bpf: the name the loader gave the filter ("prog_name:[id]" for libbpf) */
};

/* A NETLINK_ROUTE socket (close it with close()); -errno on failure. */
int tcnl_open(void);
/* Lists the entries on one clsact hook: returns how many there are (may exceed max), or -errno. */
int tcnl_filters(int fd, int ifindex, uint32_t parent, struct tcnl_filter *out, int max);
/* Deletes one filter; 0, -ENOENT when it is gone already, or -errno. */
int tcnl_filter_del(int fd, int ifindex, uint32_t parent, uint32_t handle, uint32_t prio,
		    uint16_t proto);
/* Deletes the clsact qdisc of ifindex, and with it every filter on it. */
int tcnl_clsact_del(int fd, int ifindex);
/* The clsact hooks of ifindex hold no filter at all (ingress and egress); -errno when unknown. */
int tcnl_clsact_empty(int fd, int ifindex);

/*
 * The crash path. A fatal signal handler may not allocate or call into
 * libbpf, so every tc filter pktlens attaches has its delete message built
 * here at attach time, in static memory, with a socket opened in advance;
 * tcnl_emerg_run() only sends them (sendto/recv are async-signal-safe).
 */
int tcnl_emerg_init(void);
/* Slot N: the delete message of one attached filter (on) or nothing (off). */
void tcnl_emerg_filter(int slot, bool on, int ifindex, uint32_t parent, uint32_t handle,
		       uint32_t prio, uint16_t proto);
/* Slot N: a clsact that pktlens created on ifindex, removed on the crash path if empty. */
void tcnl_emerg_qdisc(int slot, bool on, int ifindex);
/* Sends every prepared delete; async-signal-safe. */
void tcnl_emerg_run(void);

#define PL_EMERG_FILTERS 128
#define PL_EMERG_QDISCS 64

#endif
