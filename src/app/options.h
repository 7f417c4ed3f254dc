/* Command-line options (the stable contract in DESIGN.md), parsed from a table onto a config struct. */
#ifndef PKTLENS_OPTIONS_H
#define PKTLENS_OPTIONS_H

#include <stddef.h>

#include "core/engine.h"

struct options {
	struct engine_opts eng;
	const char *filter;
	const char *theme;
	double interval_s;
	double duration_s; /* 0 = until interrupted */
	int interval_set;  /* --interval given: it beats the saved setting */
	int no_config;
	int json;
	unsigned json_flows;	/* --json-flows: flows listed per object, 0 = all */
	const char *write;	/* -w FILE, "-" for standard output */
	unsigned snaplen;	/* -s: bytes kept of each written packet, 0 = 65535 */
	const char *metrics;	/* --metrics ADDR:PORT */
	unsigned metrics_flows; /* --metrics-flows: per-flow series for the top N flows */
	int list_probes;
	const char *record; /* --record FILE */
	const char *replay; /* --replay FILE */
	int flush_rules;    /* --flush-rules: remove what --persist-rules kept, and exit */
	int help;
	int version;
};

/* Returns 0, or -1 with one sentence in err. argv is not modified. */
int options_parse(struct options *o, int argc, char **argv, char *err, size_t errlen);
void options_usage(FILE *f);

#endif
