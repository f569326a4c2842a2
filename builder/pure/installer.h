/* installer.h: what the install pipeline decides without running anything
 * (pure; unit-tested): the installer's kernel command line, the serial
 * console read line by line (failures, the kernel's last word), elapsed
 * times as the progress line shows them. */
#ifndef VMSTAMP_INSTALLER_H
#define VMSTAMP_INSTALLER_H

#include <stddef.h>

/* 1 if S is exactly 64 hex digits (either case): a SHA-256. */
int is_sha256_hex(const char *s);

/* 1 if ARGS (kernel arguments) has a word ks=... or inst.ks=...: vmstamp
 * injects the kickstart itself, so --extra-args may not name one. */
int installer_args_name_kickstart(const char *args);

/* The installer's kernel command line: KS_ARG ("ks" or "inst.ks", as the
 * OS variant's anaconda wants) naming /ks.cfg in the initrd, the ISO by its
 * volume id VOLID (a blank becomes \x20, as dracut's LABEL= wants), the
 * serial console, then EXTRA (may be NULL). Caller frees. */
char *installer_cmdline(const char *ks_arg, const char *volid, const char *extra);

/* "42s", "3m07s", "1h02m03s". */
void installer_elapsed(long seconds, char *buf, size_t len);

#define CONSOLE_LINE_MAX 512

/* The serial console, fed as it grows. Lines are split on '\n'; control
 * bytes (carriage returns, escape sequences' ESC) are dropped; a line
 * longer than the buffer is cut. Zero-initialise. */
struct console_lines {
    char line[CONSOLE_LINE_MAX];   /* the line being read (incomplete) */
    size_t len;
    char last[CONSOLE_LINE_MAX];   /* last non-empty complete line */
    char failed[CONSOLE_LINE_MAX]; /* first line that says the install failed */
};

void console_feed(struct console_lines *c, const char *buf, size_t n);
/* A line that says the install failed: "INSTALLER: error:", a kernel panic. */
int console_failure(const char *line);
/* The kernel's last line when the guest powers off, halts or reboots. */
int console_final(const char *line);
/* The last MAX non-empty lines of TEXT (a whole console log), pointers into
 * TEXT, which is changed in place: lines cut at '\n', control bytes but
 * tabs become blanks, trailing blanks dropped. Returns how many. */
size_t console_tail(char *text, const char **lines, size_t max);

#endif
