/* installer.c: see installer.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pure/installer.h"

int is_sha256_hex(const char *s)
{
    return s && strlen(s) == 64 && strspn(s, "0123456789abcdefABCDEF") == 64;
}

int installer_args_name_kickstart(const char *args)
{
    for (const char *p = args; *p;) {
        size_t n;
        p += strspn(p, " \t");
        n = strcspn(p, " \t");
        if ((n >= 3 && strncmp(p, "ks=", 3) == 0) || (n >= 8 && strncmp(p, "inst.ks=", 8) == 0))
            return 1;
        p += n;
    }
    return 0;
}

char *installer_cmdline(const char *ks_arg, const char *volid, const char *extra)
{
    char *s = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&s, &len);

    if (!fp)
        abort();
    fprintf(fp, "%s=file:/ks.cfg inst.stage2=hd:LABEL=", ks_arg);
    for (const char *p = volid; *p; p++)
        if (*p == ' ')
            fputs("\\x20", fp);
        else
            fputc(*p, fp);
    fputs(" console=ttyS0,115200", fp);
    if (extra && *extra)
        fprintf(fp, " %s", extra);
    fclose(fp);
    return s; /* caller frees */
}

void installer_elapsed(long s, char *buf, size_t len)
{
    if (s >= 3600)
        snprintf(buf, len, "%ldh%02ldm%02lds", s / 3600, s / 60 % 60, s % 60);
    else if (s >= 60)
        snprintf(buf, len, "%ldm%02lds", s / 60, s % 60);
    else
        snprintf(buf, len, "%lds", s);
}

int console_failure(const char *line)
{
    return strstr(line, "INSTALLER: error:") != NULL || strstr(line, "Kernel panic") != NULL;
}

int console_final(const char *line)
{
    return strstr(line, "reboot: Power down") != NULL || strstr(line, "reboot: System halted") != NULL ||
           strstr(line, "reboot: Restarting system") != NULL;
}

static void console_end_line(struct console_lines *c)
{
    size_t k = 0;

    /* Drop carriage returns and other control bytes (escape sequences). */
    for (size_t i = 0; i < c->len; i++)
        if ((unsigned char)c->line[i] >= 0x20 && c->line[i] != 0x7f)
            c->line[k++] = c->line[i];
    c->line[k] = '\0';
    if (k > 0)
        memcpy(c->last, c->line, k + 1);
    if (!c->failed[0] && console_failure(c->line))
        memcpy(c->failed, c->line, k + 1);
    c->len = 0;
}

void console_feed(struct console_lines *c, const char *buf, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (buf[i] == '\n')
            console_end_line(c);
        else if (c->len < sizeof c->line - 1)
            c->line[c->len++] = buf[i];
    }
}

size_t console_tail(char *text, const char **lines, size_t max)
{
    size_t n = 0;

    if (max == 0)
        return 0;
    for (char *p = text, *nl; *p; p = nl + 1) {
        nl = strchr(p, '\n');
        char *end = nl ? nl : p + strlen(p);
        *end = '\0';
        for (char *q = p; *q; q++)
            if ((unsigned char)*q < 0x20 && *q != '\t')
                *q = ' ';
        while (end > p && end[-1] == ' ')
            *--end = '\0';
        if (*p) {
            if (n == max) {
                memmove(lines, lines + 1, (max - 1) * sizeof *lines);
                n--;
            }
            lines[n++] = p;
        }
        if (!nl)
            break;
    }
    return n;
}
