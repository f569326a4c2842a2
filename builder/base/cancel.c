/* cancel.c: one signal and cancel helper for every pipeline. */
#include <signal.h>
#include <stddef.h>

#include "base/cancel.h"
#include "base/error.h"

static volatile int flag; /* sig_atomic_t is int on Linux */
static int depth;
static struct sigaction old_int, old_term, old_hup;

static void on_signal(int sig)
{
    (void)sig;
    flag = 1;
}

void cancel_push(void)
{
    struct sigaction sa = { .sa_handler = on_signal };

    if (depth++ > 0)
        return;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    sigaction(SIGHUP, &sa, &old_hup);
}

void cancel_pop(void)
{
    if (depth == 0 || --depth > 0)
        return;
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    sigaction(SIGHUP, &old_hup, NULL);
}

int cancel_requested(void)
{
    return flag;
}

volatile int *cancel_flag(void)
{
    return &flag;
}

void cancel_reset(void)
{
    flag = 0;
}

int cancel_check(const char *what)
{
    if (!flag)
        return 0;
    return error_replace("interrupted: %s", what);
}
