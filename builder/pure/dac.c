/* dac.c: see dac.h. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/cleanup.h"
#include "base/error.h"
#include "base/xalloc.h"
#include "pure/dac.h"
#include "pure/domxml.h"

static int parse_id(const char **p, unsigned long *out)
{
    char *end;

    if (**p != '+' || !isdigit((unsigned char)(*p)[1]))
        return -1;
    errno = 0;
    *out = strtoul(*p + 1, &end, 10);
    if (errno || *out > 0x7fffffffUL)
        return -1;
    *p = end;
    return 0;
}

int dac_parse_label(const char *label, uid_t *uid, gid_t *gid)
{
    const char *p = label;
    unsigned long u, g;

    if (parse_id(&p, &u) < 0 || *p++ != ':' || parse_id(&p, &g) < 0 || *p)
        return error("libvirt's DAC label '%s' is not +UID:+GID", label);
    *uid = (uid_t)u;
    *gid = (gid_t)g;
    return 0;
}

int dac_label_from_caps(const char *caps, const char *virt_type, uid_t *uid, gid_t *gid)
{
    CLEANUP_FREE char *xpath = NULL;
    CLEANUP_FREE char *label = NULL;

    if (!virt_type || !*virt_type || strspn(virt_type, "abcdefghijklmnopqrstuvwxyz") != strlen(virt_type))
        return error("invalid domain type '%s'", virt_type ? virt_type : "");
    xpath = xasprintf("/capabilities/host/secmodel[model='dac']/baselabel[@type='%s']", virt_type);
    label = xml_get(caps, xpath);
    if (!label)
        return 1;
    return dac_parse_label(label, uid, gid);
}

char **dac_search_dirs(const char *path)
{
    char **dirs = NULL;

    if (!path || path[0] != '/')
        return NULL;
    strv_append(&dirs, xstrdup("/"));
    for (const char *p = path + 1; (p = strchr(p, '/')); p++)
        if (p[-1] != '/') /* not "//" */
            strv_append(&dirs, xstrndup(path, (size_t)(p - path)));
    return dirs; /* caller frees */
}

int dac_dynamic_ownership(const char *conf)
{
    int on = 1;

    for (const char *line = conf; line && *line;) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        const char *p = line, *e = line + len;
        const char *hash = memchr(line, '#', len);
        if (hash)
            e = hash;
        while (p < e && isspace((unsigned char)*p))
            p++;
        if ((size_t)(e - p) > 17 && strncmp(p, "dynamic_ownership", 17) == 0) {
            p += 17;
            while (p < e && isspace((unsigned char)*p))
                p++;
            if (p < e && *p == '=') {
                p++;
                while (p < e && isspace((unsigned char)*p))
                    p++;
                if (p < e)
                    on = *p != '0';
            }
        }
        line = end ? end + 1 : NULL;
    }
    return on;
}

int dac_uri_is_local(const char *uri)
{
    const char *sep, *plus, *auth, *path, *query;

    if (!uri || !(sep = strstr(uri, "://")))
        return 0;
    plus = memchr(uri, '+', (size_t)(sep - uri));
    if (plus && !((size_t)(sep - plus - 1) == 4 && strncmp(plus + 1, "unix", 4) == 0))
        return 0; /* ssh, tcp, tls, libssh, ext: another machine's files */
    auth = sep + 3;
    path = auth + strcspn(auth, "/?");
    if (path != auth)
        return 0; /* a host name */
    query = strchr(path, '?');
    for (const char *q = query; q; q = strchr(q + 1, '&'))
        if (strncmp(q + 1, "socket=", 7) == 0)
            return 0;
    return 1;
}
