/* One direction of a TLS connection, compiled: the common case of ``tls.TlsStream``.
 *
 * ``Stream`` takes one side's bytes segment by segment, as ``TlsStream.feed`` does, and
 * answers with the same ``TlsMessage`` tuples: records across segments, handshake messages
 * across records, the hellos, the certificate chain, alerts, ChangeCipherSpec and the first
 * application data. It knows only well-formed traffic. Anything ``TlsStream`` would report as
 * a problem (bytes that are not TLS, a bad record header, an oversized record or message, a
 * handshake message cut by another record, a hello it cannot read) and the rare SSLv2-framed
 * ClientHello raise ``Unusual`` instead: the caller then dissects the connection again with
 * ``TlsStream``, which says exactly what went wrong. Tests compare the two on every input.
 *
 * ``bind`` hands over the Python types the messages are made of, once, from tls.py.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#include "_named.h"

/* RFC 5246 6.2.3 and tls.MAX_BUFFER: the largest record and handshake message taken. */
#define MAX_RECORD (16384 + 2048)
#define MAX_BUFFER (256 * 1024)
enum { CHANGE_CIPHER_SPEC = 20, ALERT = 21, HANDSHAKE = 22, APPLICATION_DATA = 23 };

/* SHA-256("HelloRetryRequest"): a ServerHello with this random is a HelloRetryRequest. */
static const uint8_t HRR_RANDOM[32] = {
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
    0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
};

static PyObject *Unusual;
/* Bound by ``bind``: the message types of tls.py and its handshake_name. */
static PyObject *MESSAGE, *CLIENT_HELLO, *SERVER_HELLO, *ALERT_TYPE, *CERTIFICATES, *NAME_OF;
static PyObject *HANDSHAKE_NAMES[256]; /* handshake_name(kind), asked once per kind */
enum {
    K_CLIENT_HELLO, K_SERVER_HELLO, K_CERTIFICATE, K_ALERT, K_CCS, K_APPLICATION_DATA,
    K_ENCRYPTED_HANDSHAKE, K_HANDSHAKE_OTHER, KINDS
};
static const char *const KIND_NAMES[KINDS] = {
    "client_hello", "server_hello", "certificate", "alert", "change_cipher_spec",
    "application_data", "encrypted_handshake", "handshake_other",
};
static PyObject *KIND_TEXT[KINDS];

typedef const uint8_t *Ptr;

/* A growing run of bytes. */
typedef struct {
    uint8_t *data;
    Py_ssize_t length, capacity;
} Bytes;

static int put(Bytes *bytes, Ptr data, Py_ssize_t length)
{
    if (bytes->length + length > bytes->capacity) {
        Py_ssize_t capacity = bytes->capacity ? bytes->capacity : 4096;
        while (capacity < bytes->length + length)
            capacity *= 2;
        uint8_t *grown = PyMem_Realloc(bytes->data, (size_t)capacity);
        if (grown == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        bytes->data = grown;
        bytes->capacity = capacity;
    }
    memcpy(bytes->data + bytes->length, data, (size_t)length);
    bytes->length += length;
    return 0;
}

/* Drops the first ``count`` bytes. */
static void drop(Bytes *bytes, Py_ssize_t count)
{
    memmove(bytes->data, bytes->data + count, (size_t)(bytes->length - count));
    bytes->length -= count;
}

typedef struct {
    int64_t end; /* stream offset the segment ends at */
    long long frame;
} Span;

typedef struct {
    PyObject_HEAD
    Bytes buffer;    /* bytes of a record not yet complete */
    int64_t base;    /* stream offset of buffer.data[0] */
    Span *spans;     /* the segments whose bytes are still buffered, or were this feed */
    Py_ssize_t span_count, span_capacity;
    Bytes handshake; /* a handshake message spanning records */
    long long handshake_first;
    int handshake_version;
    long long records, app_records, last_app_frame, frame;
    int ccs, fatal, tls13;
    PyObject *out; /* this feed's messages */
} Stream;

static int unusual(const char *why)
{
    PyErr_SetString(Unusual, why);
    return -1;
}

/* Appends TlsMessage(kind, frame, first, detail); steals ``detail`` (NULL: failed already). */
static int emit(Stream *self, int kind, long long first, PyObject *detail)
{
    if (detail == NULL)
        return -1;
    PyObject *message = make(MESSAGE, Py_BuildValue("(OLLN)", KIND_TEXT[kind], self->frame,
                                                    first, detail));
    if (message == NULL)
        return -1;
    int failed = PyList_Append(self->out, message);
    Py_DECREF(message);
    return failed;
}

/* ------------------------------------------------------------------ reading messages */

/* Bounds-checked big-endian reads over [at, end); a failed read makes ``ok`` 0 for good. */
typedef struct {
    Ptr at, end;
    int ok;
} Reader;

static unsigned uint_of(Reader *r, int width)
{
    if (!r->ok || r->end - r->at < width) {
        r->ok = 0;
        return 0;
    }
    unsigned value = 0;
    for (int i = 0; i < width; i++)
        value = value << 8 | r->at[i];
    r->at += width;
    return value;
}

/* A ``width``-byte length, then that many bytes: returned as a reader of their own. */
static Reader vector(Reader *r, int width)
{
    unsigned length = uint_of(r, width);
    Reader inner = {r->at, r->at, r->ok};
    if (r->ok && (Py_ssize_t)length > r->end - r->at)
        r->ok = inner.ok = 0;
    if (r->ok) {
        inner.end = r->at + length;
        r->at += length;
    }
    return inner;
}

static int skip(Reader *r, Py_ssize_t count)
{
    if (!r->ok || r->end - r->at < count)
        return r->ok = 0;
    r->at += count;
    return 1;
}

static int is_grease(unsigned code) { return (code & 0x0F0F) == 0x0A0A && code >> 8 == (code & 0xFF); }

static PyObject *ascii_text(Ptr at, Py_ssize_t length)
{
    return PyUnicode_DecodeASCII((const char *)at, length, "backslashreplace");
}

/* The 16-bit values of ``r`` but GREASE, as a tuple; ``fallback`` alone if none are left. */
static PyObject *codes(Reader r, long fallback)
{
    Py_ssize_t count = (r.end - r.at) / 2, kept = 0;
    PyObject *found = PyTuple_New(count ? count : 1);
    if (found == NULL)
        return NULL;
    for (Py_ssize_t i = 0; i < count; i++) {
        unsigned code = (unsigned)r.at[2 * i] << 8 | r.at[2 * i + 1];
        if (is_grease(code))
            continue;
        PyObject *value = PyLong_FromUnsignedLong(code);
        if (value == NULL) {
            Py_DECREF(found);
            return NULL;
        }
        PyTuple_SET_ITEM(found, kept++, value);
    }
    if (kept == 0 && fallback >= 0) {
        PyObject *value = PyLong_FromLong(fallback);
        if (value == NULL) {
            Py_DECREF(found);
            return NULL;
        }
        PyTuple_SET_ITEM(found, kept++, value);
    }
    if (kept < PyTuple_GET_SIZE(found) && _PyTuple_Resize(&found, kept) != 0)
        return NULL;
    return found;
}

/* tls._server_name: the first host_name, None if there is none; ``ok`` 0 if malformed. */
static PyObject *server_name(Reader data, int *ok)
{
    Reader names = vector(&data, 2);
    while (names.ok && names.at < names.end) {
        unsigned kind = uint_of(&names, 1);
        Reader name = vector(&names, 2);
        if (names.ok && kind == 0)
            return ascii_text(name.at, name.end - name.at);
    }
    *ok = names.ok;
    Py_RETURN_NONE;
}

/* tls._alpn: the protocol names; ``ok`` 0 if malformed. */
static PyObject *alpn(Reader data, int *ok)
{
    Reader protocols = vector(&data, 2);
    PyObject *found = PyList_New(0);
    while (found != NULL && protocols.ok && protocols.at < protocols.end) {
        Reader name = vector(&protocols, 1);
        if (!protocols.ok)
            break;
        PyObject *text = ascii_text(name.at, name.end - name.at);
        if (text == NULL || PyList_Append(found, text) != 0)
            Py_CLEAR(found);
        Py_XDECREF(text);
    }
    *ok = protocols.ok;
    if (found == NULL)
        return NULL;
    PyObject *tuple = PyList_AsTuple(found);
    Py_DECREF(found);
    return tuple;
}

/* Which of two versions tls.ClientHello.max_version prefers (a TLS 1.3 draft ranks above
 * TLS 1.2, below TLS 1.3). */
static long rank(unsigned version)
{
    if (version >> 8 == 0x7F)
        return 0x0303L << 16 | (1 + (version & 0xFF));
    return (long)version << 16;
}

static int is_tls13(unsigned version)
{
    return version >> 8 == 0x7F || (version >= 0x0304 && version <= 0x03FF);
}

/* tls.parse_client_hello on its fast path; NULL with ``Unusual`` where that path would give
 * way to the careful one (which may tell a problem). Sets ``*tls13``. */
static PyObject *client_hello(Ptr body, Py_ssize_t length, int record_version, int *tls13)
{
    Reader r = {body, body + length, 1};
    unsigned legacy = uint_of(&r, 2);
    skip(&r, 32);
    vector(&r, 1);                 /* session_id */
    Reader suites = vector(&r, 2); /* cipher_suites */
    vector(&r, 1);                 /* compression_methods */
    if (!r.ok || (suites.end - suites.at) % 2)
        return unusual("client_hello"), NULL;
    PyObject *sni = Py_None, *protocols = NULL, *versions = NULL;
    Py_INCREF(sni);
    Reader offered = {NULL, NULL, 0};
    if (r.at < r.end) {
        Reader extensions = vector(&r, 2);
        while (extensions.ok && extensions.at < extensions.end) {
            unsigned kind = uint_of(&extensions, 2);
            Reader data = vector(&extensions, 2);
            if (!extensions.ok)
                break;
            int ok = 1;
            if (kind == 0 && data.end > data.at) {
                Py_SETREF(sni, server_name(data, &ok));
            } else if (kind == 16) {
                Py_XSETREF(protocols, alpn(data, &ok));
            } else if (kind == 43) {
                offered = vector(&data, 1);
                ok = offered.ok && (offered.end - offered.at) % 2 == 0;
            }
            if (sni == NULL || (kind == 16 && protocols == NULL) || !ok) {
                extensions.ok = 0;
                break;
            }
        }
        if (!extensions.ok) {
            Py_XDECREF(sni);
            Py_XDECREF(protocols);
            if (!PyErr_Occurred())
                unusual("client_hello extensions");
            return NULL;
        }
    }
    if (protocols == NULL)
        protocols = PyTuple_New(0);
    versions = codes(offered.ok ? offered : (Reader){NULL, NULL, 1}, (long)legacy);
    PyObject *ciphers = codes(suites, -1);
    if (protocols == NULL || versions == NULL || ciphers == NULL) {
        Py_XDECREF(sni);
        Py_XDECREF(protocols);
        Py_XDECREF(versions);
        Py_XDECREF(ciphers);
        return NULL;
    }
    unsigned best = (unsigned)PyLong_AsUnsignedLong(PyTuple_GET_ITEM(versions, 0));
    for (Py_ssize_t i = 1; i < PyTuple_GET_SIZE(versions); i++) {
        unsigned version = (unsigned)PyLong_AsUnsignedLong(PyTuple_GET_ITEM(versions, i));
        if (rank(version) > rank(best))
            best = version;
    }
    *tls13 = *tls13 || is_tls13(best);
    return make(CLIENT_HELLO, Py_BuildValue("(iINNNNn)", record_version, legacy, versions, sni,
                                            protocols, ciphers, length + 4));
}

/* tls.parse_server_hello; NULL with ``Unusual`` where it would raise. Sets ``*tls13``. */
static PyObject *server_hello(Ptr body, Py_ssize_t length, int *tls13)
{
    Reader r = {body, body + length, 1};
    unsigned legacy = uint_of(&r, 2);
    Ptr random = r.at;
    skip(&r, 32);
    int draft = legacy >> 8 == 0x7F; /* drafts before 22 had no session_id nor compression */
    if (!draft)
        vector(&r, 1);
    unsigned cipher = uint_of(&r, 2);
    if (!draft)
        uint_of(&r, 1);
    unsigned version = legacy;
    if (r.ok && r.at < r.end) {
        Reader extensions = vector(&r, 2);
        while (extensions.ok && extensions.at < extensions.end) {
            unsigned kind = uint_of(&extensions, 2);
            Reader data = vector(&extensions, 2);
            if (extensions.ok && kind == 43) {
                version = uint_of(&data, 2);
                extensions.ok = data.ok;
            }
        }
        r.ok = extensions.ok;
    }
    if (!r.ok)
        return unusual("server_hello"), NULL;
    int retry = memcmp(random, HRR_RANDOM, 32) == 0;
    *tls13 = *tls13 || retry || is_tls13(version);
    return make(SERVER_HELLO, Py_BuildValue("(IIIO)", legacy, version, cipher,
                                            retry ? Py_True : Py_False));
}

/* tls.parse_certificates; NULL with ``Unusual`` where it would raise. */
static PyObject *certificates(Ptr body, Py_ssize_t length)
{
    Reader r = {body, body + length, 1};
    Reader chain = vector(&r, 3);
    PyObject *found = PyList_New(0);
    while (found != NULL && chain.ok && chain.at < chain.end) {
        Reader der = vector(&chain, 3);
        if (!chain.ok)
            break;
        PyObject *bytes = PyBytes_FromStringAndSize((const char *)der.at, der.end - der.at);
        if (bytes == NULL || PyList_Append(found, bytes) != 0)
            Py_CLEAR(found);
        Py_XDECREF(bytes);
    }
    if (found == NULL)
        return NULL;
    if (!chain.ok) {
        Py_DECREF(found);
        return unusual("certificate"), NULL;
    }
    PyObject *tuple = PyList_AsTuple(found);
    Py_DECREF(found);
    return make(CERTIFICATES, Py_BuildValue("(N)", tuple));
}

static int handshake_message(Stream *self, unsigned kind, Ptr body, Py_ssize_t length,
                             int record_version, long long first)
{
    if (kind == 1)
        return emit(self, K_CLIENT_HELLO, first,
                    client_hello(body, length, record_version, &self->tls13));
    if (kind == 2)
        return emit(self, K_SERVER_HELLO, first, server_hello(body, length, &self->tls13));
    if (kind == 11)
        return emit(self, K_CERTIFICATE, first, certificates(body, length));
    if (HANDSHAKE_NAMES[kind] == NULL &&
        (HANDSHAKE_NAMES[kind] = PyObject_CallFunction(NAME_OF, "I", kind)) == NULL)
        return -1;
    Py_INCREF(HANDSHAKE_NAMES[kind]);
    return emit(self, K_HANDSHAKE_OTHER, first, HANDSHAKE_NAMES[kind]);
}

/* ------------------------------------------------------------------ records */

/* TlsStream._handshake_record: the messages the record's body completes. */
static int handshake_record(Stream *self, int version, Ptr body, Py_ssize_t length,
                            long long first)
{
    if (self->handshake.length == 0) {
        self->handshake_first = first;
        self->handshake_version = version;
    } else {
        if (put(&self->handshake, body, length) != 0)
            return -1;
        body = self->handshake.data;
        length = self->handshake.length;
    }
    /* Whole messages are read where they lie: in the record, or in the reassembly buffer. */
    Py_ssize_t at = 0;
    while (length - at >= 4) {
        Py_ssize_t size = (Py_ssize_t)body[at + 1] << 16 | body[at + 2] << 8 | body[at + 3];
        if (size + 4 > MAX_BUFFER)
            return unusual("handshake message too long");
        if (length - at < size + 4)
            break;
        long long start = self->handshake_first;
        int record_version = self->handshake_version;
        self->handshake_first = first; /* whatever follows began in this record */
        self->handshake_version = version;
        if (handshake_message(self, body[at], body + at + 4, size, record_version, start) != 0)
            return -1;
        at += size + 4;
    }
    if (body == self->handshake.data)
        drop(&self->handshake, at);
    else if (at < length && put(&self->handshake, body + at, length - at) != 0)
        return -1;
    return 0;
}

/* TlsStream._plain_after_ccs: a TLS 1.3 hello after the dummy ChangeCipherSpec. */
static int plain_after_ccs(const Stream *self, Ptr body, Py_ssize_t length)
{
    long size = 0;
    for (Py_ssize_t i = 1; i < 4 && i < length; i++)
        size = size << 8 | body[i];
    return self->tls13 && length > 0 && (body[0] == 1 || body[0] == 2) && 4 + size <= length;
}

/* TlsStream._record. */
static int record(Stream *self, int kind, int version, Ptr body, Py_ssize_t length,
                  long long first)
{
    if (self->handshake.length && kind != HANDSHAKE)
        return unusual("handshake message interrupted");
    if (kind == HANDSHAKE) {
        if (self->ccs && !plain_after_ccs(self, body, length)) {
            Py_INCREF(Py_None);
            return emit(self, K_ENCRYPTED_HANDSHAKE, first, Py_None);
        }
        return handshake_record(self, version, body, length, first);
    }
    if (kind == CHANGE_CIPHER_SPEC) {
        self->ccs = 1;
        Py_INCREF(Py_None);
        return emit(self, K_CCS, first, Py_None);
    }
    if (kind == ALERT) {
        /* Any other length, or ChangeCipherSpec before TLS 1.2 and older, means ciphertext. */
        if (length == 2 && !(self->ccs && !self->tls13)) {
            self->fatal = self->fatal || body[0] == 2;
            return emit(self, K_ALERT, first,
                        make(ALERT_TYPE, Py_BuildValue("(iiO)", body[0], body[1], Py_False)));
        }
        return emit(self, K_ALERT, first,
                    make(ALERT_TYPE, Py_BuildValue("(iOO)", 0, Py_None, Py_True)));
    }
    if (kind == APPLICATION_DATA) {
        self->last_app_frame = self->frame;
        if (++self->app_records == 1) {
            Py_INCREF(Py_None);
            return emit(self, K_APPLICATION_DATA, first, Py_None);
        }
    }
    return 0; /* Heartbeat (24) records carry nothing a login diagnosis needs. */
}

/* The frame that carried the stream's byte at ``offset``. */
static long long first_frame(const Stream *self, int64_t offset)
{
    for (Py_ssize_t i = 0; i < self->span_count; i++)
        if (self->spans[i].end > offset)
            return self->spans[i].frame;
    return self->frame;
}

static int looks_like_tls(Ptr head, Py_ssize_t length)
{
    if (length >= 3 && head[0] >= 20 && head[0] <= 24 && head[1] == 3 && head[2] <= 4)
        return 1;
    return length >= 4 && head[0] >= 0x80 && head[2] == 1 && head[3] == 3;
}

/* TlsStream._next_record over ``bytes`` (which start at stream offset ``offset``): the size
 * of the record dissected, 0 if it is not all there yet, -1 on an error. */
static Py_ssize_t next_record(Stream *self, Ptr bytes, Py_ssize_t avail, int64_t offset)
{
    /* The first record must look like TLS; it is judged as soon as enough bytes are in. */
    int alien = avail > 0 && !(bytes[0] >= 20 && bytes[0] <= 24) && bytes[0] < 0x80;
    int judge = self->records == 0 && avail > 0 && (avail >= 4 || alien);
    if (avail < 5 && !judge)
        return 0;
    if (judge) {
        if (!looks_like_tls(bytes, avail < 5 ? avail : 5))
            return unusual("not TLS");
        if (bytes[0] >= 0x80)
            return unusual("SSLv2 client_hello");
    }
    if (avail < 5)
        return 0;
    int kind = bytes[0], version = bytes[1] << 8 | bytes[2];
    Py_ssize_t length = bytes[3] << 8 | bytes[4];
    if (!(kind >= 20 && kind <= 24 && version >> 8 == 3 && (version & 0xFF) <= 4))
        return unusual("bad record header");
    if (length > MAX_RECORD)
        return unusual("record too long");
    if (avail < 5 + length)
        return 0;
    self->records++;
    if (record(self, kind, version, bytes + 5, length, first_frame(self, offset)) != 0)
        return -1;
    return 5 + length;
}

/* feed(data, frame) -> list[TlsMessage]: the messages for the records ``data`` completes. */
static PyObject *feed(Stream *self, PyObject *args)
{
    Py_buffer data;
    long long frame;
    if (!PyArg_ParseTuple(args, "y*L", &data, &frame))
        return NULL;
    PyObject *out = PyList_New(0);
    if (out == NULL || data.len == 0) {
        PyBuffer_Release(&data);
        return out;
    }
    self->out = out;
    self->frame = frame;
    /* Most segments hold whole records: then nothing is buffered, nor copied. */
    Ptr bytes = data.buf;
    Py_ssize_t length = data.len;
    int buffered = self->buffer.length > 0;
    if (buffered) {
        if (put(&self->buffer, data.buf, data.len) != 0)
            goto failed;
        bytes = self->buffer.data;
        length = self->buffer.length;
    }
    if (self->span_count == self->span_capacity) {
        Py_ssize_t capacity = self->span_capacity ? 2 * self->span_capacity : 8;
        Span *grown = PyMem_Realloc(self->spans, sizeof *grown * (size_t)capacity);
        if (grown == NULL) {
            PyErr_NoMemory();
            goto failed;
        }
        self->spans = grown;
        self->span_capacity = capacity;
    }
    self->spans[self->span_count++] = (Span){self->base + length, frame};
    Py_ssize_t at = 0, used;
    while ((used = next_record(self, bytes + at, length - at, self->base + at)) > 0)
        at += used;
    if (used < 0)
        goto failed;
    if (buffered)
        drop(&self->buffer, at);
    else if (at < length && put(&self->buffer, bytes + at, length - at) != 0)
        goto failed;
    self->base += at;
    Py_ssize_t kept = 0;
    for (Py_ssize_t i = 0; i < self->span_count; i++)
        if (self->spans[i].end > self->base)
            self->spans[kept++] = self->spans[i];
    self->span_count = kept;
    self->out = NULL;
    PyBuffer_Release(&data);
    return out;
failed:
    self->out = NULL;
    Py_DECREF(out);
    PyBuffer_Release(&data);
    return NULL;
}

static PyObject *get_done(Stream *self, void *closure)
{
    return PyBool_FromLong(self->fatal || self->app_records > 0);
}

static PyObject *get_app_records(Stream *self, void *closure)
{
    return PyLong_FromLongLong(self->app_records);
}

static PyObject *get_last_app_frame(Stream *self, void *closure)
{
    if (self->app_records == 0)
        Py_RETURN_NONE;
    return PyLong_FromLongLong(self->last_app_frame);
}

static void stream_dealloc(Stream *self)
{
    PyMem_Free(self->buffer.data);
    PyMem_Free(self->handshake.data);
    PyMem_Free(self->spans);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *stream_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    if (MESSAGE == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "parsers.pcap._tls: bind() was not called");
        return NULL;
    }
    if (PyTuple_GET_SIZE(args) || (kwargs != NULL && PyDict_GET_SIZE(kwargs))) {
        PyErr_SetString(PyExc_TypeError, "Stream() takes no arguments");
        return NULL;
    }
    return type->tp_alloc(type, 0); /* zeroed: every field starts at 0 or NULL */
}

static PyMethodDef stream_methods[] = {
    {"feed", (PyCFunction)feed, METH_VARARGS,
     "feed(data, frame) -> list[TlsMessage]: the messages for the records data completes."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef stream_getset[] = {
    {"done", (getter)get_done, NULL, "True once a fatal alert or encrypted traffic was seen.",
     NULL},
    {"app_records", (getter)get_app_records, NULL, "application_data records seen.", NULL},
    {"last_app_frame", (getter)get_last_app_frame, NULL,
     "The frame of the last application_data record, or None.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject StreamType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "parsers.pcap._tls.Stream",
    .tp_basicsize = sizeof(Stream),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "One direction of a TLS connection: tls.TlsStream for well-formed traffic.",
    .tp_new = stream_new,
    .tp_dealloc = (destructor)stream_dealloc,
    .tp_methods = stream_methods,
    .tp_getset = stream_getset,
};

/* bind(TlsMessage, ClientHello, ServerHello, Alert, Certificates, handshake_name) */
static PyObject *bind(PyObject *self, PyObject *args)
{
    PyObject *types[6];
    if (!PyArg_ParseTuple(args, "O!O!O!O!O!O", &PyType_Type, &types[0], &PyType_Type,
                          &types[1], &PyType_Type, &types[2], &PyType_Type, &types[3],
                          &PyType_Type, &types[4], &types[5]))
        return NULL;
    if (!tuple_classes(types, 5))
        return NULL;
    PyObject **slots[6] = {&MESSAGE, &CLIENT_HELLO, &SERVER_HELLO, &ALERT_TYPE, &CERTIFICATES,
                           &NAME_OF};
    for (int i = 0; i < 6; i++) {
        Py_INCREF(types[i]);
        Py_XSETREF(*slots[i], types[i]);
    }
    for (int kind = 0; kind < 256; kind++)
        Py_CLEAR(HANDSHAKE_NAMES[kind]);
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"bind", bind, METH_VARARGS,
     "bind(TlsMessage, ClientHello, ServerHello, Alert, Certificates, handshake_name)"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_tls", "One direction of a TLS connection, compiled.", -1, methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__tls(void)
{
    if (PyType_Ready(&StreamType) < 0)
        return NULL;
    for (int kind = 0; kind < KINDS; kind++)
        if ((KIND_TEXT[kind] = PyUnicode_InternFromString(KIND_NAMES[kind])) == NULL)
            return NULL;
    PyObject *m = PyModule_Create(&module);
    if (m == NULL)
        return NULL;
    Unusual = PyErr_NewExceptionWithDoc(
        "parsers.pcap._tls.Unusual",
        "Traffic the compiled stream does not dissect: tls.TlsStream must do it.", NULL, NULL);
    if (Unusual == NULL || PyModule_AddObjectRef(m, "Unusual", Unusual) < 0 ||
        PyModule_AddObjectRef(m, "Stream", (PyObject *)&StreamType) < 0 ||
        PyModule_AddIntConstant(m, "INTERFACE", 1) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
