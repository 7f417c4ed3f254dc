/* After attaching: keep only the capabilities that toggling probes and reading /proc need, and no new privileges. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/capability.h>

#include "app/privs.h"

int privs_drop(uint64_t keep, char *err, size_t errlen)
{
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) {
		snprintf(err, errlen, "cannot set no_new_privs: %s", strerror(errno));
		return -errno;
	}
	/* bounding set first: dropping from it needs CAP_SETPCAP, which goes below */
	for (int c = 0; c <= 63; c++) {
		if (keep & (1ULL << c))
			continue;
		if (prctl(PR_CAPBSET_READ, c, 0, 0, 0) == 1)
			prctl(PR_CAPBSET_DROP, c, 0, 0, 0);
	}
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);

	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2];
	memset(data, 0, sizeof(data));
	if (syscall(SYS_capget, &hdr, data)) {
		snprintf(err, errlen, "cannot read capabilities: %s", strerror(errno));
		return -errno;
	}
	uint64_t have = (uint64_t)data[0].permitted | ((uint64_t)data[1].permitted << 32);
	uint64_t now = have & keep;
	for (int i = 0; i < 2; i++) {
		data[i].effective = data[i].permitted = (uint32_t)(now >> (32 * i));
		data[i].inheritable = 0;
	}
	if (syscall(SYS_capset, &hdr, data)) {
		snprintf(err, errlen, "cannot drop capabilities: %s", strerror(errno));
		return -errno;
	}
	return 0;
}
