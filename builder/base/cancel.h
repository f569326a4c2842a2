/* cancel.h: one way to stop. Ctrl-C, SIGTERM and SIGHUP set one flag that
 * long steps poll (and libguestfs steps get as their cancel flag); the
 * previous handlers come back when the step is over. */
#ifndef VMSTAMP_CANCEL_H
#define VMSTAMP_CANCEL_H

/* Catch SIGINT, SIGTERM, SIGHUP (nests: only the outermost pair acts). */
void cancel_push(void);
/* Restore the handlers cancel_push replaced. */
void cancel_pop(void);
/* Nonzero once a signal came (stays set until cancel_reset). */
int cancel_requested(void);
/* The flag itself, for code that polls a pointer (libguestfs loops). */
volatile int *cancel_flag(void);
void cancel_reset(void);
/* If a signal came: record "interrupted: WHAT" (replacing any earlier
 * error) and return -1; else 0. */
int cancel_check(const char *what);

#endif
