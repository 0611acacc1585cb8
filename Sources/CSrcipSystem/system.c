/* Linux calls that Swift's Glibc module hides (see include/csrcip_system.h). */
#define _GNU_SOURCE
#include <sched.h>
#include "csrcip_system.h"

int csrcip_setns_net(int fd)
{
	return setns(fd, CLONE_NEWNET);
}
