/* Command-line parsing: one table maps each option onto the config struct, usage is printed from it. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/options.h"
#include "core/json.h"
#include "core/firewall.h"
#include "core/security.h"

enum opt_type {
	OT_FLAG,
	OT_STR,
	OT_SECONDS,
	OT_MS,
	OT_UINT,
	OT_COUNT,
	OT_IFACE,
	OT_DENY,
	OT_LIMIT,
	OT_ALERT
};

struct opt_def {
	const char *name;
	int short_name;
	enum opt_type type;
	size_t offset;
	const char *arg;
	const char *help;
};

#define OFF(f) offsetof(struct options, f)

static const struct opt_def defs[] = {
	{ "iface", 'i', OT_IFACE, 0, "IFACE",
	  "watch this interface (repeatable; default: all up, except lo)" },
	{ "netns", 'n', OT_STR, OFF(eng.netns), "NETNS",
	  "enter this named network namespace first" },
	{ "filter", 'f', OT_STR, OFF(filter), "FILTER",
	  "show only flows matching this tcpdump-syntax filter" },
	{ "probes", 'P', OT_STR, OFF(eng.probes), "LIST",
	  "probes to attach: default,tc,tc-ingress,tc-egress,xdp,tracepoints,latency,ssl,none or "
	  "KIND:TARGET; "
	  "-X removes" },
	{ "theme", 't', OT_STR, OFF(theme), "NAME", "colour theme name or file" },
	{ "interval", 'I', OT_SECONDS, OFF(interval_s), "SEC", "refresh interval (default 1)" },
	{ "duration", 'd', OT_SECONDS, OFF(duration_s), "SEC", "stop after this many seconds" },
	{ "flows", 'F', OT_UINT, OFF(eng.flow_entries), "N", "flow table size (default 65536)" },
	{ "idle", 'A', OT_SECONDS, OFF(eng.idle_timeout_s), "SEC",
	  "forget flows idle this long (default 300, 0 = never)" },
	{ "slow-ms", 'S', OT_MS, OFF(eng.slow_ms), "MS",
	  "HTTP requests at least this slow go to the slow list (default 200)" },
	{ "bpf-stats", 'B', OT_FLAG, OFF(eng.bpf_stats), NULL,
	  "keep BPF run-time statistics on (probe runs and ns/run; they cost every BPF program on "
	  "the host ~70 ns per run; the Probes pane turns them on while it is shown)" },
	{ "deny", 'D', OT_DENY, 0, "CIDR",
	  "XDP firewall: drop every packet from this IPv4/IPv6 prefix (repeatable)" },
	{ "limit", 'l', OT_LIMIT, 0, "CIDR:PPS",
	  "XDP firewall: pass at most PPS packets a second per source address of the prefix "
	  "(repeatable; [IPV6]:PPS for one IPv6 address)" },
	{ "block-ttl", 'T', OT_SECONDS, OFF(eng.block_ttl), "SEC",
	  "firewall rules expire this long after they are added (default 0 = never)" },
	{ "persist-rules", 'p', OT_FLAG, OFF(eng.persist_rules), NULL,
	  "keep the firewall after pktlens exits (pinned in " PL_PIN_DIR ")" },
	{ "flush-rules", 'X', OT_FLAG, OFF(flush_rules), NULL,
	  "remove what --persist-rules kept, and exit" },
	{ "force-block", 'K', OT_FLAG, OFF(eng.force_block), NULL,
	  "let rules cover the address of this SSH session (SSH_CONNECTION)" },
	{ "alert", 'W', OT_ALERT, 0, "NAME=VALUE",
	  "alert threshold (repeatable; 'off' turns detection off; see below)" },
	{ "json", 'j', OT_FLAG, OFF(json), NULL, "headless: one JSON object per interval" },
	{ "json-flows", 'J', OT_COUNT, OFF(json_flows), "N",
	  "--json lists the N flows with the most bytes in the interval (default 1000, 0 = all)" },
	{ "record", 'R', OT_STR, OFF(record), "FILE",
	  "also write every snapshot to FILE (compressed), beside the UI or --json" },
	{ "replay", 'Y', OT_STR, OFF(replay), "FILE",
	  "show a recording in the UI (or --json), no privileges needed" },
	{ "write", 'w', OT_STR, OFF(write), "FILE",
	  "write the packets -f selects as pcapng, each with its process (- for standard output)" },
	{ "snaplen", 's', OT_COUNT, OFF(snaplen), "BYTES",
	  "bytes kept of each written packet (default and at most 65535)" },
	{ "metrics", 'M', OT_STR, OFF(metrics), "ADDR:PORT",
	  "serve Prometheus/OpenMetrics text at http://ADDR:PORT/metrics (in the namespace "
	  "pktlens starts in, before -n)" },
	{ "metrics-flows", 'N', OT_COUNT, OFF(metrics_flows), "N",
	  "--metrics also gives per-flow series for the N flows with the most bytes (default 0)" },
	{ "list-probes", 'L', OT_FLAG, OFF(list_probes), NULL,
	  "print every probe with its state and exit" },
	{ "no-config", 'C', OT_FLAG, OFF(no_config), NULL,
	  "neither read nor write the saved settings ($XDG_CONFIG_HOME/pktlens/pktlensrc)" },
	{ "version", 'V', OT_FLAG, OFF(version), NULL, "print the version and exit" },
	{ "help", 'h', OT_FLAG, OFF(help), NULL, "print this help and exit" },
};
#define N_DEFS (sizeof(defs) / sizeof(defs[0]))

void options_usage(FILE *f)
{
	fprintf(f, "usage: pktlens [-i IFACE]... [-n NETNS] [-f FILTER] [--probes LIST] "
		   "[--theme NAME]\n"
		   "               [--interval SEC] [--duration SEC] [--json] [--list-probes]\n"
		   "               [--deny CIDR]... [--limit CIDR:PPS]... [--block-ttl SEC]\n"
		   "               [--persist-rules] [--flush-rules] [--alert NAME=VALUE]...\n"
		   "               [--record FILE]\n"
		   "       pktlens --replay FILE [--json] [--theme NAME]\n\n");
	for (size_t i = 0; i < N_DEFS; i++) {
		char left[48];
		snprintf(left, sizeof(left), "--%s%s%s", defs[i].name, defs[i].arg ? " " : "",
			 defs[i].arg ? defs[i].arg : "");
		if (strchr("infws", defs[i].short_name))
			fprintf(f, "  -%c, %-22s %s\n", defs[i].short_name, left, defs[i].help);
		else
			fprintf(f, "      %-22s %s\n", left, defs[i].help);
	}
	char th[2048];
	alerts_cfg_help(th, sizeof(th));
	fprintf(f, "\nalert thresholds (--alert NAME=VALUE, defaults in parentheses):\n%s", th);
}

static int parse_seconds(const char *s, double *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || *end || !isfinite(v) || v < 0 || v > 1e6)
		return -1;
	*out = v;
	return 0;
}

int options_parse(struct options *o, int argc, char **argv, char *err, size_t errlen)
{
	memset(o, 0, sizeof(*o));
	o->interval_s = 1;
	o->eng.flow_entries = 65536;
	o->eng.idle_timeout_s = 300;
	o->json_flows = PL_JSON_FLOWS_DEFAULT;
	alerts_cfg_default(&o->eng.alerts);

	struct option longs[N_DEFS + 1];
	char shorts[3 * N_DEFS + 2] = ":";
	for (size_t i = 0; i < N_DEFS; i++) {
		longs[i] =
		    (struct option){ defs[i].name,
				     defs[i].type == OT_FLAG ? no_argument : required_argument,
				     NULL, defs[i].short_name };
		if (strchr("infws", defs[i].short_name)) {
			size_t l = strlen(shorts);
			shorts[l] = (char)defs[i].short_name;
			shorts[l + 1] = defs[i].type == OT_FLAG ? '\0' : ':';
			shorts[l + 2] = '\0';
		}
	}
	longs[N_DEFS] = (struct option){ 0 };

	optind = 0; /* reset getopt so parsing can run more than once (tests) */
	opterr = 0;
	int c;
	unsigned char given[128] = { 0 };
	while ((c = getopt_long(argc, argv, shorts, longs, NULL)) != -1) {
		if (c == '?') {
			if (optopt)
				snprintf(err, errlen, "unknown option '-%c' (see --help)", optopt);
			else
				snprintf(err, errlen, "unknown option '%s' (see --help)",
					 argv[optind - 1]);
			return -1;
		}
		if (c == ':') {
			snprintf(err, errlen, "option '%s' needs a value", argv[optind - 1]);
			return -1;
		}
		const struct opt_def *d = NULL;
		for (size_t i = 0; i < N_DEFS; i++)
			if (defs[i].short_name == c)
				d = &defs[i];
		if (!d)
			continue;
		char *field = (char *)o + d->offset;
		o->interval_set |= c == 'I';
		given[c & 127] = 1;
		switch (d->type) {
		case OT_FLAG:
			*(int *)field = 1;
			break;
		case OT_STR:
			if (!*optarg) {
				snprintf(err, errlen, "--%s needs a non-empty value", d->name);
				return -1;
			}
			*(const char **)field = optarg;
			break;
		case OT_SECONDS:
			if (parse_seconds(optarg, (double *)field)) {
				snprintf(err, errlen, "--%s: '%s' is not a number of seconds",
					 d->name, optarg);
				return -1;
			}
			break;
		case OT_MS: {
			char *end;
			errno = 0;
			double v = strtod(optarg, &end);
			if (errno || end == optarg || *end || !(v >= PL_SLOW_MS_MIN) ||
			    v > PL_SLOW_MS_MAX) {
				snprintf(err, errlen,
					 "--%s: '%s' is not a number of milliseconds between %d "
					 "and %d",
					 d->name, optarg, PL_SLOW_MS_MIN, PL_SLOW_MS_MAX);
				return -1;
			}
			*(double *)field = v;
			break;
		}
		case OT_UINT: {
			char *end;
			errno = 0;
			unsigned long v = strtoul(optarg, &end, 10);
			if (errno || end == optarg || *end || v < 16 || v > (1UL << 24)) {
				snprintf(err, errlen,
					 "--%s: '%s' is not a count between 16 and %lu", d->name,
					 optarg, 1UL << 24);
				return -1;
			}
			*(unsigned *)field = (unsigned)v;
			break;
		}
		case OT_COUNT: {
			char *end;
			errno = 0;
			unsigned long v = strtoul(optarg, &end, 10);
			if (errno || end == optarg || *end || *optarg == '-' || v > (1UL << 24)) {
				snprintf(err, errlen, "--%s: '%s' is not a count between 0 and %lu",
					 d->name, optarg, 1UL << 24);
				return -1;
			}
			*(unsigned *)field = (unsigned)v;
			break;
		}
		case OT_DENY:
		case OT_LIMIT: {
			struct fw_spec spec;
			int action = d->type == OT_DENY ? PL_FW_DENY : PL_FW_LIMIT;
			if (fw_parse_arg(action, optarg, &spec, err, errlen))
				return -1;
			if (o->eng.n_fw_cli == PL_FW_CLI_MAX) {
				snprintf(err, errlen, "at most %d --deny and --limit",
					 PL_FW_CLI_MAX);
				return -1;
			}
			o->eng.fw_cli[o->eng.n_fw_cli].action = action;
			o->eng.fw_cli[o->eng.n_fw_cli++].arg = optarg;
			break;
		}
		case OT_ALERT:
			if (alerts_cfg_set(&o->eng.alerts, optarg, err, errlen))
				return -1;
			o->eng.alerts_set = 1;
			break;
		case OT_IFACE:
			if (o->eng.n_ifaces == PL_MAX_IFACES) {
				snprintf(err, errlen, "at most %d interfaces with -i",
					 PL_MAX_IFACES);
				return -1;
			}
			if (!*optarg || strlen(optarg) >= 16) {
				snprintf(err, errlen, "interface name '%s' is not valid", optarg);
				return -1;
			}
			o->eng.ifaces[o->eng.n_ifaces++] = optarg;
			break;
		}
	}
	if (optind < argc) {
		snprintf(err, errlen, "unexpected argument '%s' (see --help)", argv[optind]);
		return -1;
	}
	if (o->interval_s < 0.1) {
		snprintf(err, errlen, "--interval must be at least 0.1 seconds");
		return -1;
	}
	if (o->flush_rules && o->eng.n_fw_cli) {
		snprintf(err, errlen, "--flush-rules removes rules: it takes no --deny or --limit");
		return -1;
	}
	if (o->replay) {
		/* a recording has its interfaces, probes and timing: options that make them clash */
		for (size_t i = 0; i < N_DEFS; i++)
			if (given[defs[i].short_name & 127] &&
			    strchr("infPFASBLRdIwsMNDlTpXKW", defs[i].short_name)) {
				snprintf(
				    err, errlen,
				    "--%s does not apply to --replay (the recording has its own)",
				    defs[i].name);
				return -1;
			}
	}
	if (o->snaplen > 65535) {
		snprintf(err, errlen,
			 "--snaplen must be between 1 and 65535 (0 for the whole packet)");
		return -1;
	}
	if (o->write && !strcmp(o->write, "-") && o->json) {
		snprintf(err, errlen, "-w - and --json both write to standard output");
		return -1;
	}
	o->eng.list_only = o->list_probes;
	return 0;
}
