/* The two per-record loops of the capture walk, compiled: following length fields from
 * record to record, and copying a fixed-width slice of bytes at each record.
 *
 * Both do exactly what their Python twins in walk.py do (``_chain``, ``_block_chain`` and
 * ``gather``), which stay as the reference and as the fallback where this module was not
 * built; tests compare the two on random bytes. Inputs and outputs are buffers (numpy
 * arrays): nothing here allocates a Python object per record, and the GIL is released
 * while the loops run.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

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

static PyMethodDef methods[] = {
    {"chain", chain, METH_VARARGS, "Record offsets chained from their length fields."},
    {"gather", gather, METH_VARARGS, "Fixed-width rows of bytes at given offsets."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_records", "Compiled record loops of the capture walk.", -1,
    methods,
};

PyMODINIT_FUNC PyInit__records(void) { return PyModule_Create(&module); }
