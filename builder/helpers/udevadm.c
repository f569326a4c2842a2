/* udevadm.c: /usr/sbin/udevadm in vmstamp's clone appliance
 * (adapters/appliance.h), ahead of the real one in /usr/bin or /bin.
 *
 * guestfsd runs "udevadm [--debug] settle -E FILE" for every drive when it
 * starts and before every call that names a device. udevadm returns 0 at
 * once when FILE exists; this answers that case itself and hands every
 * other call, unchanged, to udevadm. It is a static program, built with
 * vmstamp and embedded in it: under TCG starting it costs less than
 * starting udevadm or a shell script.
 *
 * Built for the tests with -DUDEVADM_FROM_ENV, it runs $UDEVADM instead. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    int i = argc > 1 && strcmp(argv[1], "--debug") == 0 ? 2 : 1;

    if (argc == i + 3 && strcmp(argv[i], "settle") == 0 && strcmp(argv[i + 1], "-E") == 0 &&
        access(argv[i + 2], F_OK) == 0)
        return 0;
#ifdef UDEVADM_FROM_ENV
    const char *fake = getenv("UDEVADM");
    if (fake)
        execv(fake, argv);
#else
    execv("/usr/bin/udevadm", argv);
    execv("/bin/udevadm", argv);
#endif
    return 127;
}
