/* Reads qdisc statistics over rtnetlink (RTM_GETQDISC dump) and /proc/net/softnet_stat. */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/gen_stats.h>
#include <linux/netlink.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include "core/qstats.h"

static void fmt_handle(__u32 h, char *out, size_t len)
{
	if (h == TC_H_ROOT)
		snprintf(out, len, "root");
	else if (h == TC_H_INGRESS)
		snprintf(out, len, "ingress");
	else
		snprintf(out, len, "%x:%x", TC_H_MAJ(h) >> 16, TC_H_MIN(h));
}

static void parse_stats2(struct rtattr *a, struct qdisc_row *r)
{
	int len = RTA_PAYLOAD(a);
	for (struct rtattr *s = RTA_DATA(a); RTA_OK(s, len); s = RTA_NEXT(s, len)) {
		if (s->rta_type == TCA_STATS_BASIC &&
		    RTA_PAYLOAD(s) >= sizeof(struct gnet_stats_basic)) {
			struct gnet_stats_basic b;
			memcpy(&b, RTA_DATA(s), sizeof(b));
			r->bytes = b.bytes;
			r->packets = b.packets;
		} else if (s->rta_type == TCA_STATS_QUEUE &&
			   RTA_PAYLOAD(s) >= sizeof(struct gnet_stats_queue)) {
			struct gnet_stats_queue q;
			memcpy(&q, RTA_DATA(s), sizeof(q));
			r->qlen = q.qlen;
			r->backlog = q.backlog;
			r->drops = q.drops;
			r->requeues = q.requeues;
			r->overlimits = q.overlimits;
		}
	}
}

int qdisc_read(const int *ifindexes, size_t n_if, struct qdisc_row *rows, size_t max)
{
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return -errno;
	struct {
		struct nlmsghdr nh;
		struct tcmsg tc;
	} req = { 0 };
	req.nh.nlmsg_len = NLMSG_LENGTH(sizeof(struct tcmsg));
	req.nh.nlmsg_type = RTM_GETQDISC;
	req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	req.nh.nlmsg_seq = 1;
	req.tc.tcm_family = AF_UNSPEC;
	if (send(fd, &req, req.nh.nlmsg_len, 0) < 0) {
		int ret = -errno;
		close(fd);
		return ret;
	}
	size_t n = 0;
	static char buf[32768];
	int done = 0;
	while (!done) {
		ssize_t got = recv(fd, buf, sizeof(buf), 0);
		if (got <= 0)
			break;
		int len = (int)got;
		for (struct nlmsghdr *nh = (void *)buf; NLMSG_OK(nh, (unsigned)len);
		     nh = NLMSG_NEXT(nh, len)) {
			if (nh->nlmsg_type == NLMSG_DONE || nh->nlmsg_type == NLMSG_ERROR) {
				done = 1;
				break;
			}
			if (nh->nlmsg_type != RTM_NEWQDISC || n >= max)
				continue;
			struct tcmsg *tc = NLMSG_DATA(nh);
			int want = n_if == 0;
			for (size_t i = 0; i < n_if; i++)
				want |= ifindexes[i] == tc->tcm_ifindex;
			if (!want)
				continue;
			struct qdisc_row *r = &rows[n];
			memset(r, 0, sizeof(*r));
			if (!if_indextoname((unsigned)tc->tcm_ifindex, r->iface))
				snprintf(r->iface, sizeof(r->iface), "if%d", tc->tcm_ifindex);
			fmt_handle(tc->tcm_handle, r->handle, sizeof(r->handle));
			fmt_handle(tc->tcm_parent, r->parent, sizeof(r->parent));
			int alen = (int)(nh->nlmsg_len - NLMSG_LENGTH(sizeof(*tc)));
			for (struct rtattr *a = TCA_RTA(tc); RTA_OK(a, alen);
			     a = RTA_NEXT(a, alen)) {
				if (a->rta_type == TCA_KIND)
					snprintf(r->kind, sizeof(r->kind), "%.*s",
						 (int)RTA_PAYLOAD(a), (char *)RTA_DATA(a));
				else if (a->rta_type == TCA_STATS2)
					parse_stats2(a, r);
			}
			n++;
		}
	}
	close(fd);
	return (int)n;
}

int softnet_read(const char *path, struct softnet_row *rows, size_t max)
{
	FILE *f = fopen(path ? path : "/proc/net/softnet_stat", "r");
	if (!f)
		return -errno;
	char line[512];
	size_t n = 0;
	while (n < max && fgets(line, sizeof(line), f)) {
		unsigned long long v[16] = { 0 };
		int k = 0;
		char *p = line, *end;
		while (k < 16) {
			unsigned long long x = strtoull(p, &end, 16);
			if (end == p)
				break;
			v[k++] = x;
			p = end;
		}
		if (k < 3)
			continue;
		/* Columns: processed, dropped, time_squeeze, 0 x5, cpu_collision, received_rps,
		 * flow_limit_count, backlog length, cpu index (the last two since 5.10/6.0). */
		struct softnet_row *r = &rows[n];
		r->processed = v[0];
		r->dropped = v[1];
		r->time_squeeze = v[2];
		r->flow_limit = k > 10 ? v[10] : 0;
		r->cpu = k > 12 ? (uint32_t)v[12] : (uint32_t)n;
		n++;
	}
	fclose(f);
	return (int)n;
}
