/* The per-record loops of the capture reader, compiled: following length fields from record
 * to record, copying a fixed-width slice of bytes at each record, and decoding every
 * packet's link, IP and transport headers.
 *
 * Each does exactly what its twin does (``_chain``, ``_block_chain`` and ``gather`` in
 * walk.py, ``_decode_numpy`` in packets.py); the twins stay as the reference and as the
 * fallback where this module was not built, and tests compare the two. Inputs and outputs are buffers (numpy
 * arrays): nothing here allocates a Python object per record, and the GIL is released
 * while the loops run.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

static void release(Py_buffer *buffers, int count)
{
    for (int i = 0; i < count; i++)
        PyBuffer_Release(&buffers[i]);
}

static uint32_t load_u32(const uint8_t *at, int big_endian)
{
    if (big_endian)
        return ((uint32_t)at[0] << 24) | ((uint32_t)at[1] << 16) | ((uint32_t)at[2] << 8) |
               (uint32_t)at[3];
    return ((uint32_t)at[3] << 24) | ((uint32_t)at[2] << 16) | ((uint32_t)at[1] << 8) |
           (uint32_t)at[0];
}

/* chain(data, out, position, end, length_at, header, limit, big_endian) -> count
 *
 * Writes record offsets into ``out`` (int64): each is the one before plus ``header`` plus the
 * 32-bit length stored ``length_at`` bytes into the record. The offset whose length would be
 * read past ``end`` is the last one written; at most ``limit`` (and as many as ``out`` holds)
 * are written. Lengths are not checked: the caller checks every offset afterwards.
 */
static PyObject *chain(PyObject *self, PyObject *args)
{
    Py_buffer data, out;
    Py_ssize_t position, end, length_at, header, limit;
    int big_endian;
    if (!PyArg_ParseTuple(args, "y*w*nnnnnp", &data, &out, &position, &end, &length_at,
                          &header, &limit, &big_endian))
        return NULL;
    const uint8_t *bytes = data.buf;
    int64_t *offsets = out.buf;
    Py_ssize_t capacity = out.len / (Py_ssize_t)sizeof(int64_t);
    if (limit > capacity)
        limit = capacity;
    if (end > data.len)
        end = data.len;
    Py_ssize_t count = 0;
    Py_BEGIN_ALLOW_THREADS
    while (count < limit) {
        offsets[count++] = position;
        if (position < 0 || position + length_at + 4 > end)
            break;
        position += header + (Py_ssize_t)load_u32(bytes + position + length_at, big_endian);
    }
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&data);
    PyBuffer_Release(&out);
    return PyLong_FromSsize_t(count);
}

/* gather(data, starts, out, width) -> None
 *
 * Row i of ``out`` (uint8, len(starts) rows of ``width``) gets the ``width`` bytes of
 * ``data`` from ``starts[i]``; bytes past the end of ``data`` read as zero, as walk.gather's
 * twin does. (A negative start, which the walk never makes, reads from byte 0.)
 */
static PyObject *gather(PyObject *self, PyObject *args)
{
    Py_buffer data, starts, out;
    Py_ssize_t width;
    if (!PyArg_ParseTuple(args, "y*y*w*n", &data, &starts, &out, &width))
        return NULL;
    Py_ssize_t rows = starts.len / (Py_ssize_t)sizeof(int64_t);
    if (width < 0 || out.len < rows * width) {
        PyBuffer_Release(&data);
        PyBuffer_Release(&starts);
        PyBuffer_Release(&out);
        PyErr_SetString(PyExc_ValueError, "out is too small for the rows asked for");
        return NULL;
    }
    const uint8_t *bytes = data.buf;
    const int64_t *start = starts.buf;
    uint8_t *row = out.buf;
    Py_ssize_t size = data.len;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 0; i < rows; i++, row += width) {
        int64_t from = start[i];
        int64_t stop = from + width;
        if (from < 0)
            from = 0;
        if (stop > size)
            stop = size;
        Py_ssize_t present = stop > from ? (Py_ssize_t)(stop - from) : 0;
        if (present)
            memcpy(row, bytes + from, (size_t)present);
        if (present < width)
            memset(row + present, 0, (size_t)(width - present));
    }
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&data);
    PyBuffer_Release(&starts);
    PyBuffer_Release(&out);
    Py_RETURN_NONE;
}


/* ------------------------------------------------------------------ header decoding */

/* Bytes of the file as walk.gather reads them: past the end they read as zero. */
typedef struct {
    const uint8_t *bytes;
    int64_t size;
} File;

static uint32_t byte_at(const File *file, int64_t at)
{
    return at >= 0 && at < file->size ? file->bytes[at] : 0;
}

static uint32_t be16(const File *file, int64_t at)
{
    return byte_at(file, at) << 8 | byte_at(file, at + 1);
}

static uint32_t be32(const File *file, int64_t at)
{
    return be16(file, at) << 16 | be16(file, at + 2);
}

static uint64_t be64(const File *file, int64_t at)
{
    return (uint64_t)be32(file, at) << 32 | be32(file, at + 4);
}

#define ETHERTYPE_IPV4 0x0800
#define ETHERTYPE_IPV6 0x86DD
#define V4_MAPPED 0x0000FFFF00000000ULL
#define PREFETCH_AHEAD 8

static int is_vlan_tag(uint32_t kind) { return kind == 0x8100 || kind == 0x88A8 || kind == 0x9100; }

static int is_ipv6_extension(uint32_t kind)
{
    return kind == 0 || kind == 43 || kind == 44 || kind == 51 || kind == 60 || kind == 135 ||
           kind == 139 || kind == 140;
}

/* The columns decode fills, in the order packets.COLUMNS lists them. */
enum {
    C_VLAN, C_IP_VERSION, C_SRC_HI, C_SRC_LO, C_DST_HI, C_DST_LO, C_PROTO, C_TTL, C_IP_ID,
    C_DF, C_FRAGMENT, C_SPORT, C_DPORT, C_FLAGS, C_SEQ, C_ACK, C_WINDOW, C_ICMP_TYPE,
    C_ICMP_CODE, C_L4_AT, C_PAYLOAD_AT, C_PAYLOAD_LEN, C_CAPTURED, C_TRANSPORT, C_COUNT
};
static const Py_ssize_t column_width[C_COUNT] = {
    4, 1, 8, 8, 8, 8, 2, 1, 4, 1, 1, 4, 4, 1, 8, 8, 4, 2, 2, 8, 8, 8, 8, 1,
};

/* decode(data, offset, caplen, link, columns) -> (cut, first_cut)
 *
 * The link, IP and transport headers of every packet, as packets._decode_numpy reads them:
 * every field is read from the file at the packet's offset whatever its caplen (a field
 * the caplen does not cover is then masked by the checks that use caplen). ``columns`` is
 * a tuple of writable arrays of the widths above. Returns how many IP packets the snap
 * length cut before their transport header, and the index of the first (-1: none).
 */
static PyObject *decode(PyObject *self, PyObject *args)
{
    enum { DATA, OFFSET, CAPLEN, LINK, INPUTS };
    Py_buffer in[INPUTS], out[C_COUNT];
    PyObject *columns;
    if (!PyArg_ParseTuple(args, "y*y*y*y*O!", &in[DATA], &in[OFFSET], &in[CAPLEN], &in[LINK],
                          &PyTuple_Type, &columns))
        return NULL;
    Py_ssize_t count = in[OFFSET].len / (Py_ssize_t)sizeof(int64_t);
    int held = 0, ok = PyTuple_GET_SIZE(columns) == C_COUNT &&
                       in[CAPLEN].len == in[OFFSET].len && in[LINK].len == in[OFFSET].len;
    while (ok && held < C_COUNT) {
        if (PyObject_GetBuffer(PyTuple_GET_ITEM(columns, held), &out[held],
                               PyBUF_WRITABLE | PyBUF_C_CONTIGUOUS) < 0)
            break;
        held++;
        ok = out[held - 1].len == count * column_width[held - 1];
    }
    if (held < C_COUNT || !ok) {
        release(out, held);
        release(in, INPUTS);
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_ValueError, "decode: arrays of the wrong size");
        return NULL;
    }
    const File file = {in[DATA].buf, in[DATA].len};
    const int64_t *offset = in[OFFSET].buf, *caplen = in[CAPLEN].buf, *link = in[LINK].buf;
    int32_t *vlan = out[C_VLAN].buf, *ip_id = out[C_IP_ID].buf, *sport = out[C_SPORT].buf,
            *dport = out[C_DPORT].buf, *window = out[C_WINDOW].buf;
    int8_t *ip_version = out[C_IP_VERSION].buf, *transport = out[C_TRANSPORT].buf;
    uint8_t *ttl = out[C_TTL].buf, *df = out[C_DF].buf, *fragment = out[C_FRAGMENT].buf,
            *flags = out[C_FLAGS].buf;
    uint64_t *src_hi = out[C_SRC_HI].buf, *src_lo = out[C_SRC_LO].buf,
             *dst_hi = out[C_DST_HI].buf, *dst_lo = out[C_DST_LO].buf;
    int16_t *proto_out = out[C_PROTO].buf, *icmp_type = out[C_ICMP_TYPE].buf,
            *icmp_code = out[C_ICMP_CODE].buf;
    int64_t *seq = out[C_SEQ].buf, *ack = out[C_ACK].buf, *l4_at = out[C_L4_AT].buf,
            *payload_at = out[C_PAYLOAD_AT].buf, *payload_len = out[C_PAYLOAD_LEN].buf,
            *captured = out[C_CAPTURED].buf;
    Py_ssize_t cut = 0, first_cut = -1;

    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 0; i < count; i++) {
        /* Packets lie far apart in a large file: ask for a later one's headers early. */
        if (i + PREFETCH_AHEAD < count && offset[i + PREFETCH_AHEAD] >= 0 &&
            offset[i + PREFETCH_AHEAD] + 64 < file.size) {
            __builtin_prefetch(file.bytes + offset[i + PREFETCH_AHEAD]);
            __builtin_prefetch(file.bytes + offset[i + PREFETCH_AHEAD] + 63);
        }
        const int64_t at = offset[i], cap = caplen[i], type = link[i];
        uint32_t ethertype = 0;
        int64_t l3 = 0;
        int32_t tag = -1;
        if (type == 1) { /* Ethernet II, up to two 802.1Q/802.1ad tags */
            ethertype = be16(&file, at + 12);
            l3 = 14;
            for (int depth = 0; depth < 2 && is_vlan_tag(ethertype); depth++) {
                if (depth == 0)
                    tag = (int32_t)(be16(&file, at + 14) & 0x0FFF);
                ethertype = be16(&file, at + 14 + 4 * depth + 2);
                l3 += 4;
            }
        } else if (type == 113) { /* Linux cooked (SLL) */
            ethertype = be16(&file, at + 14);
            l3 = 16;
        } else if (type == 276) { /* SLL2 */
            ethertype = be16(&file, at);
            l3 = 20;
        } else if (type == 0 || type == 108) { /* BSD loopback: the capturing host's order */
            uint32_t family = be32(&file, at);
            if (type == 0) {
                uint32_t swapped = __builtin_bswap32(family);
                if (swapped < 0x10000)
                    family = swapped;
            }
            int ipv6 = family == 10 || family == 23 || family == 24 || family == 26 ||
                       family == 28 || family == 30;
            ethertype = family == 2 ? ETHERTYPE_IPV4 : ipv6 ? ETHERTYPE_IPV6 : 0;
            l3 = 4;
        } else if (type == 12 || type == 14 || type == 101 || type == 228 || type == 229) {
            uint32_t nibble = byte_at(&file, at) >> 4;
            ethertype = nibble == 4 ? ETHERTYPE_IPV4 : nibble == 6 ? ETHERTYPE_IPV6 : 0;
        }
        vlan[i] = tag;

        const int64_t ip = at + l3;
        const uint32_t first = byte_at(&file, ip), version = first >> 4;
        const int v4 = ethertype == ETHERTYPE_IPV4 && version == 4 && cap >= l3 + 20;
        const int v6 = ethertype == ETHERTYPE_IPV6 && version == 6 && cap >= l3 + 40;
        const uint32_t fragment_field = be16(&file, ip + 6);
        uint32_t proto = v4 ? byte_at(&file, ip + 9) : v6 ? byte_at(&file, ip + 6) : 0;
        int64_t l4 = v4 ? l3 + (int64_t)(first & 0x0F) * 4 : l3 + 40;
        const int64_t ip_end =
            v4 ? l3 + be16(&file, ip + 2) : l3 + 40 + (int64_t)be16(&file, ip + 4);
        int later = v4 && (fragment_field & 0x1FFF) != 0;
        int more = v4 && (fragment_field & 0x2000) != 0;
        src_hi[i] = v6 ? be64(&file, ip + 8) : 0;
        src_lo[i] = v6 ? be64(&file, ip + 16) : V4_MAPPED | be32(&file, ip + 12);
        dst_hi[i] = v6 ? be64(&file, ip + 24) : 0;
        dst_lo[i] = v6 ? be64(&file, ip + 32) : V4_MAPPED | be32(&file, ip + 16);
        if (v6 && is_ipv6_extension(proto)) {
            /* Bounded by the bytes captured, as packets._ipv6_extensions reads them. */
            int64_t present = cap < file.size - at ? cap : file.size - at;
            for (int hop = 0; hop < 8 && is_ipv6_extension(proto) && l4 + 8 <= present; hop++) {
                uint32_t next = byte_at(&file, at + l4);
                if (proto == 44) {
                    uint32_t field = be16(&file, at + l4 + 2);
                    later = (field >> 3) != 0;
                    more = (field & 1) != 0;
                    l4 += 8;
                } else if (proto == 51) {
                    l4 += ((int64_t)byte_at(&file, at + l4 + 1) + 2) * 4;
                } else {
                    l4 += ((int64_t)byte_at(&file, at + l4 + 1) + 1) * 8;
                }
                proto = next;
            }
        }
        const int is_ip = v4 || v6, whole = is_ip && !later;
        const int tcp = whole && proto == 6 && cap >= l4 + 20;
        const int udp = whole && proto == 17 && cap >= l4 + 8;
        const int icmp = whole && (proto == 1 || proto == 58) && cap >= l4 + 4;
        const int carried = tcp || udp || icmp, ports = tcp || udp;
        const int64_t l4_file = at + l4;
        const int64_t header = tcp ? (int64_t)(byte_at(&file, l4_file + 12) >> 4) * 4 : 8;
        const int64_t payload = l4 + header;
        const int64_t wire_end = is_ip ? ip_end : cap;
        const int64_t seen = (wire_end < cap ? wire_end : cap) - payload;
        payload_len[i] = carried && wire_end > payload ? wire_end - payload : 0;
        captured[i] = carried && seen > 0 ? seen : 0;
        if (whole && !carried && (proto == 6 || proto == 17 || proto == 1 || proto == 58)) {
            if (!cut++)
                first_cut = i;
        }
        ip_version[i] = v4 ? 4 : v6 ? 6 : 0;
        proto_out[i] = is_ip ? (int16_t)proto : -1;
        ttl[i] = v4 ? (uint8_t)byte_at(&file, ip + 8) : v6 ? (uint8_t)byte_at(&file, ip + 7) : 0;
        ip_id[i] = v4 ? (int32_t)be16(&file, ip + 4) : 0;
        df[i] = v4 && (fragment_field & 0x4000) != 0;
        fragment[i] = later || more;
        sport[i] = ports ? (int32_t)be16(&file, l4_file) : 0;
        dport[i] = ports ? (int32_t)be16(&file, l4_file + 2) : 0;
        flags[i] = tcp ? (uint8_t)byte_at(&file, l4_file + 13) : 0;
        seq[i] = tcp ? be32(&file, l4_file + 4) : 0;
        ack[i] = tcp ? be32(&file, l4_file + 8) : 0;
        window[i] = tcp ? (int32_t)be16(&file, l4_file + 14) : -1;
        icmp_type[i] = icmp ? (int16_t)byte_at(&file, l4_file) : -1;
        icmp_code[i] = icmp ? (int16_t)byte_at(&file, l4_file + 1) : -1;
        l4_at[i] = l4_file;
        payload_at[i] = at + payload;
        transport[i] = tcp ? 1 : udp ? 2 : icmp ? 3 : 0;
    }
    Py_END_ALLOW_THREADS

    release(out, C_COUNT);
    release(in, INPUTS);
    return Py_BuildValue("nn", cut, first_cut);
}

static PyMethodDef methods[] = {
    {"chain", chain, METH_VARARGS, "Record offsets chained from their length fields."},
    {"gather", gather, METH_VARARGS, "Fixed-width rows of bytes at given offsets."},
    {"decode", decode, METH_VARARGS, "Link, IP and transport header fields of every packet."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_records", "Compiled record loops of the capture walk.", -1,
    methods,
};

PyMODINIT_FUNC PyInit__records(void) { return PyModule_Create(&module); }
