/* kickstart.h: prepare and lint Anaconda kickstart files (pure, no I/O). */
#ifndef VMSTAMP_KICKSTART_H
#define VMSTAMP_KICKSTART_H

#include <stddef.h>

/* Replace every @@KEY@@ (KEY: [A-Za-z_][A-Za-z0-9_]*) with its value from
 * vars, a NULL-terminated list of "KEY=VALUE" strings (the last one given
 * for a KEY wins). Values are inserted verbatim and not scanned again; a
 * value with a newline is refused (it would inject kickstart commands).
 * '@@' not forming @@KEY@@ is left alone. An unknown @@KEY@@ is an error:
 * NULL, recorded as "kickstart line N: unknown variable @@KEY@@: pass --var
 * KEY=VALUE"; then, if err_line is not NULL, *err_line is a copy of that
 * line (caller frees), else it is set to NULL. Returns the new text (caller frees). */
char *ks_substitute(const char *text, char *const *vars, char **err_line);

/* Make the first command-section "rootpw ..." line "rootpw --iscrypted
 * HASH" and drop any later ones (lines in %pre/%post/... sections and
 * comments are not commands and are left alone). Without one, the line is
 * added after the first line (before it if the first line opens a section).
 * crypted_hash must be a crypt(3) "$id$..." hash with no white space:
 * anything else is refused (NULL, error recorded), so plaintext is never
 * written. CRLF files keep CRLF on the new line. Caller frees. */
char *ks_set_rootpw(const char *text, const char *crypted_hash);

/* One problem found by ks_lint. line is 1-based; a problem with the whole
 * file (a missing command) is reported on the last line. */
struct ks_issue {
    int line;
    char *message;
};

/* Lint a kickstart: unknown commands, unknown sections, a section without
 * %end (reported where it starts), %end outside a section, no clearpart or
 * zerombr, no poweroff/shutdown/reboot (and 'halt', which waits for a key
 * press). The two "no ..." checks are skipped when a top-level %include
 * may supply the command. CRLF, trailing white space and a UTF-8 BOM are
 * fine. *issues (free with ks_issues_free) is sorted by line, *n its
 * length (0: clean). Returns 0, or -1 (error recorded) for NULL text. */
int ks_lint(const char *text, struct ks_issue **issues, size_t *n);
void ks_issues_free(struct ks_issue *issues, size_t n);

/* The table ks_lint knows: 1 if name is a kickstart command (or %include, %ksappend). */
int ks_known_command(const char *name);

#endif
