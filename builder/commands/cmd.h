/* cmd.h: the command table and what commands share. */
#ifndef VMSTAMP_CMD_H
#define VMSTAMP_CMD_H

#include <libvirt/libvirt.h>

enum cmd_flags {
    CMD_NEEDS_ROOT = 1 << 0,    /* libvirt qemu:///system, libguestfs on system disks */
};

struct cmd {
    const char *name;
    int (*fn)(int argc, char **argv);
    unsigned flags;
    const char *summary;
    const char *usage; /* options, one per line */
};

extern const struct cmd commands[];

/* Global options (main.c). */
extern const char *opt_uri;

/* Print "usage: vmstamp NAME ..." for a command; returns EXIT_SUCCESS. */
int cmd_usage(const char *name, int to_stderr);
/* Report a bad option: one line, exit code 2. */
int cmd_bad_usage(const char *name, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Open the connection chosen by -c (error recorded on failure). */
virConnectPtr cmd_connect(void);
/* The skeleton of a command that changes something: connect (*CONN) and
 * begin a run described by FMT (NULL on error, recorded); then, after the
 * pipeline, cmd_end(): commit if OK, else undo; report the error; close
 * CONN. Returns the exit status. Results are printed after cmd_end. */
struct run;
struct run *cmd_begin(virConnectPtr *conn, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int cmd_end(virConnectPtr conn, struct run *run, int ok);

/* --json output: every command's is one object whose "version" is
 * CMD_JSON_VERSION (README.md, "JSON output"). cmd_json_new() makes it;
 * cmd_json_print() prints it pretty on stdout and frees it. */
#define CMD_JSON_VERSION 1
struct json_object;
struct json_object *cmd_json_new(void);
void cmd_json_print(struct json_object *o);
/* A string, or JSON null for NULL. */
struct json_object *cmd_json_string(const char *s);

int cmd_clone(int argc, char **argv);
int cmd_list(int argc, char **argv);
int cmd_rm(int argc, char **argv);
int cmd_doctor(int argc, char **argv);
int cmd_template(int argc, char **argv);
int cmd_build(int argc, char **argv);
int cmd_kickstart(int argc, char **argv);
int cmd_install(int argc, char **argv);
int cmd_gc(int argc, char **argv);
int cmd_fleet(int argc, char **argv);
int cmd_hook(int argc, char **argv);

#endif
