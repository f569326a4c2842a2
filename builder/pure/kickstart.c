/* kickstart.c: variable substitution, rootpw and lint for Anaconda kickstarts. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/cleanup.h"
#include "base/error.h"
#include "base/xalloc.h"
#include "pure/kickstart.h"

/* Commands Anaconda (pykickstart) knows, current and past releases; the
 * CentOS 7 era ones (install, auth, ...) are kept so older kickstarts lint
 * clean. Keep sorted by topic, one topic a line. */
static const char *const known_commands[] = {
    /* installer mode and interaction */
    "text", "graphical", "cmdline", "interactive", "autostep", "vnc", "rdp", "eula", "firstboot",
    "mediacheck", "rescue", "unsupported_hardware", "skipx", "xconfig", "monitor",
    /* locale and time */
    "lang", "langsupport", "keyboard", "timezone", "timesource",
    /* accounts and authentication */
    "rootpw", "user", "group", "sshkey", "sshpw", "auth", "authconfig", "authselect", "realm",
    /* network and security */
    "network", "firewall", "selinux", "services",
    /* installation source */
    "install", "upgrade", "url", "cdrom", "harddrive", "nfs", "hmc", "liveimg", "ostreesetup",
    "ostreecontainer", "bootc", "method", "repo", "updates", "module", "key",
    /* storage */
    "zerombr", "clearpart", "ignoredisk", "part", "partition", "autopart", "reqpart", "logvol",
    "volgroup", "raid", "btrfs", "mount", "snapshot", "device", "deviceprobe", "driverdisk", "dmraid",
    "multipath", "iscsi", "iscsiname", "fcoe", "zfcp", "nvdimm", "zipl",
    /* boot loader */
    "bootloader",
    /* end of installation */
    "poweroff", "shutdown", "reboot", "halt",
    /* subscription, logging */
    "rhsm", "syspurpose", "logging",
    NULL,
};

/* Sections: each runs to %end. %traceback is the old name of %onerror. */
static const char *const known_sections[] = {
    "%packages", "%pre", "%pre-install", "%post", "%onerror", "%traceback",
    "%addon", "%anaconda", "%certificate", NULL,
};

/* Top-level % directives that are not sections. */
static const char *const known_directives[] = { "%include", "%ksappend", NULL };

static int in_list(const char *const *list, const char *w, size_t len)
{
    for (size_t i = 0; list[i]; i++)
        if (strlen(list[i]) == len && memcmp(list[i], w, len) == 0)
            return 1;
    return 0;
}

int ks_known_command(const char *name)
{
    return in_list(known_commands, name, strlen(name)) || in_list(known_directives, name, strlen(name));
}

static FILE *memstream(char **buf, size_t *len)
{
    FILE *fp = open_memstream(buf, len);

    if (!fp)
        xalloc_die();
    return fp;
}

/* One line of text: [start, start+len) without its line ending; eol is
 * "\r\n", "\n" or "" (last line without a newline). */
struct line {
    const char *start;
    size_t len;
    const char *eol;
    int number;
};

/* Step to the next line; 0 at the end of text. */
static int next_line(const char **pos, struct line *l)
{
    const char *p = *pos, *nl;

    if (!*p)
        return 0;
    nl = strchr(p, '\n');
    l->start = p;
    l->number++;
    if (nl) {
        l->len = (size_t)(nl - p);
        l->eol = "\n";
        if (l->len > 0 && p[l->len - 1] == '\r') {
            l->len--;
            l->eol = "\r\n";
        }
        *pos = nl + 1;
    } else {
        l->len = strlen(p);
        l->eol = "";
        *pos = p + l->len;
    }
    return 1;
}

/* The first word of a line (after white space and a UTF-8 BOM on line 1). */
static const char *first_word(const struct line *l, size_t *wlen)
{
    const char *p = l->start, *end = l->start + l->len;

    if (l->number == 1 && l->len >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0)
        p += 3;
    while (p < end && isspace((unsigned char)*p))
        p++;
    const char *w = p;
    while (p < end && !isspace((unsigned char)*p))
        p++;
    *wlen = (size_t)(p - w);
    return w;
}

static int word_is(const char *w, size_t len, const char *s)
{
    return strlen(s) == len && memcmp(w, s, len) == 0;
}

/* ---- substitution ---- */

static int key_char(char c, int first)
{
    return c == '_' || isalpha((unsigned char)c) || (!first && isdigit((unsigned char)c));
}

/* Length of a KEY at p followed by "@@", or 0. */
static size_t key_at(const char *p)
{
    size_t n = 0;

    while (p[n] && key_char(p[n], n == 0))
        n++;
    return n > 0 && p[n] == '@' && p[n + 1] == '@' ? n : 0;
}

static int check_vars(char *const *vars)
{
    for (size_t i = 0; vars && vars[i]; i++) {
        const char *eq = strchr(vars[i], '=');
        size_t n = 0;

        if (eq)
            while (vars[i] + n < eq && key_char(vars[i][n], n == 0))
                n++;
        if (!eq || n == 0 || vars[i] + n != eq)
            return error("bad variable '%s': expected KEY=VALUE, KEY of letters, digits and '_'", vars[i]);
        if (strpbrk(eq + 1, "\r\n"))
            return error("variable %.*s: the value has a line break", (int)n, vars[i]);
    }
    return 0;
}

static const char *lookup(char *const *vars, const char *key, size_t len)
{
    const char *found = NULL;

    for (size_t i = 0; vars && vars[i]; i++)
        if (strncmp(vars[i], key, len) == 0 && vars[i][len] == '=')
            found = vars[i] + len + 1; /* the last one wins */
    return found;
}

char *ks_substitute(const char *text, char *const *vars, char **err_line)
{
    CLEANUP_FREE char *buf = NULL;
    size_t size = 0;
    const char *p, *line_start;
    int line = 1;
    FILE *out;

    if (err_line)
        *err_line = NULL;
    if (!text) {
        error("no kickstart text");
        return NULL;
    }
    if (check_vars(vars) < 0)
        return NULL;
    out = memstream(&buf, &size);
    for (p = line_start = text; *p;) {
        size_t klen;

        if (p[0] == '@' && p[1] == '@' && (klen = key_at(p + 2)) > 0) {
            const char *value = lookup(vars, p + 2, klen);

            if (!value) {
                fclose(out);
                error("kickstart line %d: unknown variable @@%.*s@@: pass --var %.*s=VALUE", line, (int)klen,
                      p + 2, (int)klen, p + 2);
                if (err_line) {
                    size_t n = strcspn(line_start, "\r\n");
                    *err_line = xstrndup(line_start, n);
                }
                return NULL;
            }
            fputs(value, out);
            p += 2 + klen + 2;
            continue;
        }
        if (*p == '\n') {
            line++;
            line_start = p + 1;
        }
        fputc(*p++, out);
    }
    fclose(out);
    return steal_pointer(&buf);
}

/* ---- rootpw ---- */

static int valid_crypt_hash(const char *h)
{
    size_t n = h ? strlen(h) : 0;

    if (n < 4 || h[0] != '$')
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)h[i]) && !strchr("./$=,-", h[i]))
            return 0;
    return 1;
}

/* Section state while walking lines: 1 inside %packages/%post/... */
static int section_step(const char *w, size_t wlen, int in_section)
{
    if (word_is(w, wlen, "%end"))
        return 0;
    if (in_list(known_sections, w, wlen))
        return 1;
    return in_section;
}

char *ks_set_rootpw(const char *text, const char *crypted_hash)
{
    CLEANUP_FREE char *buf = NULL;
    size_t size = 0;
    const char *pos = text;
    struct line l = { .number = 0 };
    int in_section = 0, done = 0;
    FILE *out;

    if (!text) {
        error("no kickstart text");
        return NULL;
    }
    if (!valid_crypt_hash(crypted_hash)) {
        error("rootpw: not a crypt(3) hash ($id$salt$hash): refusing to write a password in clear");
        return NULL;
    }
    out = memstream(&buf, &size);
    while (next_line(&pos, &l)) {
        size_t wlen;
        const char *w = first_word(&l, &wlen);

        if (!in_section && word_is(w, wlen, "rootpw")) {
            if (!done)
                fprintf(out, "rootpw --iscrypted %s%s", crypted_hash, l.eol);
            done = 1; /* later rootpw lines are dropped */
        } else {
            fwrite(l.start, 1, l.len, out);
            fputs(l.eol, out);
        }
        in_section = section_step(w, wlen, in_section);
    }
    fclose(out);
    if (done)
        return steal_pointer(&buf);

    /* None: add one after the first line, or first if that opens a section. */
    CLEANUP_FREE char *added = NULL;
    size_t added_size = 0;
    const char *eol;
    size_t wlen;

    out = memstream(&added, &added_size);
    pos = text;
    l.number = 0;
    if (!next_line(&pos, &l)) {
        fprintf(out, "rootpw --iscrypted %s\n", crypted_hash);
    } else {
        const char *w = first_word(&l, &wlen);
        eol = *l.eol ? l.eol : "\n";
        if (in_list(known_sections, w, wlen)) {
            fprintf(out, "rootpw --iscrypted %s%s%s", crypted_hash, eol, text);
        } else {
            fwrite(l.start, 1, l.len, out);
            fprintf(out, "%srootpw --iscrypted %s%s%s", eol, crypted_hash, eol, pos);
        }
    }
    fclose(out);
    return steal_pointer(&added);
}

/* ---- lint ---- */

struct issues {
    struct ks_issue *v;
    size_t n, cap;
};

static void add_issue(struct issues *is, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void add_issue(struct issues *is, int line, const char *fmt, ...)
{
    va_list ap;
    char *msg;

    if (is->n == is->cap) {
        is->cap = is->cap ? 2 * is->cap : 8;
        is->v = xreallocarray(is->v, is->cap, sizeof *is->v);
    }
    va_start(ap, fmt);
    if (vasprintf(&msg, fmt, ap) < 0)
        xalloc_die();
    va_end(ap);
    is->v[is->n].line = line;
    is->v[is->n].message = msg;
    is->n++;
}

/* Edit distance, for "did you mean"; words are short. */
static size_t distance(const char *a, size_t la, const char *b)
{
    size_t lb = strlen(b), row[64], prev, tmp;

    if (la >= 63 || lb >= 63)
        return 99;
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        prev = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            tmp = row[j];
            size_t best = prev + (a[i - 1] != b[j - 1]);
            if (row[j] + 1 < best)
                best = row[j] + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            prev = tmp;
        }
    }
    return row[lb];
}

static const char *suggest(const char *w, size_t len)
{
    const char *best = NULL;
    size_t best_d = len < 6 ? 2 : 3; /* a typo: 1 edit in a short word, 2 in a longer */

    if (len < 3)
        return NULL;
    for (size_t i = 0; known_commands[i]; i++) {
        size_t d = distance(w, len, known_commands[i]);
        if (d < best_d) {
            best_d = d;
            best = known_commands[i];
        }
    }
    return best;
}

static int cmp_issue(const void *a, const void *b)
{
    const struct ks_issue *x = a, *y = b;

    return (x->line > y->line) - (x->line < y->line);
}

/* Stable sort by line (issues are few): insertion sort keeps found order. */
static void sort_issues(struct ks_issue *v, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        struct ks_issue t = v[i];
        size_t j = i;
        while (j > 0 && cmp_issue(&v[j - 1], &t) > 0) {
            v[j] = v[j - 1];
            j--;
        }
        v[j] = t;
    }
}

int ks_lint(const char *text, struct ks_issue **issues, size_t *n)
{
    struct issues is = { NULL, 0, 0 };
    const char *pos = text;
    struct line l = { .number = 0 };
    const char *section = NULL; /* open section name (points into text) */
    size_t section_len = 0;
    int section_line = 0, has_clear = 0, has_end = 0, halt_line = 0, has_include = 0;

    *issues = NULL;
    *n = 0;
    if (!text)
        return error("no kickstart text");
    while (next_line(&pos, &l)) {
        size_t wlen;
        const char *w = first_word(&l, &wlen);

        if (section) {
            if (word_is(w, wlen, "%end")) {
                section = NULL;
                continue;
            }
            if (!in_list(known_sections, w, wlen))
                continue; /* package names, script lines */
            /* A new section: the open one was never closed. */
            add_issue(&is, section_line, "%.*s without %%end", (int)section_len, section);
            section = NULL;
        }
        if (wlen == 0 || w[0] == '#')
            continue;
        if (in_list(known_sections, w, wlen)) {
            section = w;
            section_len = wlen;
            section_line = l.number;
        } else if (word_is(w, wlen, "%end")) {
            add_issue(&is, l.number, "%%end without a section");
        } else if (in_list(known_directives, w, wlen)) {
            has_include = 1;
        } else if (w[0] == '%') {
            add_issue(&is, l.number, "unknown section '%.*s'", (int)wlen, w);
        } else if (in_list(known_commands, w, wlen)) {
            if (word_is(w, wlen, "clearpart") || word_is(w, wlen, "zerombr"))
                has_clear = 1;
            else if (word_is(w, wlen, "poweroff") || word_is(w, wlen, "shutdown") || word_is(w, wlen, "reboot"))
                has_end = 1;
            else if (word_is(w, wlen, "halt") && !halt_line)
                halt_line = l.number;
        } else {
            const char *s = suggest(w, wlen);
            if (s)
                add_issue(&is, l.number, "unknown command '%.*s' (did you mean '%s'?)", (int)wlen, w, s);
            else
                add_issue(&is, l.number, "unknown command '%.*s'", (int)wlen, w);
        }
    }
    if (section)
        add_issue(&is, section_line, "%.*s without %%end", (int)section_len, section);

    int last = l.number > 0 ? l.number : 1;
    if (!has_include && !has_clear)
        add_issue(&is, last, "no clearpart or zerombr: the install would stop to ask");
    if (!has_end && halt_line)
        add_issue(&is, halt_line, "halt waits for a key press at the end: use poweroff");
    else if (!has_end && !has_include)
        add_issue(&is, last, "no poweroff, shutdown or reboot: the install would wait at the end");

    sort_issues(is.v, is.n);
    *issues = is.v;
    *n = is.n;
    return 0;
}

void ks_issues_free(struct ks_issue *issues, size_t n)
{
    for (size_t i = 0; issues && i < n; i++)
        free(issues[i].message);
    free(issues);
}
