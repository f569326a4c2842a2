/* edit.c: see edit.h. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/cleanup.h"
#include "pure/edit.h"
#include "base/xalloc.h"

struct sbuf {
    char *s;
    size_t len;
    FILE *fp;
};

static void sb_init(struct sbuf *b)
{
    b->s = NULL;
    b->len = 0;
    b->fp = open_memstream(&b->s, &b->len);
    if (!b->fp)
        xalloc_die();
}

static char *sb_finish(struct sbuf *b, const char *orig)
{
    fclose(b->fp);
    if (strcmp(b->s, orig) == 0) {
        free(b->s);
        return NULL;
    }
    return b->s;
}

static int is_mac_at(const char *p)
{
    for (int i = 0; i < 17; i++) {
        if (i % 3 == 2 ? p[i] != ':' && p[i] != '-' : !isxdigit((unsigned char)p[i]))
            return 0;
    }
    return !isxdigit((unsigned char)p[17]) && p[17] != ':';
}

char *edit_replace_mac(const char *text, const char *old_mac, const char *new_mac)
{
    struct sbuf b;

    sb_init(&b);
    for (const char *p = text; *p;) {
        if ((p == text || !isxdigit((unsigned char)p[-1])) && strncasecmp(p, old_mac, 17) == 0 &&
            is_mac_at(p)) {
            int upper = 0;
            for (int i = 0; i < 17; i++)
                if (isupper((unsigned char)p[i]))
                    upper = 1;
            for (int i = 0; i < 17; i++)
                fputc(upper ? toupper((unsigned char)new_mac[i]) : tolower((unsigned char)new_mac[i]), b.fp);
            p += 17;
        } else {
            fputc(*p++, b.fp);
        }
    }
    return sb_finish(&b, text);
}

int edit_keyfile_uuid(const char *text, char out[37])
{
    int in_connection = 0;

    for (const char *line = text; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
        while (*line == ' ' || *line == '\t')
            line++;
        if (*line == '[') {
            in_connection = strncmp(line, "[connection]", 12) == 0;
            continue;
        }
        if (!in_connection || strncmp(line, "uuid=", 5) != 0)
            continue;
        size_t n = strcspn(line + 5, " \t\r\n");
        if (n != 36)
            continue;
        memcpy(out, line + 5, 36);
        out[36] = '\0';
        return 0;
    }
    return -1;
}

char *edit_replace_uuids(const char *text, char (*olds)[37], char (*news)[37], size_t n)
{
    struct sbuf b;

    sb_init(&b);
    for (const char *p = text; *p;) {
        size_t k = n;
        if (p == text || !isxdigit((unsigned char)p[-1]))
            for (k = 0; k < n; k++)
                if (strncasecmp(p, olds[k], 36) == 0 && !isxdigit((unsigned char)p[36]) && p[36] != '-')
                    break;
        if (k < n) {
            fputs(news[k], b.fp);
            p += 36;
        } else {
            fputc(*p++, b.fp);
        }
    }
    return sb_finish(&b, text);
}

int edit_find_pinned_mac(const char *text, char out[18])
{
    static const char *keys[] = { "HWADDR", "mac-address", "macaddress", "MACAddress",
                                  "PermanentMACAddress", "ATTR{address}", "hwaddress", NULL };

    for (const char *line = text; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
        const char *end = strchr(line, '\n');
        size_t n = end ? (size_t)(end - line) : strlen(line);
        const char *p = line;
        while (p < line + n && isspace((unsigned char)*p))
            p++;
        if (*p == '#')
            continue;
        for (int k = 0; keys[k]; k++) {
            const char *hit = strstr(p, keys[k]);
            if (!hit || hit >= line + n)
                continue;
            for (const char *q = hit + strlen(keys[k]); q + 17 <= line + n; q++) {
                if (is_mac_at(q) && (q == line || !isxdigit((unsigned char)q[-1]))) {
                    for (int i = 0; i < 17; i++)
                        out[i] = i % 3 == 2 ? ':' : (char)tolower((unsigned char)q[i]);
                    out[17] = '\0';
                    return 0;
                }
            }
        }
    }
    return -1;
}

char *edit_shell_var(const char *text, const char *var, const char *value)
{
    struct sbuf b;
    size_t vlen = strlen(var);

    sb_init(&b);
    for (const char *line = text; *line;) {
        const char *end = strchr(line, '\n');
        size_t n = end ? (size_t)(end - line + 1) : strlen(line);
        const char *p = line;
        while (*p == ' ' || *p == '\t')
            p++;
        if (strncmp(p, var, vlen) == 0 && p[vlen] == '=') {
            char q = p[vlen + 1];
            fwrite(line, 1, (size_t)(p - line) + vlen + 1, b.fp);
            if (q == '"' || q == '\'')
                fprintf(b.fp, "%c%s%c", q, value, q);
            else
                fputs(value, b.fp);
            fputs(end ? "\n" : "", b.fp);
        } else {
            fwrite(line, 1, n, b.fp);
        }
        line += n;
    }
    return sb_finish(&b, text);
}

static int word_char(char c)
{
    return isalnum((unsigned char)c) || c == '-' || c == '.' || c == '_';
}

/* Replace whole-word WORD by REPL in text; *count receives the number. */
static char *replace_word(const char *text, const char *word, const char *repl, int *count)
{
    struct sbuf b;
    size_t wl = strlen(word);

    *count = 0;
    sb_init(&b);
    for (const char *p = text; *p;) {
        if (strncmp(p, word, wl) == 0 && (p == text || !word_char(p[-1])) && !word_char(p[wl])) {
            fputs(repl, b.fp);
            p += wl;
            (*count)++;
        } else {
            fputc(*p++, b.fp);
        }
    }
    fclose(b.fp);
    return b.s;
}

char *edit_hosts(const char *text, const char *old_fqdn, const char *new_fqdn, int append_loopback)
{
    CLEANUP_FREE char *old_short = xstrndup(old_fqdn ? old_fqdn : "", strcspn(old_fqdn ? old_fqdn : "", "."));
    CLEANUP_FREE char *new_short = xstrndup(new_fqdn, strcspn(new_fqdn, "."));
    char *cur = xstrdup(text), *next;
    int n1 = 0, n2 = 0;

    if (old_fqdn && *old_fqdn && strcmp(old_fqdn, "localhost") != 0) {
        next = replace_word(cur, old_fqdn, new_fqdn, &n1);
        free(cur);
        cur = next;
        if (strcmp(old_short, old_fqdn) != 0 && strcmp(old_short, "localhost") != 0) {
            next = replace_word(cur, old_short, new_short, &n2);
            free(cur);
            cur = next;
        }
    }
    if (n1 + n2 == 0 && append_loopback) {
        size_t l = strlen(cur);
        char *app;
        if (strcmp(new_fqdn, new_short) == 0)
            app = xasprintf("%s%s127.0.1.1\t%s\n", cur, l && cur[l - 1] != '\n' ? "\n" : "", new_fqdn);
        else
            app = xasprintf("%s%s127.0.1.1\t%s %s\n", cur, l && cur[l - 1] != '\n' ? "\n" : "",
                            new_fqdn, new_short);
        free(cur);
        cur = app;
    }
    if (strcmp(cur, text) == 0) {
        free(cur);
        return NULL;
    }
    return cur;
}

char *edit_shadow(const char *text, const char *user, const char *hash)
{
    struct sbuf b;
    size_t ul = strlen(user);

    sb_init(&b);
    for (const char *line = text; *line;) {
        const char *end = strchr(line, '\n');
        size_t n = end ? (size_t)(end - line + 1) : strlen(line);
        if (strncmp(line, user, ul) == 0 && line[ul] == ':') {
            const char *rest = strchr(line + ul + 1, ':');
            fprintf(b.fp, "%s:%s", user, hash);
            if (rest && rest < line + n)
                fwrite(rest, 1, (size_t)(line + n - rest), b.fp);
            else
                fputs(end ? ":\n" : ":", b.fp);
        } else {
            fwrite(line, 1, n, b.fp);
        }
        line += n;
    }
    return sb_finish(&b, text);
}

char *edit_os_release_get(const char *text, const char *key)
{
    size_t kl = strlen(key);

    for (const char *line = text; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
        if (strncmp(line, key, kl) == 0 && line[kl] == '=') {
            const char *v = line + kl + 1;
            size_t n = strcspn(v, "\n");
            if (n >= 2 && (v[0] == '"' || v[0] == '\'') && v[n - 1] == v[0]) {
                v++;
                n -= 2;
            }
            return xstrndup(v, n);
        }
    }
    return NULL;
}

char *edit_guest_file(const char *path, const char *text, const struct clone_edit *e)
{
    const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    char *cur = xstrdup(text), *next;

    if (strcmp(path, "/etc/hostname") == 0 || strcmp(path, "/etc/HOSTNAME") == 0 ||
        strcmp(path, "/etc/mailname") == 0) {
        free(cur);
        cur = xasprintf("%s\n", e->new_hostname);
    } else if (strcmp(path, "/etc/sysconfig/network") == 0) {
        next = edit_shell_var(cur, "HOSTNAME", e->new_hostname);
        if (next) {
            free(cur);
            cur = next;
        }
    } else if (strcmp(path, "/etc/hosts") == 0) {
        next = edit_hosts(cur, e->old_hostname, e->new_hostname, e->debian_like);
        if (next) {
            free(cur);
            cur = next;
        }
    }
    if (strncmp(base, "ifcfg-", 6) == 0) {
        next = edit_shell_var(cur, "DHCP_HOSTNAME", e->new_hostname);
        if (next) {
            free(cur);
            cur = next;
        }
    }
    if (e->old_mac && e->old_mac[0]) {
        next = edit_replace_mac(cur, e->old_mac, e->new_mac);
        if (next) {
            free(cur);
            cur = next;
        }
    }
    if (strcmp(cur, text) == 0) {
        free(cur);
        return NULL;
    }
    return cur; /* caller frees */
}

char *edit_drop_lines(const char *text, const char *const *prefixes)
{
    struct sbuf b;

    sb_init(&b);
    for (const char *line = text; *line;) {
        const char *end = strchr(line, '\n');
        size_t n = end ? (size_t)(end - line + 1) : strlen(line);
        const char *p = line;
        int drop = 0;
        while (*p == ' ' || *p == '\t')
            p++;
        for (size_t k = 0; prefixes[k] && !drop; k++)
            drop = strncmp(p, prefixes[k], strlen(prefixes[k])) == 0;
        if (!drop)
            fwrite(line, 1, n, b.fp);
        line += n;
    }
    return sb_finish(&b, text);
}

char *edit_netplan_unpin(const char *text)
{
    struct sbuf b;
    CLEANUP_FREE char *set_name = NULL;

    for (const char *p = strstr(text, "set-name:"); p && !set_name; p = NULL) {
        p += strlen("set-name:");
        p += strspn(p, " \t\"'");
        set_name = xstrndup(p, strcspn(p, " \t\"'\r\n#"));
    }
    sb_init(&b);
    for (const char *line = text; *line;) {
        const char *end = strchr(line, '\n');
        size_t n = end ? (size_t)(end - line + 1) : strlen(line);
        const char *p = line;
        while (*p == ' ' || *p == '\t')
            p++;
        if (strncmp(p, "macaddress:", 11) == 0) {
            fwrite(line, 1, (size_t)(p - line), b.fp);
            fprintf(b.fp, "name: \"%s\"\n", set_name && *set_name ? set_name : "*");
        } else if (!(set_name && strncmp(p, "set-name:", 9) == 0)) {
            fwrite(line, 1, n, b.fp);
        }
        line += n;
    }
    return sb_finish(&b, text);
}

char **edit_normal_users(const char *passwd)
{
    char **v = xcalloc(1, sizeof *v);

    for (const char *line = passwd; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
        char name[256];
        long uid;
        if (sscanf(line, "%255[^:]:%*[^:]:%ld:", name, &uid) == 2 && uid >= 1000 && uid != 65534) {
            strv_append(&v, xstrdup(name));
        }
    }
    return v;
}

static int in_list(const char *s, size_t len, char *const *users)
{
    for (size_t i = 0; users[i]; i++)
        if (strlen(users[i]) == len && strncmp(users[i], s, len) == 0)
            return 1;
    return 0;
}

char *edit_remove_users(const char *text, char *const *users)
{
    struct sbuf b;

    sb_init(&b);
    for (const char *line = text; *line;) {
        const char *end = strchr(line, '\n');
        size_t n = end ? (size_t)(end - line + 1) : strlen(line);
        size_t name_len = strcspn(line, ":\n");
        if (line[name_len] == ':' && in_list(line, name_len, users)) {
            line += n;
            continue;
        }
        /* group/gshadow: the last field is a comma-separated member list. */
        const char *last = line + n - (end ? 1 : 0);
        const char *colon = NULL;
        int fields = 0;
        for (const char *q = line; q < last; q++)
            if (*q == ':') {
                colon = q;
                fields++;
            }
        if (colon && fields == 3) {
            fwrite(line, 1, (size_t)(colon - line + 1), b.fp);
            int first = 1;
            for (const char *m = colon + 1; m < last;) {
                size_t ml = strcspn(m, ",\n");
                if (m + ml > last)
                    ml = (size_t)(last - m);
                if (ml && !in_list(m, ml, users)) {
                    fprintf(b.fp, "%s%.*s", first ? "" : ",", (int)ml, m);
                    first = 0;
                }
                m += ml + (m[ml] == ',' ? 1 : 0);
                if (ml == 0 && m[0] != ',')
                    break;
            }
            if (end)
                fputc('\n', b.fp);
        } else {
            fwrite(line, 1, n, b.fp);
        }
        line += n;
    }
    return sb_finish(&b, text);
}

/* ---- KEY=value files, plain or in [sections] ---- */

/* Line P of N characters (newline excluded, leading blanks skipped): the
 * length of the key it sets ("KEY=value", "Key = value"), or 0 if it sets
 * none (blank, comment, section header). */
static size_t kv_key_len(const char *p, size_t n)
{
    size_t k = 0, e;

    if (n == 0 || *p == '#' || *p == ';' || *p == '[')
        return 0;
    while (k < n && p[k] != '=' && p[k] != ' ' && p[k] != '\t')
        k++;
    for (e = k; e < n && (p[e] == ' ' || p[e] == '\t');)
        e++;
    return k > 0 && e < n && p[e] == '=' ? k : 0;
}

/* Whether P (N characters, blanks skipped) is a section header; *IN is
 * then whether it names SECTION. */
static int kv_header(const char *p, size_t n, const char *section, int *in)
{
    const char *close = n && *p == '[' ? memchr(p, ']', n) : NULL;

    if (!close)
        return 0;
    *in = section && strlen(section) == (size_t)(close - p - 1) && strncmp(p + 1, section, (size_t)(close - p - 1)) == 0;
    return 1;
}

/* Whether KEY (KLEN characters) is named by PATTERNS: "KEY" exactly, or
 * "KEY#": KEY then digits only. */
static int kv_key_in(const char *key, size_t klen, const char *const *patterns)
{
    for (size_t i = 0; patterns && patterns[i]; i++) {
        size_t pl = strlen(patterns[i]);
        int digits = pl && patterns[i][pl - 1] == '#';
        if (digits)
            pl--;
        if (klen < pl || strncmp(key, patterns[i], pl) != 0)
            continue;
        size_t j = pl;
        while (digits && j < klen && isdigit((unsigned char)key[j]))
            j++;
        if (j == klen)
            return 1;
    }
    return 0;
}

char *edit_kv_get(const char *text, const char *section, const char *key)
{
    size_t kl = strlen(key);
    int in = !section;
    char *value = NULL;

    for (const char *line = text; line && *line;) {
        const char *end = strchr(line, '\n');
        size_t n = end ? (size_t)(end - line) : strlen(line);
        const char *p = line;
        int h;
        while (p < line + n && (*p == ' ' || *p == '\t'))
            p++;
        size_t pn = (size_t)(line + n - p);
        if (kv_header(p, pn, section, &h)) {
            in = h;
        } else if (in && kv_key_len(p, pn) == kl && strncmp(p, key, kl) == 0) {
            const char *v = strchr(p, '=') + 1;
            while (v < line + n && (*v == ' ' || *v == '\t'))
                v++;
            size_t vn = (size_t)(line + n - v);
            while (vn && (v[vn - 1] == ' ' || v[vn - 1] == '\t' || v[vn - 1] == '\r'))
                vn--;
            if (vn >= 2 && (v[0] == '"' || v[0] == '\'') && v[vn - 1] == v[0]) {
                v++;
                vn -= 2;
            }
            free(value);
            value = xstrndup(v, vn); /* the last one counts */
        }
        line = end ? end + 1 : NULL;
    }
    return value; /* caller frees */
}

/* Output that remembers its last character, so lines get their newline. */
struct kv_out {
    struct sbuf b;
    char last;
};

static void kv_put(struct kv_out *o, const char *s, size_t n)
{
    if (n == 0)
        return;
    fwrite(s, 1, n, o->b.fp);
    o->last = s[n - 1];
}

static void kv_put_lines(struct kv_out *o, const char *s)
{
    if (!*s)
        return;
    if (o->last && o->last != '\n')
        kv_put(o, "\n", 1);
    kv_put(o, s, strlen(s));
    if (o->last != '\n')
        kv_put(o, "\n", 1);
}

char *edit_kv_replace(const char *text, const char *section, const char *const *drop, const char *set)
{
    struct kv_out o = { .last = 0 };
    int in = !section, seen = !section, placed = 0;
    const char *pending = NULL, *pending_end = NULL; /* blank and comment lines held back */

    sb_init(&o.b);
    for (const char *line = text; *line;) {
        const char *end = strchr(line, '\n');
        size_t n = end ? (size_t)(end - line + 1) : strlen(line);
        size_t content = end ? n - 1 : n;
        const char *p = line;
        int h;
        while (p < line + content && (*p == ' ' || *p == '\t'))
            p++;
        size_t pn = (size_t)(line + content - p);
        if (kv_header(p, pn, section, &h)) {
            if (in && !placed) {
                kv_put_lines(&o, set);
                placed = 1;
            }
            if (pending)
                kv_put(&o, pending, (size_t)(pending_end - pending));
            pending = NULL;
            in = h;
            seen |= h;
            kv_put(&o, line, n);
        } else {
            size_t kl = kv_key_len(p, pn);
            if (kl == 0 && in) {
                /* Blank or comment: written later, so what goes at the end
                 * of the section goes before its trailing blank lines. */
                if (!pending)
                    pending = line;
                pending_end = line + n;
            } else {
                if (pending)
                    kv_put(&o, pending, (size_t)(pending_end - pending));
                pending = NULL;
                if (in && kv_key_in(p, kl, drop)) {
                    if (!placed)
                        kv_put_lines(&o, set);
                    placed = 1;
                } else {
                    if (o.last && o.last != '\n')
                        kv_put(&o, "\n", 1);
                    kv_put(&o, line, n);
                }
            }
        }
        line += n;
    }
    if (in && !placed) {
        kv_put_lines(&o, set);
        placed = 1;
    }
    if (pending) {
        if (o.last && o.last != '\n')
            kv_put(&o, "\n", 1);
        kv_put(&o, pending, (size_t)(pending_end - pending));
    }
    if (!seen) {
        if (o.last && o.last != '\n')
            kv_put(&o, "\n", 1);
        if (o.last)
            kv_put(&o, "\n", 1);
        fprintf(o.b.fp, "[%s]\n", section);
        o.last = '\n';
        kv_put_lines(&o, set);
    }
    return sb_finish(&o.b, text);
}

char *edit_known_hosts_drop(const char *text, char *const *names, size_t n)
{
    char *out = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&out, &size);

    if (!f)
        xalloc_die();
    for (const char *line = text ? text : ""; *line;) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        size_t hl = strcspn(line, " \n");
        int keep = len > 0;
        /* The first field names the clone: "name,hostname,ip" or "name". */
        for (size_t k = 0; k < n && keep; k++) {
            size_t nl = strlen(names[k]);
            keep = !(hl >= nl && strncmp(line, names[k], nl) == 0 && (line[nl] == ',' || line[nl] == ' '));
        }
        if (keep)
            fprintf(f, "%.*s\n", (int)len, line);
        line += len + (end ? 1 : 0);
    }
    fclose(f);
    return out;
}
