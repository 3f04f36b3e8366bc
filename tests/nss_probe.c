/* LD_PRELOAD probe for tests/harden_test.py: every group lookup by name (getgrnam,
 * getgrnam_r) appends one line to the file $VWALL_NSS_PROBE_LOG, "main" when the process's
 * main thread made it and "worker" otherwise, then does the real lookup. A lookup through
 * NSS may wait on a directory server, so a running wall must make none on its main thread. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <grp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static void note(void)
{
    const char *path = getenv("VWALL_NSS_PROBE_LOG");
    if (!path)
        return;
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return;
    const char *who = syscall(SYS_gettid) == getpid() ? "main\n" : "worker\n";
    ssize_t n = write(fd, who, strlen(who));
    (void)n; /* a lost line shows as a failed check */
    close(fd);
}

struct group *getgrnam(const char *name)
{
    note();
    struct group *(*real)(const char *) =
        (struct group * (*)(const char *)) dlsym(RTLD_NEXT, "getgrnam");
    return real(name);
}

int getgrnam_r(const char *name, struct group *grp, char *buf, size_t len, struct group **out)
{
    note();
    int (*real)(const char *, struct group *, char *, size_t, struct group **) =
        (int (*)(const char *, struct group *, char *, size_t, struct group **))dlsym(RTLD_NEXT,
                                                                                      "getgrnam_r");
    return real(name, grp, buf, len, out);
}
