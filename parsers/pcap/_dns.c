/* DNS messages, compiled: the common case of ``dns.parse_dns``.
 *
 * ``parse(data)`` reads a message that has nothing wrong with it into the same ``DnsMessage``
 * that ``parse_dns`` makes, with the same texts: names as dig writes them, addresses, MX, SRV,
 * SOA and TXT data, other RDATA in hex. Where ``parse_dns`` would note a problem or raise
 * (anything truncated, a pointer that does not point backwards or loops, an over-long name,
 * an extended label type, bytes after the last record), or where a text needs escapes or an
 * IPv4-mapped IPv6 address would be written (Python versions write those differently), it
 * returns None and ``parse_dns`` reads the message itself. Tests compare the two.
 *
 * ``bind`` hands over the Python types the messages are made of, once, from dns.py.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "_named.h"

#define MAX_NAME_OCTETS 255 /* RFC 1035 3.1, counted in wire form */
#define MAX_POINTER_JUMPS 64
#define NAME_TEXT 256       /* room for any name's text that fits MAX_NAME_OCTETS */

static PyObject *MESSAGE, *RECORD, *TYPE_NAME; /* bound by ``bind`` */
static PyObject *TYPE_TEXT[65536];             /* type_name(n), asked once per type */
static PyObject *ROOT;                         /* the empty name's text, ROOT_TEXT */
#define ROOT_TEXT "<Root>"                     /* dns.ROOT_NAME, as Wireshark shows it */

/* A name's text as written: ROOT_TEXT for the empty name. */
static const char *shown(const char *text) { return text[0] ? text : ROOT_TEXT; }

typedef const uint8_t *Ptr;

/* The message being read. */
typedef struct {
    Ptr data;
    Py_ssize_t size;
} Wire;

/* The text of the name at ``start`` into ``text`` (NUL-terminated); where it ends in
 * ``*after``. 0 where ``parse_dns`` would need to say something about it, or escape it. */
static int read_name(const Wire *w, Py_ssize_t start, char text[NAME_TEXT], Py_ssize_t *after)
{
    Py_ssize_t position = start, segment = start, length = 0;
    int jumps = 0, octets = 1;
    *after = -1;
    for (;;) {
        if (position >= w->size)
            return 0;
        unsigned label = w->data[position];
        if (label > 0 && label < 0x40) {
            Py_ssize_t stop = position + 1 + label;
            if (stop > w->size || octets + 1 + (int)label > MAX_NAME_OCTETS)
                return 0;
            octets += 1 + (int)label;
            if (length)
                text[length++] = '.';
            for (Py_ssize_t i = position + 1; i < stop; i++) {
                uint8_t c = w->data[i];
                if (c < 0x21 || c > 0x7E || c == '.' || c == '\\')
                    return 0; /* dig would escape it: parse_dns writes those */
                text[length++] = (char)c;
            }
            position = stop;
        } else if (label == 0) {
            if (*after < 0)
                *after = position + 1;
            break;
        } else if (label >= 0xC0) {
            if (position + 1 >= w->size)
                return 0;
            Py_ssize_t target = (Py_ssize_t)(label & 0x3F) << 8 | w->data[position + 1];
            if (*after < 0)
                *after = position + 2;
            if (target >= segment || ++jumps > MAX_POINTER_JUMPS)
                return 0;
            position = segment = target;
        } else {
            return 0; /* an extended label type */
        }
    }
    text[length] = '\0';
    return 1;
}

static PyObject *name_object(const char *text)
{
    if (text[0] == '\0') {
        Py_INCREF(ROOT);
        return ROOT;
    }
    return PyUnicode_FromString(text);
}

static PyObject *type_text(unsigned type)
{
    if (TYPE_TEXT[type] == NULL &&
        (TYPE_TEXT[type] = PyObject_CallFunction(TYPE_NAME, "I", type)) == NULL)
        return NULL;
    Py_INCREF(TYPE_TEXT[type]);
    return TYPE_TEXT[type];
}

static unsigned u16(Ptr at) { return (unsigned)at[0] << 8 | at[1]; }

static unsigned long u32(Ptr at)
{
    return (unsigned long)at[0] << 24 | (unsigned long)at[1] << 16 | (unsigned long)at[2] << 8 |
           at[3];
}

static PyObject *hex_text(Ptr at, Py_ssize_t length)
{
    static const char digits[] = "0123456789abcdef";
    PyObject *text = PyUnicode_New(2 * length, 127);
    if (text == NULL)
        return NULL;
    Py_UCS1 *out = PyUnicode_1BYTE_DATA(text);
    for (Py_ssize_t i = 0; i < length; i++) {
        out[2 * i] = (Py_UCS1)digits[at[i] >> 4];
        out[2 * i + 1] = (Py_UCS1)digits[at[i] & 15];
    }
    return text;
}

/* ipaddress.IPv6Address(...).compressed: hextets in lower-case hex, the first longest run of
 * two or more zero hextets as "::". NULL without an error for an IPv4-mapped address. */
static PyObject *ipv6_text(Ptr at)
{
    unsigned hextet[8];
    for (int i = 0; i < 8; i++)
        hextet[i] = u16(at + 2 * i);
    int mapped = hextet[5] == 0xFFFF;
    for (int i = 0; i < 5; i++)
        mapped = mapped && hextet[i] == 0;
    if (mapped)
        return NULL;
    int best = -1, best_length = 0;
    for (int i = 0; i < 8;) {
        int j = i;
        while (j < 8 && hextet[j] == 0)
            j++;
        if (j - i > best_length) {
            best = i;
            best_length = j - i;
        }
        i = j > i ? j : i + 1;
    }
    if (best_length < 2)
        best = -1;
    char text[48];
    int length = 0;
    for (int i = 0; i < 8; i++) {
        if (i == best) {
            length += snprintf(text + length, sizeof text - (size_t)length, "::");
            i += best_length - 1;
            continue;
        }
        if (length && text[length - 1] != ':')
            text[length++] = ':';
        length += snprintf(text + length, sizeof text - (size_t)length, "%x", hextet[i]);
    }
    return PyUnicode_FromStringAndSize(text, length);
}

/* The name that must fill [start, end) exactly, after ``head`` (printf-ed before it). */
static PyObject *name_within(const Wire *w, Py_ssize_t start, Py_ssize_t end, const char *head)
{
    char text[NAME_TEXT];
    Py_ssize_t after;
    if (!read_name(w, start, text, &after) || after != end)
        return NULL;
    if (head == NULL)
        return name_object(text);
    return PyUnicode_FromFormat("%s %s", head, shown(text));
}

/* dns._txt: character-strings joined by spaces; NULL without an error if one would need
 * an escape or overruns the RDATA. */
static PyObject *txt_text(Ptr at, Py_ssize_t length)
{
    PyObject *text = PyUnicode_New(length, 127); /* never longer than the RDATA */
    if (text == NULL)
        return NULL;
    Py_UCS1 *out = PyUnicode_1BYTE_DATA(text);
    Py_ssize_t written = 0;
    for (Py_ssize_t offset = 0; offset < length;) {
        Py_ssize_t size = at[offset];
        if (offset + 1 + size > length) {
            Py_DECREF(text);
            return NULL;
        }
        if (offset)
            out[written++] = ' ';
        for (Py_ssize_t i = offset + 1; i < offset + 1 + size; i++) {
            if (at[i] < 0x20 || at[i] > 0x7E || at[i] == '\\') {
                Py_DECREF(text);
                return NULL;
            }
            out[written++] = at[i];
        }
        offset += 1 + size;
    }
    PyObject *exact = PyUnicode_Substring(text, 0, written);
    Py_DECREF(text);
    return exact;
}

/* dns._rdata_text; NULL (an error set only when memory ran out) where parse_dns would have
 * to note a problem or escape the text. */
static PyObject *rdata_text(const Wire *w, unsigned type, Py_ssize_t start, Py_ssize_t end)
{
    Ptr at = w->data + start;
    Py_ssize_t length = end - start;
    char head[32];
    if (type == 1 && length == 4)
        return PyUnicode_FromFormat("%u.%u.%u.%u", at[0], at[1], at[2], at[3]);
    if (type == 28 && length == 16)
        return ipv6_text(at);
    if ((type == 2 || type == 5 || type == 12 || type == 39) && length)
        return name_within(w, start, end, NULL);
    if (type == 15 && length > 2) {
        snprintf(head, sizeof head, "%u", u16(at));
        return name_within(w, start + 2, end, head);
    }
    if (type == 33 && length > 6) {
        snprintf(head, sizeof head, "%u %u %u", u16(at), u16(at + 2), u16(at + 4));
        return name_within(w, start + 6, end, head);
    }
    if (type == 6 && length) {
        char mname[NAME_TEXT], rname[NAME_TEXT];
        Py_ssize_t offset;
        if (!read_name(w, start, mname, &offset) || !read_name(w, offset, rname, &offset) ||
            offset + 20 != end)
            return NULL;
        Ptr n = w->data + offset;
        return PyUnicode_FromFormat("%s %s %lu %lu %lu %lu %lu", shown(mname),
                                    shown(rname), u32(n), u32(n + 4),
                                    u32(n + 8), u32(n + 12), u32(n + 16));
    }
    if (type == 16 && length)
        return txt_text(at, length);
    return hex_text(at, length);
}

/* One resource record at ``*offset``, which moves past it; NULL (no error set) if unusual. */
static PyObject *read_record(const Wire *w, Py_ssize_t *offset)
{
    char name[NAME_TEXT];
    Py_ssize_t at;
    if (!read_name(w, *offset, name, &at) || at + 10 > w->size)
        return NULL;
    Ptr head = w->data + at;
    unsigned type = u16(head), rclass = u16(head + 2);
    unsigned long ttl = u32(head + 4);
    Py_ssize_t start = at + 10, end = start + u16(head + 8);
    if (end > w->size)
        return NULL;
    PyObject *text = rdata_text(w, type, start, end);
    if (text == NULL)
        return NULL;
    *offset = end;
    return make(RECORD, Py_BuildValue("(NNIkN)", name_object(name), type_text(type), rclass, ttl,
                                      text));
}

/* parse(data) -> DnsMessage | None */
static PyObject *parse(PyObject *self, PyObject *args)
{
    Py_buffer buffer;
    if (!PyArg_ParseTuple(args, "y*", &buffer))
        return NULL;
    Wire w = {buffer.buf, buffer.len};
    PyObject *sections[4] = {NULL, NULL, NULL, NULL}, *result = NULL;
    if (MESSAGE == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "parsers.pcap._dns: bind() was not called");
        goto done;
    }
    if (w.size < 12)
        goto unusual;
    Ptr h = w.data;
    unsigned flags = u16(h + 2), counts[4] = {u16(h + 4), u16(h + 6), u16(h + 8), u16(h + 10)};
    Py_ssize_t offset = 12;
    for (int s = 0; s < 4; s++) {
        /* every entry takes at least five bytes: more than that many cannot be there */
        if ((Py_ssize_t)counts[s] * 5 > w.size - offset)
            goto unusual;
        if ((sections[s] = PyTuple_New(counts[s])) == NULL)
            goto done;
        for (unsigned i = 0; i < counts[s]; i++) {
            PyObject *entry;
            if (s == 0) {
                char name[NAME_TEXT];
                if (!read_name(&w, offset, name, &offset) || offset + 4 > w.size)
                    goto unusual;
                entry = Py_BuildValue("(NN)", name_object(name), type_text(u16(w.data + offset)));
                offset += 4;
            } else {
                entry = read_record(&w, &offset);
            }
            if (entry == NULL)
                goto unusual;
            PyTuple_SET_ITEM(sections[s], i, entry);
        }
    }
    if (offset != w.size)
        goto unusual;
    result = make(MESSAGE, Py_BuildValue(
        "(INIIOOOONNNN())", u16(h), PyBool_FromLong(flags & 0x8000), flags >> 11 & 0xF,
        flags & 0xF, flags & 0x0400 ? Py_True : Py_False, flags & 0x0200 ? Py_True : Py_False,
        flags & 0x0100 ? Py_True : Py_False, flags & 0x0080 ? Py_True : Py_False, sections[0],
        sections[1], sections[2], sections[3]));
    for (int s = 0; s < 4; s++)
        sections[s] = NULL; /* stolen */
    goto done;
unusual:
    if (!PyErr_Occurred()) {
        Py_INCREF(Py_None);
        result = Py_None;
    }
done:
    for (int s = 0; s < 4; s++)
        Py_XDECREF(sections[s]);
    PyBuffer_Release(&buffer);
    return result;
}

/* bind(DnsMessage, DnsRecord, type_name) */
static PyObject *bind(PyObject *self, PyObject *args)
{
    PyObject *message, *record, *name_of;
    if (!PyArg_ParseTuple(args, "O!O!O", &PyType_Type, &message, &PyType_Type, &record,
                          &name_of))
        return NULL;
    PyObject *const types[2] = {message, record};
    if (!tuple_classes(types, 2))
        return NULL;
    Py_INCREF(message);
    Py_XSETREF(MESSAGE, message);
    Py_INCREF(record);
    Py_XSETREF(RECORD, record);
    Py_INCREF(name_of);
    Py_XSETREF(TYPE_NAME, name_of);
    for (int type = 0; type < 65536; type++)
        Py_CLEAR(TYPE_TEXT[type]);
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"parse", parse, METH_VARARGS, "parse(data) -> DnsMessage | None"},
    {"bind", bind, METH_VARARGS, "bind(DnsMessage, DnsRecord, type_name)"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_dns", "DNS messages, compiled.", -1, methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__dns(void)
{
    if ((ROOT = PyUnicode_InternFromString(ROOT_TEXT)) == NULL)
        return NULL;
    PyObject *m = PyModule_Create(&module);
    if (m != NULL && PyModule_AddIntConstant(m, "INTERFACE", 1) < 0)
        Py_CLEAR(m);
    return m;
}
