/* Legacy tracefs probe events that libbpf creates on kernels without the kprobe/uprobe PMU. */
#ifndef PKTLENS_TRACEFS_EVENTS_H
#define PKTLENS_TRACEFS_EVENTS_H

#include <stddef.h>

/*
 * One line of kprobe_events or uprobe_events ("p:kprobes/libbpf_1234_tcp_v4_rcv_0x0_0
 * tcp_v4_rcv"): when its event is named the way libbpf names legacy events
 * (libbpf_PID_..., PID first in 1.1 and later), writes "GROUP/NAME" to event
 * and returns the pid; otherwise returns 0.
 */
unsigned legacy_event_parse(const char *line, char *event, size_t len);

/*
 * Removes legacy events of dead pktlens processes. libbpf names them by the
 * creating pid only, so an event is stale when its pid had a pktlens
 * instance file (/run/pktlens/PID, see instance.h) whose lock nobody holds.
 */
void legacy_events_cleanup(void);

#endif
