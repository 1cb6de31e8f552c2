/* A log format's head pattern over a column of lines, compiled by PCRE2 (JIT where the library
 * has it): the twin of the polars ``str.extract_groups`` pass in parsers/logs/parser.py.
 *
 * The formats' patterns are written in the syntax both engines share: named groups, classes,
 * ``\d \s \w \b`` (Unicode-aware in both, PCRE2_UCP here), greedy and lazy repeats tried in the
 * same leftmost-first order. Where PCRE2 refuses a pattern, or a line makes it give up, the
 * caller runs the polars pass instead; tests run both on the same lines.
 *
 * Lines arrive and results leave through the Arrow C data interface (_arrow.h); the matching
 * runs with the GIL released, so callers run it on slices of a column in several threads.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "_arrow.h"

/* Where a group matched in its line: bytes [start, start + length); length -1 if it did not. */
typedef struct {
    int32_t start, length;
} Cut;

typedef struct {
    const Text *rows;
    const Cut *cuts; /* each output column's cuts in turn, one per row */
    int64_t count;
} Claimed;

typedef struct {
    const Claimed *claimed;
    int column;
} CutColumn;

static Text cut_value(const void *source, int64_t row)
{
    const CutColumn *column = source;
    Cut at = column->claimed->cuts[column->column * column->claimed->count + row];
    if (at.length < 0)
        return (Text){NULL, -1};
    return (Text){column->claimed->rows[row].data + at.start, at.length};
}

static int build_cut(int index, struct ArrowArray *column, const char **format,
                     const void *context)
{
    CutColumn source = {context, index};
    return build_strings(column, format, cut_value, &source, source.claimed->count, 0);
}

/* The pattern's named groups in group order: ``numbers[i]`` is the number of ``names[i]``. */
typedef struct {
    int count;
    uint32_t *numbers;
    const char **names; /* point into the pattern's name table, then "_tail" */
} Groups;

static int named_groups(const pcre2_code *code, Groups *groups)
{
    uint32_t count = 0, entry = 0;
    PCRE2_SPTR table = NULL;
    pcre2_pattern_info(code, PCRE2_INFO_NAMECOUNT, &count);
    pcre2_pattern_info(code, PCRE2_INFO_NAMEENTRYSIZE, &entry);
    pcre2_pattern_info(code, PCRE2_INFO_NAMETABLE, &table);
    groups->count = (int)count;
    groups->numbers = malloc(sizeof *groups->numbers * (count + 1));
    groups->names = malloc(sizeof *groups->names * (count + 1));
    if (!groups->numbers || !groups->names)
        return -1;
    /* The table is sorted by name; the columns follow the groups' order in the pattern, as
     * polars gives them. */
    for (uint32_t i = 0; i < count; i++) {
        PCRE2_SPTR item = table + (size_t)i * entry;
        uint32_t number = (uint32_t)(item[0] << 8 | item[1]);
        uint32_t at = i;
        while (at > 0 && groups->numbers[at - 1] > number) {
            groups->numbers[at] = groups->numbers[at - 1];
            groups->names[at] = groups->names[at - 1];
            at--;
        }
        groups->numbers[at] = number;
        groups->names[at] = (const char *)item + 2;
    }
    groups->names[count] = "_tail";
    return 0;
}

/* Where the rest of ``line`` starts once the head [start, end) is taken off its front, as
 * ``strip_prefix`` takes off the matched text: past the head when the line opens with it. */
static int32_t tail_start(Text line, PCRE2_SIZE start, PCRE2_SIZE end)
{
    size_t length = end - start;
    if (start == 0 || memcmp(line.data, line.data + start, length) == 0)
        return (int32_t)length;
    return 0;
}

/* claim(stream, pattern) -> (schema capsule, array capsule)
 *
 * ``stream`` is an "arrow_array_stream" capsule of strings. Returns a struct array with one
 * row per line: each named group of ``pattern`` (null where the line did not match or the
 * group took no part) and ``_tail``, the line without the matched text in front (null where
 * it did not match). Raises ValueError when PCRE2 cannot take the pattern or gives up on a
 * line; the caller then uses the polars pass.
 */
static PyObject *claim(PyObject *self, PyObject *args)
{
    PyObject *capsule;
    const char *pattern;
    Py_ssize_t pattern_length;
    if (!PyArg_ParseTuple(args, "Os#", &capsule, &pattern, &pattern_length))
        return NULL;
    int error;
    PCRE2_SIZE error_at;
    pcre2_code *code = pcre2_compile((PCRE2_SPTR)pattern, (PCRE2_SIZE)pattern_length,
                                     PCRE2_UTF | PCRE2_UCP | PCRE2_DOLLAR_ENDONLY, &error,
                                     &error_at, NULL);
    if (code == NULL) {
        PCRE2_UCHAR why[160];
        pcre2_get_error_message(error, why, sizeof why);
        return PyErr_Format(PyExc_ValueError, "PCRE2 refuses the pattern at %zu: %s",
                            (size_t)error_at, (const char *)why);
    }
    int jit = pcre2_jit_compile(code, PCRE2_JIT_COMPLETE) == 0;
    Groups groups = {0};
    pcre2_match_data *match = pcre2_match_data_create_from_pattern(code, NULL);
    /* Room for the JIT to backtrack over a long line before it gives up. */
    pcre2_match_context *context = pcre2_match_context_create(NULL);
    pcre2_jit_stack *stack = jit ? pcre2_jit_stack_create(32 * 1024, 4 << 20, NULL) : NULL;
    if (context && stack)
        pcre2_jit_stack_assign(context, NULL, stack);
    Input input = {0};
    int opened = 0;
    Cut *cuts = NULL;
    PyObject *result = NULL;
    if (match == NULL || context == NULL || named_groups(code, &groups) != 0) {
        PyErr_NoMemory();
        goto done;
    }
    if (open_input(capsule, &input) != 0)
        goto done;
    opened = 1;
    int width = groups.count + 1;
    int64_t count = input.count;
    cuts = malloc(sizeof *cuts * (size_t)(count * width + 1));
    if (cuts == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    int failed = 0;
    int64_t failed_row = 0;
    Py_BEGIN_ALLOW_THREADS
    for (int64_t i = 0; i < count; i++) {
        const Text line = input.rows[i];
        int found = PCRE2_ERROR_NOMATCH;
        if (line.length >= 0)
            found = jit ? pcre2_jit_match(code, line.data, (PCRE2_SIZE)line.length, 0, 0, match,
                                          context)
                        : pcre2_match(code, line.data, (PCRE2_SIZE)line.length, 0,
                                      PCRE2_NO_UTF_CHECK, match, context);
        if (found < 0 && found != PCRE2_ERROR_NOMATCH) {
            failed = found;
            failed_row = i;
            break;
        }
        const PCRE2_SIZE *spans = pcre2_get_ovector_pointer(match);
        for (int g = 0; g < groups.count; g++) {
            Cut *cut = &cuts[g * count + i];
            uint32_t number = groups.numbers[g];
            if (found < 0 || (int)number >= found || spans[2 * number] == PCRE2_UNSET)
                *cut = (Cut){0, -1};
            else
                *cut = (Cut){(int32_t)spans[2 * number],
                             (int32_t)(spans[2 * number + 1] - spans[2 * number])};
        }
        Cut *tail = &cuts[groups.count * count + i];
        if (found < 0)
            *tail = (Cut){0, -1};
        else {
            int32_t start = tail_start(line, spans[0], spans[1]);
            *tail = (Cut){start, (int32_t)line.length - start};
        }
    }
    Py_END_ALLOW_THREADS
    if (failed) {
        PCRE2_UCHAR why[160];
        pcre2_get_error_message(failed, why, sizeof why);
        PyErr_Format(PyExc_ValueError, "PCRE2 gave up on line %lld: %s",
                     (long long)failed_row, (const char *)why);
        goto done;
    }
    Claimed claimed = {input.rows, cuts, count};
    result = export_struct(width, groups.names, build_cut, &claimed, count);
done:
    free(cuts);
    if (opened)
        release_input(&input);
    free(groups.numbers);
    free(groups.names);
    pcre2_match_data_free(match);
    pcre2_match_context_free(context);
    pcre2_jit_stack_free(stack);
    pcre2_code_free(code);
    return result;
}

static PyMethodDef methods[] = {
    {"claim", claim, METH_VARARGS,
     "A pattern's named groups and the rest of each line (Arrow capsule pair)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_lines", "Log format patterns over columns of lines, by PCRE2.", -1,
    methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__lines(void) { return PyModule_Create(&module); }
