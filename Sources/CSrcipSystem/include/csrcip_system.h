#ifndef CSRCIP_SYSTEM_H
#define CSRCIP_SYSTEM_H

/* setns(fd, CLONE_NEWNET) for the calling thread. glibc declares setns(2) only with _GNU_SOURCE, which
 * Swift's Glibc module does not define; this target is compiled with it. Returns 0, or -1 with errno set. */
int csrcip_setns_net(int fd);

#endif
