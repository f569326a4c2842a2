/* util.c: see util.h. */
#include <crypt.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/error.h"
#include "base/fileio.h"
#include "base/xalloc.h"
#include "pure/util.h"

int parse_size(const char *s, uint64_t *bytes)
{
    char *end;
    double v;
    uint64_t mult = 1;

    if (!s || !*s || !isdigit((unsigned char)*s))
        return error("invalid size '%s': use a number with an optional K, M, G or T suffix", s ? s : "");
    errno = 0;
    v = strtod(s, &end);
    if (errno)
        return error("invalid size '%s': use a number with an optional K, M, G or T suffix", s);
    switch (toupper((unsigned char)*end)) {
    case '\0': break;
    case 'K': mult = 1ULL << 10; end++; break;
    case 'M': mult = 1ULL << 20; end++; break;
    case 'G': mult = 1ULL << 30; end++; break;
    case 'T': mult = 1ULL << 40; end++; break;
    default:
        return error("invalid size '%s': use a number with an optional K, M, G or T suffix", s);
    }
    if (*end == 'i' || *end == 'I')
        end++;
    if (*end == 'B' || *end == 'b')
        end++;
    if (*end || v <= 0 || v * mult > 1e18)
        return error("invalid size '%s': use a number with an optional K, M, G or T suffix", s);
    *bytes = (uint64_t)(v * mult);
    return 0;
}

/* The phrases below that show a length or a character are made here; one
 * buffer per thread, overwritten by the next call. */
static __thread char problem_buf[96];

static const char *bad_char(char c)
{
    if ((unsigned char)c < 0x20 || (unsigned char)c >= 0x7f)
        snprintf(problem_buf, sizeof problem_buf, "has character 0x%02x", (unsigned char)c);
    else
        snprintf(problem_buf, sizeof problem_buf, "has character '%c'", c);
    return problem_buf;
}

const char *domain_name_problem(const char *s)
{
    size_t n = strlen(s);

    if (n == 0)
        return "is empty";
    if (s[0] == '.' || s[0] == '-')
        return s[0] == '.' ? "starts with '.'" : "starts with '-'";
    for (const char *p = s; *p; p++)
        if (!(isalnum((unsigned char)*p) || *p == '.' || *p == '_' || *p == '-'))
            return bad_char(*p);
    if (n > 64) {
        snprintf(problem_buf, sizeof problem_buf, "is %zu characters long: a name has at most 64", n);
        return problem_buf;
    }
    return NULL;
}

const char *hostname_problem(const char *s)
{
    size_t total = strlen(s), label = 0;
    int one_label = !strchr(s, '.');

    if (total == 0)
        return "is empty";
    for (const char *p = s;; p++) {
        if (*p == '.' || *p == '\0') {
            if (label == 0)
                return "has an empty label (a '.' at the start or end, or two in a row)";
            if (p[-1] == '-')
                return one_label ? "ends with '-'" : "has a label ending with '-'";
            if (label > 63) {
                if (one_label)
                    snprintf(problem_buf, sizeof problem_buf,
                             "is %zu characters long: a host name label has at most 63", label);
                else
                    snprintf(problem_buf, sizeof problem_buf,
                             "has a label of %zu characters: a host name label has at most 63", label);
                return problem_buf;
            }
            if (*p == '\0')
                break;
            label = 0;
            continue;
        }
        if (!(isalnum((unsigned char)*p) || *p == '-'))
            return bad_char(*p);
        if (*p == '-' && label == 0)
            return p == s ? "starts with '-'" : "has a label starting with '-'";
        label++;
    }
    if (total > 253) {
        snprintf(problem_buf, sizeof problem_buf, "is %zu characters long: a host name has at most 253", total);
        return problem_buf;
    }
    return NULL;
}

int valid_hostname(const char *s)
{
    return hostname_problem(s) == NULL;
}

int valid_domain_name(const char *s)
{
    return domain_name_problem(s) == NULL;
}

int parse_mac(const char *s, char out[18])
{
    if (strlen(s) != 17)
        return -1;
    for (int i = 0; i < 17; i++) {
        if (i % 3 == 2) {
            if (s[i] != ':')
                return -1;
            out[i] = ':';
        } else {
            if (!isxdigit((unsigned char)s[i]))
                return -1;
            out[i] = (char)tolower((unsigned char)s[i]);
        }
    }
    out[17] = '\0';
    /* Multicast addresses cannot be a NIC's address. */
    int first = (int)strtol((char[]){ out[0], out[1], 0 }, NULL, 16);
    if (first & 1)
        return -1;
    return 0;
}

int mac_from_ipv4(const char *ip, char out[18])
{
    unsigned a, b, c, d;
    char tail;

    if (sscanf(ip, "%u.%u.%u.%u%c", &a, &b, &c, &d, &tail) != 4 ||
        a > 255 || b > 255 || c > 255 || d > 255)
        return error("invalid IPv4 address '%s': use dotted quad like 192.168.122.4", ip);
    snprintf(out, 18, "52:54:%02x:%02x:%02x:%02x", a, b, c, d);
    return 0;
}

int random_mac(char out[18])
{
    unsigned char r[3];

    if (RAND_bytes(r, sizeof r) != 1)
        return error("cannot get random bytes from OpenSSL");
    snprintf(out, 18, "52:54:00:%02x:%02x:%02x", r[0], r[1], r[2]);
    return 0;
}

int random_machine_id(char out[33])
{
    unsigned char r[16];

    if (RAND_bytes(r, sizeof r) != 1)
        return error("cannot get random bytes from OpenSSL");
    /* A v4 UUID, as systemd-id128 makes them. */
    r[6] = (r[6] & 0x0f) | 0x40;
    r[8] = (r[8] & 0x3f) | 0x80;
    for (int i = 0; i < 16; i++)
        snprintf(out + 2 * i, 3, "%02x", r[i]);
    return 0;
}

int gpt_last_usable_lba(const unsigned char *hdr, size_t len, uint64_t *lba)
{
    uint64_t v = 0;

    if (len < 92 || memcmp(hdr, "EFI PART", 8) != 0)
        return error("no GPT header at LBA 1: the partition table is not GPT or is damaged");
    for (int i = 7; i >= 0; i--) /* little-endian, at offset 48 */
        v = (v << 8) | hdr[48 + i];
    *lba = v;
    return 0;
}

int random_uuid(char out[37])
{
    char hex[33];

    if (random_machine_id(hex) < 0)
        return -1;
    snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16, hex + 20);
    return 0;
}

void drive_device_name(size_t index, char out[16])
{
    char rev[8];
    size_t k = 0;

    /* Bijective base 26: a..z, aa..zz, aaa.. (index < 26 + 26^2 + 26^3 + 26^4). */
    for (size_t i = index + 1; i > 0 && k < sizeof rev; i = (i - 1) / 26)
        rev[k++] = (char)('a' + (i - 1) % 26);
    memcpy(out, "/dev/sd", 7);
    for (size_t j = 0; j < k; j++)
        out[7 + j] = rev[k - 1 - j];
    out[7 + k] = '\0';
}

#define NAME_WIDTH_MAX 64

char *expand_name_pattern(const char *pattern, int n)
{
    int convs = 0;
    char *out;

    for (const char *p = pattern; *p; p++) {
        if (*p != '%')
            continue;
        if (p[1] == '%') {
            p++;
            continue;
        }
        const char *q = p + 1;
        unsigned width = 0;
        if (*q == '0')
            q++;
        for (; isdigit((unsigned char)*q); q++)
            if (width <= NAME_WIDTH_MAX)
                width = width * 10 + (unsigned)(*q - '0');
        if (*q != 'd') {
            error("invalid --name-pattern '%s': use one %%d (or %%02d) conversion", pattern);
            return NULL;
        }
        /* A width past INT_MAX made xasprintf fail (abort); past 64, no name is valid. */
        if (width > NAME_WIDTH_MAX) {
            error("invalid --name-pattern '%s': the width of %%d is at most %d (a name has at most 64 "
                  "characters)", pattern, NAME_WIDTH_MAX);
            return NULL;
        }
        convs++;
        p = q;
    }
    if (convs != 1) {
        error("invalid --name-pattern '%s': use exactly one %%d (or %%02d) conversion", pattern);
        return NULL;
    }
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
    out = xasprintf(pattern, n);
#pragma GCC diagnostic pop
    return out; /* caller frees */
}

const char *human_size(uint64_t bytes, char *buf, size_t len)
{
    const char *units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
    double v = (double)bytes;
    int u = 0;

    while (v >= 1024 && u < 4) {
        v /= 1024;
        u++;
    }
    if (u == 0)
        snprintf(buf, len, "%llu B", (unsigned long long)bytes);
    else
        snprintf(buf, len, "%.1f %s", v, units[u]);
    return buf;
}

int parse_memory(const char *s, uint64_t *kib)
{
    uint64_t bytes;
    char *end;

    /* Digits only (strtoull alone would take a sign or blanks: "-1" is
     * 2^64 - 1), and no more than parse_size takes (10^18 bytes). */
    if (isdigit((unsigned char)s[0])) {
        errno = 0;
        unsigned long long mib = strtoull(s, &end, 10);
        if (*end == '\0') {
            if (errno || mib == 0 || mib > 1000000000000000000ULL / (1024 * 1024))
                return error("invalid --memory '%s': give MiB (1024) or a size (2G)", s);
            *kib = mib * 1024;
            return 0;
        }
    }
    if (parse_size(s, &bytes) < 0 || bytes < 1024 * 1024) {
        error_clear();
        return error("invalid --memory '%s': give MiB (1024) or a size (2G)", s);
    }
    *kib = bytes / 1024;
    return 0;
}

char *read_password_file(const char *path)
{
    struct stat st;
    char *text, *nl;
    int fd;

    if (stat(path, &st) < 0) {
        error("root password file '%s' not found: create it with mode 0600", path);
        return NULL;
    }
    /* The file itself (no link, no FIFO or device), its mode as opened. */
    fd = open_regular(path, "root password file", "give a file of mode 0600 with the password on its first line",
                      &st);
    if (fd < 0)
        return NULL;
    if (st.st_mode & 0077) {
        close(fd);
        error("root password file '%s' is readable by others (mode %04o): chmod 600 it",
              path, st.st_mode & 07777);
        return NULL;
    }
    /* Whoever owns it decides every clone's root password. */
    if (st.st_uid != geteuid()) {
        close(fd);
        error("root password file '%s' is owned by uid %u, not by you: chown it to yourself", path,
              (unsigned)st.st_uid);
        return NULL;
    }
    text = read_fd_limited(fd, path, READ_MAX_PASSWORD, 0, "root password file",
                           "put the password on its first line", NULL);
    close(fd);
    if (!text)
        return NULL;
    nl = strchr(text, '\n');
    if (nl)
        *nl = '\0';
    if (!*text) {
        free(text);
        error("root password file '%s' is empty: put the password on its first line", path);
        return NULL;
    }
    return text; /* caller frees (and wipes) */
}

char *hash_password(const char *password)
{
    struct crypt_data cd;
    const char *salt, *hash;
    char *out = NULL;

    memset(&cd, 0, sizeof cd);
    salt = crypt_gensalt_rn("$6$", 0, NULL, 0, cd.setting, sizeof cd.setting);
    hash = salt ? crypt_r(password, salt, &cd) : NULL;
    if (hash && hash[0] != '*')
        out = xstrdup(hash);
    explicit_bzero(&cd, sizeof cd);
    if (!out)
        error("cannot hash the root password with crypt_gensalt('$6$')");
    return out; /* caller frees */
}

char *shell_quote(const char *s)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *fp;
    int plain = *s != '\0';

    for (const char *p = s; *p && plain; p++)
        plain = strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:,+@%", *p) != NULL;
    if (plain)
        return xstrdup(s); /* caller frees */
    fp = open_memstream(&buf, &len);
    if (!fp)
        xalloc_die();
    fputc('\'', fp);
    for (; *s; s++) {
        if (*s == '\'')
            fputs("'\\''", fp);
        else
            fputc(*s, fp);
    }
    fputc('\'', fp);
    fclose(fp);
    return buf; /* caller frees */
}
