/* proc.h: processes identified by pid AND start time, so a reused pid is
 * never mistaken for the run that recorded it. */
#ifndef VMSTAMP_PROC_H
#define VMSTAMP_PROC_H

#include <sys/types.h>

/* The start time of PID (clock ticks since boot, /proc/PID/stat field 22);
 * 0 if there is no such process, or it is a zombie (it has ended). */
unsigned long long proc_start_time(pid_t pid);
/* 1 if PID is alive and started at START. */
int proc_alive(pid_t pid, unsigned long long start);
/* This run's id, "<pid>-<start time>": names its journal and private files. */
const char *proc_run_id(void);
/* SIGKILL every process whose open files include PATH (any file below it
 * if PATH ends in '/') and whose command
 * name starts with PREFIX (e.g. "qemu"), and wait (up to 10 s) until they
 * are gone. Returns how many were killed. */
int proc_kill_holders(const char *path, const char *prefix);

#endif
