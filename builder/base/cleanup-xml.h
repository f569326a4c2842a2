/* cleanup-xml.h: automatic cleanup of libxml2 objects (see base/cleanup.h). */
#ifndef VMSTAMP_CLEANUP_XML_H
#define VMSTAMP_CLEANUP_XML_H

#include <libxml/tree.h>
#include <libxml/xpath.h>

static inline void cleanup_xmldoc(xmlDocPtr *d)
{
    if (*d)
        xmlFreeDoc(*d);
}

static inline void cleanup_xpath_ctx(xmlXPathContextPtr *c)
{
    if (*c)
        xmlXPathFreeContext(*c);
}

static inline void cleanup_xpath_obj(xmlXPathObjectPtr *o)
{
    if (*o)
        xmlXPathFreeObject(*o);
}

static inline void cleanup_xmlbuf(xmlChar **s)
{
    if (*s)
        xmlFree(*s);
}

#define CLEANUP_XMLDOC __attribute__((cleanup(cleanup_xmldoc)))
#define CLEANUP_XPATH_CTX __attribute__((cleanup(cleanup_xpath_ctx)))
#define CLEANUP_XPATH_OBJ __attribute__((cleanup(cleanup_xpath_obj)))
#define CLEANUP_XMLCHAR __attribute__((cleanup(cleanup_xmlbuf)))

#endif
