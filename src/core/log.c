/* Logging with levels; libbpf's messages are demoted to debug so they never clutter the screen. */
#include <stdarg.h>
#include <bpf/libbpf.h>

#include "core/log.h"

static FILE *log_file;
static enum log_level log_level = LOG_WARN;

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (!log_file || log_level < LOG_DEBUG)
		return 0;
	return vfprintf(log_file, fmt, ap);
}

void log_init(FILE *f, enum log_level level)
{
	log_file = f;
	log_level = level;
	libbpf_set_print(libbpf_print);
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	if (!log_file || level > log_level)
		return;
	va_list ap;
	va_start(ap, fmt);
	fputs("pktlens: ", log_file);
	vfprintf(log_file, fmt, ap);
	fputc('\n', log_file);
	va_end(ap);
	fflush(log_file);
}
