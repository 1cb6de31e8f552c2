/* Arrow C data interface plumbing shared by the compiled scans (_scan.c, _lines.c): a string
 * column taken from polars through an "arrow_array_stream" capsule without a copy, and struct
 * arrays of new columns handed back as the PyCapsule pair polars takes in.
 *
 * Included once per extension; every function is static.
 */
#ifndef LOGINLENS_ARROW_H
#define LOGINLENS_ARROW_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ Arrow C data interface */

#define ARROW_FLAG_NULLABLE 2

struct ArrowSchema {
    const char *format;
    const char *name;
    const char *metadata;
    int64_t flags;
    int64_t n_children;
    struct ArrowSchema **children;
    struct ArrowSchema *dictionary;
    void (*release)(struct ArrowSchema *);
    void *private_data;
};

struct ArrowArray {
    int64_t length;
    int64_t null_count;
    int64_t offset;
    int64_t n_buffers;
    int64_t n_children;
    const void **buffers;
    struct ArrowArray **children;
    struct ArrowArray *dictionary;
    void (*release)(struct ArrowArray *);
    void *private_data;
};

struct ArrowArrayStream {
    int (*get_schema)(struct ArrowArrayStream *, struct ArrowSchema *out);
    int (*get_next)(struct ArrowArrayStream *, struct ArrowArray *out);
    const char *(*get_last_error)(struct ArrowArrayStream *);
    void (*release)(struct ArrowArrayStream *);
    void *private_data;
};

static inline uint8_t lower(uint8_t c) { return c >= 'A' && c <= 'Z' ? c | 0x20 : c; }

/* ------------------------------------------------------------------------ threads */

#define MAX_THREADS 64

/* ``work`` run on each of ``threads`` shares (``size`` bytes apart from ``shares``): the first
 * in this thread, each other in a thread of its own, or in this thread where none can start.
 * Call with the GIL released. */
static void in_threads(void *(*work)(void *), void *shares, size_t size, int threads)
{
    pthread_t ids[MAX_THREADS];
    int started[MAX_THREADS] = {0};
    for (int t = 1; t < threads; t++)
        started[t] = pthread_create(&ids[t], NULL, work, (char *)shares + t * size) == 0;
    work(shares);
    for (int t = 1; t < threads; t++) {
        if (started[t])
            pthread_join(ids[t], NULL);
        else
            work((char *)shares + t * size);
    }
}

/* The threads to run, of the ``asked``: one at least, MAX_THREADS at most. */
static int thread_count(int asked)
{
    return asked < 1 ? 1 : asked > MAX_THREADS ? MAX_THREADS : asked;
}

/* Share ``share`` of ``threads`` of ``count`` rows starts here: at a multiple of 8, so that no
 * two threads write one byte of a validity bitmap. */
static int64_t share_start(int64_t count, int share, int threads)
{
    return share == threads ? count : (count * share / threads) & ~7;
}

/* ------------------------------------------------------------------------ input */

typedef struct {
    const uint8_t *data;
    int64_t length; /* -1: null */
} Text;

/* Row ``i`` of one Arrow string array (utf8, large utf8 or utf8 view) in ``*text``; returns an
 * error text or NULL. */
static const char *row_text(const struct ArrowArray *array, const char *format, int64_t i,
                            Text *text)
{
    const uint8_t *validity = array->buffers[0];
    int64_t at = array->offset + i;
    if (validity && !((validity[at >> 3] >> (at & 7)) & 1)) {
        *text = (Text){NULL, -1};
        return NULL;
    }
    if (format[0] == 'v') {
        const uint8_t *view = (const uint8_t *)array->buffers[1] + 16 * at;
        int32_t length, buffer, offset;
        memcpy(&length, view, 4);
        if (length < 0)
            return "a string view of negative length";
        if (length <= 12) {
            *text = (Text){view + 4, length};
            return NULL;
        }
        memcpy(&buffer, view + 8, 4);
        memcpy(&offset, view + 12, 4);
        /* Buffers: validity, views, the data buffers, then their sizes (int64). */
        const int64_t *sizes = array->buffers[array->n_buffers - 1];
        if (buffer < 0 || buffer + 4 > array->n_buffers || offset < 0 ||
            (int64_t)offset + length > sizes[buffer])
            return "a string view points outside its buffers";
        *text = (Text){(const uint8_t *)array->buffers[2 + buffer] + offset, length};
    } else if (format[0] == 'u') {
        const int32_t *offsets = array->buffers[1];
        *text = (Text){(const uint8_t *)array->buffers[2] + offsets[at],
                       offsets[at + 1] - offsets[at]};
    } else {
        const int64_t *offsets = array->buffers[1];
        *text = (Text){(const uint8_t *)array->buffers[2] + offsets[at],
                       offsets[at + 1] - offsets[at]};
    }
    if (text->length > INT32_MAX)
        return "a text of over 2 GiB";
    return NULL;
}

/* The rows of one Arrow string array written to ``rows``. */
static const char *read_rows(const struct ArrowArray *array, const char *format, Text *rows)
{
    for (int64_t i = 0; i < array->length; i++) {
        const char *problem = row_text(array, format, i, &rows[i]);
        if (problem)
            return problem;
    }
    return NULL;
}

typedef struct {
    struct ArrowArray *items;
    int64_t count, capacity;
} Chunks;

/* A string column taken from polars: its chunks (kept alive) and a pointer to every row. */
typedef struct {
    struct ArrowArrayStream *stream;
    Chunks chunks;
    Text *rows;
    int64_t count;
    char format[4]; /* "vu" (string views, as polars keeps text), "u" or "U" */
} Input;

static void release_input(Input *input)
{
    for (int64_t i = 0; i < input->chunks.count; i++)
        if (input->chunks.items[i].release)
            input->chunks.items[i].release(&input->chunks.items[i]);
    free(input->chunks.items);
    free(input->rows);
    if (input->stream && input->stream->release)
        input->stream->release(input->stream);
}

/* Pull every chunk of the stream; returns an error text or NULL. */
static const char *read_chunks(Input *input, char *format)
{
    struct ArrowArrayStream *stream = input->stream;
    Chunks *chunks = &input->chunks;
    struct ArrowSchema schema;
    if (stream->get_schema(stream, &schema) != 0)
        return "the stream gave no schema";
    int known = strcmp(schema.format, "vu") == 0 || strcmp(schema.format, "u") == 0 ||
                strcmp(schema.format, "U") == 0;
    strncpy(format, schema.format, 3);
    format[3] = 0;
    schema.release(&schema);
    if (!known)
        return "the stream does not hold strings";
    for (;;) {
        if (chunks->count == chunks->capacity) {
            int64_t capacity = chunks->capacity ? 2 * chunks->capacity : 16;
            void *grown = realloc(chunks->items, sizeof *chunks->items * (size_t)capacity);
            if (grown == NULL)
                return "out of memory";
            chunks->items = grown;
            chunks->capacity = capacity;
        }
        struct ArrowArray *next = &chunks->items[chunks->count];
        if (stream->get_next(stream, next) != 0) {
            const char *why = stream->get_last_error ? stream->get_last_error(stream) : NULL;
            return why ? why : "the stream failed part-way";
        }
        if (next->release == NULL)
            return NULL;
        chunks->count++;
        input->count += next->length;
    }
}

/* Opens an "arrow_array_stream" capsule of strings, with ``rows`` (a pointer to every row) only
 * if ``with_rows``: a single pass over the rows reads them chunk by chunk with ``row_text``
 * instead. On failure, sets a Python error and returns -1 (``input`` is then released). */
static int open_chunks(PyObject *capsule, Input *input, int with_rows)
{
    *input = (Input){.stream = PyCapsule_GetPointer(capsule, "arrow_array_stream")};
    if (input->stream == NULL)
        return -1;
    if (input->stream->release == NULL) {
        PyErr_SetString(PyExc_ValueError, "the stream was already consumed");
        return -1;
    }
    char *format = input->format;
    const char *problem = read_chunks(input, format);
    if (!problem && with_rows &&
        (input->rows = malloc(sizeof *input->rows * (size_t)(input->count + 1))) == NULL)
        problem = "out of memory";
    int64_t row = 0;
    for (int64_t c = 0; !problem && with_rows && c < input->chunks.count; c++) {
        problem = read_rows(&input->chunks.items[c], format, input->rows + row);
        row += input->chunks.items[c].length;
    }
    if (problem) {
        PyErr_SetString(PyExc_ValueError, problem); /* before the stream that may own it goes */
        release_input(input);
        return -1;
    }
    return 0;
}

/* ``open_chunks`` with every row's pointer in ``rows``. */
static int open_input(PyObject *capsule, Input *input) { return open_chunks(capsule, input, 1); }

/* ------------------------------------------------------------------------ output */

/* How many of the first ``count`` bits of ``bitmap`` are set (the bits past them are clear). */
static int64_t count_set(const uint8_t *bitmap, int64_t count)
{
    int64_t set = 0;
    for (int64_t byte = 0; byte < (count + 7) / 8; byte++)
        set += __builtin_popcount(bitmap[byte]);
    return set;
}

/* One column's buffers: validity bitmap, views or offsets, bytes or values, and (for views)
 * the size of the bytes. */
typedef struct {
    uint8_t *validity;
    void *offsets;
    uint8_t *data;
    int64_t data_bytes;
    const void *buffers[4];
} Column;

static void release_column(struct ArrowArray *array)
{
    Column *column = array->private_data;
    free(column->validity);
    free(column->offsets);
    free(column->data);
    free(column);
    array->release = NULL;
}

static void release_struct(struct ArrowArray *array)
{
    for (int64_t i = 0; i < array->n_children; i++) {
        struct ArrowArray *child = array->children[i];
        if (child && child->release)
            child->release(child);
        free(child);
    }
    free(array->children);
    free(array->buffers);
    array->release = NULL;
}

static void release_schema(struct ArrowSchema *schema)
{
    for (int64_t i = 0; i < schema->n_children; i++) {
        struct ArrowSchema *leaf = schema->children[i];
        if (leaf && leaf->release) /* not moved out by the consumer */
            leaf->release(leaf);
        free(leaf);
    }
    free(schema->children);
    schema->release = NULL;
}

/* A leaf owns only its name. */
static void release_leaf_schema(struct ArrowSchema *schema)
{
    free((char *)schema->name);
    schema->release = NULL;
}

static void free_schema_capsule(PyObject *capsule)
{
    struct ArrowSchema *schema = PyCapsule_GetPointer(capsule, "arrow_schema");
    if (schema && schema->release)
        schema->release(schema);
    free(schema);
}

static void free_array_capsule(PyObject *capsule)
{
    struct ArrowArray *array = PyCapsule_GetPointer(capsule, "arrow_array");
    if (array && array->release)
        array->release(array);
    free(array);
}

/* Row ``row`` of a column being built; length -1 for null. */
typedef Text (*Getter)(const void *source, int64_t row);

/* Writes the value of row ``i`` of a string column: into its 16-byte view (inline up to 12
 * bytes, else its length, first four bytes, buffer 0 and offset ``*at`` in ``data``), or after
 * the row before in ``data`` with ``offsets`` 64-bit (``views`` NULL). */
static void put_value(Text value, int fold, uint8_t *views, int64_t *offsets, uint8_t *data,
                      int64_t i, int64_t *at)
{
    uint8_t *to = data + *at;
    if (views != NULL && value.length <= 12)
        to = views + 16 * i + 4;
    if (fold)
        for (int64_t b = 0; b < value.length; b++)
            to[b] = lower(value.data[b]);
    else
        memcpy(to, value.data, (size_t)value.length);
    if (views != NULL) {
        int32_t length = (int32_t)value.length, buffer = 0, offset = (int32_t)*at;
        memcpy(views + 16 * i, &length, 4);
        if (length > 12) {
            memcpy(views + 16 * i + 4, to, 4);
            memcpy(views + 16 * i + 8, &buffer, 4);
            memcpy(views + 16 * i + 12, &offset, 4);
        }
    }
    if (views == NULL || value.length > 12)
        *at += value.length;
    if (offsets != NULL)
        offsets[i + 1] = *at;
}

/* A string column of ``count`` rows from ``get``, lower-cased when ``fold``: string views
 * ("vu", what polars keeps, so it takes them without converting) unless the bytes need
 * 64-bit offsets ("U"); ``format`` says which. */
static int build_strings(struct ArrowArray *out, const char **format, Getter get,
                         const void *source, int64_t count, int fold)
{
    Column *column = calloc(1, sizeof *column);
    if (column == NULL)
        return -1;
    int64_t bytes = 0, nulls = 0;
    for (int64_t i = 0; i < count; i++) {
        int64_t length = get(source, i).length;
        nulls += length < 0;
        bytes += length < 0 ? 0 : length;
    }
    int viewed = bytes <= INT32_MAX;
    column->validity = calloc((size_t)(count + 7) / 8 + 1, 1);
    column->offsets = viewed ? calloc((size_t)count + 1, 16) : malloc(8 * (size_t)(count + 1));
    column->data = malloc((size_t)bytes + 1);
    if (!column->validity || !column->offsets || !column->data) {
        out->private_data = column;
        release_column(out);
        return -1;
    }
    uint8_t *views = viewed ? column->offsets : NULL;
    int64_t *offsets = viewed ? NULL : column->offsets;
    int64_t at = 0;
    if (offsets != NULL)
        offsets[0] = 0;
    for (int64_t i = 0; i < count; i++) {
        Text value = get(source, i);
        if (value.length < 0) {
            if (offsets != NULL)
                offsets[i + 1] = at;
            continue;
        }
        column->validity[i >> 3] |= (uint8_t)(1 << (i & 7));
        put_value(value, fold, views, offsets, column->data, i, &at);
    }
    column->data_bytes = at;
    column->buffers[0] = column->validity;
    column->buffers[1] = column->offsets;
    column->buffers[2] = column->data;
    column->buffers[3] = &column->data_bytes; /* a view array's buffer sizes */
    *out = (struct ArrowArray){.length = count, .null_count = nulls, .n_buffers = viewed ? 4 : 3,
                               .buffers = column->buffers, .release = release_column,
                               .private_data = column};
    *format = viewed ? "vu" : "U";
    return 0;
}

/* A column of fixed-width ``values`` (int64, or bits for booleans) that takes them over, and
 * ``validity`` if not NULL (both malloc'd; freed with the column). */
static int build_fixed(struct ArrowArray *out, void *values, uint8_t *validity, int64_t nulls,
                       int64_t count)
{
    Column *column = calloc(1, sizeof *column);
    if (column == NULL)
        return -1;
    column->data = values;
    column->validity = validity;
    column->buffers[0] = validity;
    column->buffers[1] = values;
    *out = (struct ArrowArray){.length = count, .null_count = nulls, .n_buffers = 2,
                               .buffers = column->buffers, .release = release_column,
                               .private_data = column};
    return 0;
}

/* A struct array of ``width`` columns named ``names``, made by ``build(i, column, format,
 * context)``, as the PyCapsule pair polars takes in (NULL with a Python error on failure).
 * With ``threads`` above 1 the columns are built that many at once, so ``build`` must not
 * touch what another column's build does. */
typedef int (*Builder)(int index, struct ArrowArray *column, const char **format,
                       const void *context);

typedef struct {
    struct ArrowSchema *schema;
    struct ArrowArray *array;
    const char *const *names;
    Builder build;
    const void *context;
    int first, step, failed;
} Builds;

/* Columns first, first + step, ... of the struct: built, with their schemas. */
static void *build_columns(void *argument)
{
    Builds *builds = argument;
    struct ArrowSchema *schema = builds->schema;
    struct ArrowArray *array = builds->array;
    for (int i = builds->first; !builds->failed && i < array->n_children; i += builds->step) {
        struct ArrowSchema *leaf = schema->children[i] = malloc(sizeof *leaf);
        struct ArrowArray *column = array->children[i] = calloc(1, sizeof *column);
        const char *format = "";
        builds->failed = !leaf || !column || builds->build(i, column, &format, builds->context);
        char *name = leaf ? strdup(builds->names[i]) : NULL;
        builds->failed |= name == NULL;
        if (leaf)
            *leaf = (struct ArrowSchema){.format = format, .name = name,
                                         .flags = ARROW_FLAG_NULLABLE,
                                         .release = release_leaf_schema};
    }
    return NULL;
}

static PyObject *export_struct(int width, const char *const *names, Builder build,
                               const void *context, int64_t count, int threads)
{
    struct ArrowSchema *schema = calloc(1, sizeof *schema);
    struct ArrowArray *array = calloc(1, sizeof *array);
    if (schema == NULL || array == NULL) {
        free(schema);
        free(array);
        return PyErr_NoMemory();
    }
    *schema = (struct ArrowSchema){.format = "+s", .name = "", .n_children = width,
                                   .children = calloc((size_t)width, sizeof(void *)),
                                   .release = release_schema};
    *array = (struct ArrowArray){.length = count, .n_buffers = 1, .n_children = width,
                                 .buffers = calloc(1, sizeof(void *)),
                                 .children = calloc((size_t)width, sizeof(void *)),
                                 .release = release_struct};
    int failed = !schema->children || !array->buffers || !array->children;
    if (!schema->children)
        schema->n_children = 0;
    if (!array->children)
        array->n_children = 0;
    threads = threads < 1 ? 1 : threads > width ? width : threads;
    if (!failed) {
        Builds builds[MAX_THREADS];
        for (int t = 0; t < threads; t++)
            builds[t] = (Builds){schema, array, names, build, context, t, threads, 0};
        Py_BEGIN_ALLOW_THREADS
        in_threads(build_columns, builds, sizeof *builds, threads);
        Py_END_ALLOW_THREADS
        for (int t = 0; t < threads; t++)
            failed |= builds[t].failed;
    }
    PyObject *schema_capsule = NULL, *array_capsule = NULL;
    if (!failed)
        schema_capsule = PyCapsule_New(schema, "arrow_schema", free_schema_capsule);
    if (schema_capsule)
        array_capsule = PyCapsule_New(array, "arrow_array", free_array_capsule);
    if (array_capsule)
        return Py_BuildValue("(NN)", schema_capsule, array_capsule);
    if (schema_capsule)
        Py_DECREF(schema_capsule); /* releases and frees the schema */
    else {
        schema->release(schema);
        free(schema);
    }
    array->release(array);
    free(array);
    return failed ? PyErr_NoMemory() : NULL;
}

/* ------------------------------------------------------------------ borrowed string views
 * Columns of string views that point into the buffers of the column they were cut from, so
 * that a cut costs sixteen bytes and no copy. */

/* The lines' chunks, kept alive as long as a column handed back borrows their buffers. */
typedef struct {
    Input input;
    int64_t refs;
    int64_t buffers;          /* data buffers over all chunks */
    const void **data;        /* each of them */
    int64_t *sizes;           /* and its size */
    int32_t (*where)[2];      /* per row: its data buffer and offset (buffer -1: inline, null) */
} Lines;

static void drop_lines(Lines *lines)
{
    if (__atomic_sub_fetch(&lines->refs, 1, __ATOMIC_ACQ_REL) != 0)
        return;
    release_input(&lines->input);
    free(lines->data);
    free(lines->sizes);
    free(lines->where);
    free(lines);
}

/* Where every row's bytes lie among the chunks' data buffers, numbered over all chunks; -1 when
 * memory runs out, -2 when a line lies too far into its buffer for a view to point into it. */
static int locate_rows(Lines *lines)
{
    Chunks *chunks = &lines->input.chunks;
    for (int64_t c = 0; c < chunks->count; c++)
        lines->buffers += chunks->items[c].n_buffers > 3 ? chunks->items[c].n_buffers - 3 : 0;
    lines->data = malloc(sizeof *lines->data * (size_t)(lines->buffers + 1));
    lines->sizes = malloc(sizeof *lines->sizes * (size_t)(lines->buffers + 1));
    lines->where = malloc(sizeof *lines->where * (size_t)(lines->input.count + 1));
    if (!lines->data || !lines->sizes || !lines->where)
        return -1;
    int64_t buffer = 0, row = 0;
    for (int64_t c = 0; c < chunks->count; c++) {
        const struct ArrowArray *chunk = &chunks->items[c];
        int64_t own = chunk->n_buffers > 3 ? chunk->n_buffers - 3 : 0;
        const int64_t *sizes = chunk->buffers[chunk->n_buffers - 1];
        for (int64_t b = 0; b < own; b++) {
            lines->data[buffer + b] = chunk->buffers[2 + b];
            lines->sizes[buffer + b] = sizes[b];
        }
        for (int64_t i = 0; i < chunk->length; i++, row++) {
            const uint8_t *view = (const uint8_t *)chunk->buffers[1] + 16 * (chunk->offset + i);
            int32_t index, offset;
            memcpy(&index, view + 8, 4);
            memcpy(&offset, view + 12, 4);
            int64_t length = lines->input.rows[row].length;
            if (length > 12 && (int64_t)offset + length > INT32_MAX)
                return -2; /* a cut's offset would not fit a view */
            lines->where[row][0] = length <= 12 ? -1 : (int32_t)(buffer + index);
            lines->where[row][1] = offset;
        }
        buffer += own;
    }
    return 0;
}

/* A column of string views into the lines, one per row, null until ``put_cut`` fills it. */
typedef struct {
    uint8_t *validity;
    uint8_t *views;
    const void **buffers; /* validity, views, the lines' data buffers, their sizes */
    Lines *lines;         /* set once exported: the column then holds the lines alive */
} Borrowed;

static void free_borrowed(Borrowed *column)
{
    if (column == NULL)
        return;
    free(column->validity);
    free(column->views);
    free(column->buffers);
    if (column->lines)
        drop_lines(column->lines);
    free(column);
}

static void release_borrowed(struct ArrowArray *array)
{
    free_borrowed(array->private_data);
    array->release = NULL;
}

/* A column of views for ``lines``, all null, whose views are left for the caller to set: it
 * must ``put_cut`` or ``put_null`` every row (in the threads that scan them, not zeroed here
 * all at once before). */
static Borrowed *new_borrowed(const Lines *lines)
{
    int64_t count = lines->input.count;
    Borrowed *column = calloc(1, sizeof *column);
    if (column == NULL)
        return NULL;
    column->validity = calloc((size_t)(count + 7) / 8 + 1, 1);
    column->views = malloc(16 * ((size_t)count + 1));
    column->buffers = malloc(sizeof(void *) * (size_t)(lines->buffers + 3));
    if (!column->validity || !column->views || !column->buffers) {
        free_borrowed(column);
        return NULL;
    }
    return column;
}

/* Row ``i`` of ``column`` null (its view zeroed, as polars keeps a null's). */
static void put_null(Borrowed *column, int64_t i) { memset(column->views + 16 * i, 0, 16); }

/* Row ``i`` of ``column``: bytes [start, start + length) of line ``i``, not copied (a view
 * holds up to 12 bytes itself; a longer cut lies in a longer line, in the line's buffer).
 * Threads may fill rows at once if each fills whole bytes of the validity bitmap. */
static void put_cut(Borrowed *column, const Lines *lines, int64_t i, int32_t start,
                    int32_t length)
{
    uint8_t *view = column->views + 16 * i;
    const uint8_t *bytes = lines->input.rows[i].data + start;
    column->validity[i >> 3] |= (uint8_t)(1 << (i & 7));
    memset(view, 0, 16);
    memcpy(view, &length, 4);
    if (length <= 12) {
        memcpy(view + 4, bytes, (size_t)length);
        return;
    }
    int32_t offset = lines->where[i][1] + start;
    memcpy(view + 4, bytes, 4);
    memcpy(view + 8, &lines->where[i][0], 4);
    memcpy(view + 12, &offset, 4);
}

/* ``column`` as an Arrow string view array that owns it and holds ``lines`` alive. */
static void export_borrowed(struct ArrowArray *out, Borrowed *column, Lines *lines)
{
    int64_t count = lines->input.count, valid = count_set(column->validity, count);
    column->buffers[0] = column->validity;
    column->buffers[1] = column->views;
    for (int64_t b = 0; b < lines->buffers; b++)
        column->buffers[2 + b] = lines->data[b];
    column->buffers[2 + lines->buffers] = lines->sizes;
    __atomic_add_fetch(&lines->refs, 1, __ATOMIC_ACQ_REL);
    column->lines = lines;
    *out = (struct ArrowArray){.length = count, .null_count = count - valid,
                               .n_buffers = 3 + lines->buffers, .buffers = column->buffers,
                               .release = release_borrowed, .private_data = column};
}

/* Frees what only cutting needed (each row's place), once the columns are exported: they hold
 * the lines' chunks and buffer sizes, which stay until the last of them is released. */
static void done_cutting(Lines *lines)
{
    free(lines->input.rows);
    free(lines->where);
    free(lines->data);
    lines->input.rows = NULL;
    lines->where = NULL;
    lines->data = NULL;
}

/* The string view column of ``capsule`` (an "arrow_array_stream"), held for columns to
 * borrow from; NULL with a Python error (ValueError where it is not string views or a row lies
 * too far into its buffer for a view to point at a cut of it). */
static Lines *open_lines(PyObject *capsule)
{
    Lines *lines = calloc(1, sizeof *lines);
    if (lines == NULL)
        return (Lines *)PyErr_NoMemory();
    if (open_input(capsule, &lines->input) != 0) {
        free(lines);
        return NULL;
    }
    /* The chunks outlive the stream, which belongs to the caller's capsule. */
    lines->input.stream->release(lines->input.stream);
    lines->input.stream = NULL;
    lines->refs = 1;
    int located = strcmp(lines->input.format, "vu") != 0 ? -3 : locate_rows(lines);
    if (located == 0)
        return lines;
    if (located == -1)
        PyErr_NoMemory();
    else
        PyErr_SetString(PyExc_ValueError, located == -3 ? "the texts are not string views"
                                                        : "the texts lie past 2 GiB of their buffers");
    drop_lines(lines);
    return NULL;
}

#endif
