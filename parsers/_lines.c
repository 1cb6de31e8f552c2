/* A log format's head pattern over a column of lines, compiled by PCRE2 (JIT where the library
 * has it): the twin of the polars ``str.extract_groups`` pass in parsers/logs/parser.py.
 *
 * The formats' patterns are written in the syntax both engines share: named groups, classes,
 * ``\d \s \w \b``, greedy and lazy repeats tried in the same leftmost-first order. On ASCII
 * text the two engines agree; past ASCII they classify characters by different Unicode tables
 * (PCRE2's own, Rust's), so a line is matched only up to its first byte past ASCII (and its
 * first HEAD_BYTES), and if the match needed to see further (a partial match) the line is left
 * "undecided" for polars. So is a line on which PCRE2 backtracks past a limit (polars' automata
 * never backtrack). The caller matches undecided lines with polars, and every line if PCRE2
 * refuses the pattern.
 *
 * Lines arrive and results leave through the Arrow C data interface (_arrow.h). The lines are
 * cut into one share per thread and matched with the GIL released; the columns handed back are
 * string views into the lines' own buffers, so no text is copied.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "_arrow.h"
#include "_stamps.h"

/* PCRE2 sees at most this much of a line: a head (stamp, level, tag) ends well before it. A line
 * whose head runs on is polars'. The cap bounds what a lazy repeat before white space can cost
 * a backtracking engine (quadratic in what it sees; polars' automata are linear). */
#define HEAD_BYTES 256
/* Backtracking steps past which a line is polars' (exponential patterns). */
#define MATCH_STEPS 100000

/* ------------------------------------------------------------------------ matching */

/* The pattern's named groups in group order: ``numbers[i]`` is the number of ``names[i]``. */
typedef struct {
    int count;
    uint32_t *numbers;
    const char **names; /* point into the pattern's name table, then "_tail", "_undecided" and
                         * "_naive" */
    int stamp;          /* the group named "ts", whose naive ISO stamps are read; -1: none */
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
    groups->names = malloc(sizeof *groups->names * (count + 3));
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
    groups->names[count + 1] = "_undecided";
    groups->names[count + 2] = "_naive";
    groups->stamp = -1;
    for (uint32_t i = 0; i < count; i++)
        if (strcmp(groups->names[i], "ts") == 0)
            groups->stamp = (int)i;
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

/* How many bytes ``text`` opens with below 0x80, eight at a time. */
static int64_t ascii_prefix(const uint8_t *text, int64_t length)
{
    int64_t at = 0;
    for (uint64_t word; at + 8 <= length; at += 8) {
        memcpy(&word, text + at, 8);
        if (word & 0x8080808080808080ULL)
            break;
    }
    while (at < length && text[at] < 0x80)
        at++;
    return at;
}

/* One thread's share of the lines, rows [first, last). */
typedef struct {
    const pcre2_code *code;
    int jit, anchored;
    const Groups *groups;
    const Lines *lines;
    Borrowed **columns; /* each named group, then the tail */
    uint8_t *undecided; /* bitmap: lines left to polars */
    int64_t *micros;    /* the "ts" group read as a naive ISO stamp, where ``read`` says */
    uint8_t *read;
    int64_t first, last;
    int failed; /* a PCRE2 error code, or -1 out of memory */
    int64_t failed_row;
} Share;

static void *match_share(void *argument)
{
    Share *share = argument;
    const Groups *groups = share->groups;
    pcre2_match_data *match = pcre2_match_data_create_from_pattern(share->code, NULL);
    /* Room for the JIT to backtrack over a long line before it gives up. */
    pcre2_match_context *context = pcre2_match_context_create(NULL);
    pcre2_jit_stack *stack = share->jit ? pcre2_jit_stack_create(32 * 1024, 4 << 20, NULL) : NULL;
    if (!match || !context || (share->jit && !stack)) {
        share->failed = -1;
        goto done;
    }
    if (stack)
        pcre2_jit_stack_assign(context, NULL, stack);
    pcre2_set_match_limit(context, MATCH_STEPS);
    for (int64_t i = share->first; i < share->last; i++) {
        const Text line = share->lines->input.rows[i];
        for (int c = 0; c <= groups->count; c++) /* null, but where matched below */
            put_null(share->columns[c], i);
        if (line.length < 0)
            continue;
        /* Up to the first byte past ASCII (so a whole UTF-8 prefix) and HEAD_BYTES: where the
         * match needs what lies further, PCRE2 says so (a partial match). */
        int64_t seen = ascii_prefix(line.data, line.length < HEAD_BYTES ? line.length : HEAD_BYTES);
        if (seen == 0 && line.length > 0) { /* nothing to inspect: no partial match either */
            share->undecided[i >> 3] |= (uint8_t)(1 << (i & 7));
            continue;
        }
        uint32_t options = seen < line.length ? PCRE2_PARTIAL_HARD : 0;
        int found = share->jit ? pcre2_jit_match(share->code, line.data, (PCRE2_SIZE)seen, 0,
                                                 options, match, context)
                               : pcre2_match(share->code, line.data, (PCRE2_SIZE)seen, 0,
                                             options | PCRE2_NO_UTF_CHECK, match, context);
        if (found == PCRE2_ERROR_NOMATCH && (seen == line.length || share->anchored))
            continue;
        /* Unanchored, a match could start past what PCRE2 saw: polars looks for it. */
        if (found == PCRE2_ERROR_NOMATCH || found == PCRE2_ERROR_PARTIAL ||
            found == PCRE2_ERROR_MATCHLIMIT || found == PCRE2_ERROR_JIT_STACKLIMIT ||
            found == PCRE2_ERROR_DEPTHLIMIT || found == PCRE2_ERROR_HEAPLIMIT) {
            share->undecided[i >> 3] |= (uint8_t)(1 << (i & 7));
            continue;
        }
        if (found < 0) {
            share->failed = found;
            share->failed_row = i;
            break;
        }
        const PCRE2_SIZE *spans = pcre2_get_ovector_pointer(match);
        for (int g = 0; g < groups->count; g++) {
            uint32_t number = groups->numbers[g];
            if ((int)number < found && spans[2 * number] != PCRE2_UNSET)
                put_cut(share->columns[g], share->lines, i, (int32_t)spans[2 * number],
                        (int32_t)(spans[2 * number + 1] - spans[2 * number]));
        }
        int32_t start = tail_start(line, spans[0], spans[1]);
        put_cut(share->columns[groups->count], share->lines, i, start,
                (int32_t)line.length - start);
        /* The stamp is read while the line is in the cache: the common shape here, the others
         * by the patterns of parsers/logs/timestamps.py. */
        uint32_t stamp = groups->stamp >= 0 ? groups->numbers[groups->stamp] : 0;
        PCRE2_SIZE from = spans[2 * stamp], to = spans[2 * stamp + 1];
        share->micros[i] = 0;
        if (groups->stamp >= 0 && (int)stamp < found && from != PCRE2_UNSET &&
            naive_stamp(line.data + from, (int64_t)(to - from), &share->micros[i]) == STAMP_READ)
            share->read[i >> 3] |= (uint8_t)(1 << (i & 7));
    }
done:
    pcre2_match_data_free(match);
    pcre2_match_context_free(context);
    pcre2_jit_stack_free(stack);
    return NULL;
}

/* Every share matched, the first in this thread; returns the first share that failed, or -1. */
static int match_all(Share *shares, int threads)
{
    in_threads(match_share, shares, sizeof *shares, threads);
    for (int t = 0; t < threads; t++)
        if (shares[t].failed)
            return t;
    return -1;
}

typedef struct {
    Lines *lines;
    Borrowed **columns;
    int width; /* string columns; then the undecided bitmap, and the stamps read */
    uint8_t **undecided;
    int64_t **micros;
    uint8_t **read;
    int64_t unread;
} Claimed;

static int export_column(int index, struct ArrowArray *column, const char **format,
                         const void *context)
{
    const Claimed *claimed = context;
    if (index == claimed->width + 1) {
        *format = "tsu:";
        if (build_fixed(column, *claimed->micros, *claimed->read, claimed->unread,
                        claimed->lines->input.count) != 0)
            return -1;
        *claimed->micros = NULL; /* the array owns them now */
        *claimed->read = NULL;
        return 0;
    }
    if (index == claimed->width) {
        *format = "b";
        if (build_fixed(column, *claimed->undecided, NULL, 0, claimed->lines->input.count) != 0)
            return -1;
        *claimed->undecided = NULL; /* the array owns it now */
        return 0;
    }
    *format = "vu";
    export_borrowed(column, claimed->columns[index], claimed->lines);
    claimed->columns[index] = NULL;
    return 0;
}

/* claim(stream, pattern, threads) -> (schema capsule, array capsule)
 *
 * ``stream`` is an "arrow_array_stream" capsule of string views (a polars String Series).
 * Returns a struct array with one row per line: each named group of ``pattern`` (null where
 * the line did not match or the group took no part), ``_tail``, the line without the matched
 * text in front (null where it did not match), ``_undecided``, the lines left to polars, and
 * where the pattern has a group "ts", ``_naive``: that group read as a naive ISO 8601 stamp
 * (microseconds, no zone; null where it is not one). Raises ValueError when PCRE2 cannot
 * take the pattern or gives up on a line; the caller then uses the polars pass.
 */
static PyObject *claim(PyObject *self, PyObject *args)
{
    PyObject *capsule;
    const char *pattern;
    Py_ssize_t pattern_length;
    int threads;
    if (!PyArg_ParseTuple(args, "Os#i", &capsule, &pattern, &pattern_length, &threads))
        return NULL;
    threads = thread_count(threads);
    int error;
    PCRE2_SIZE error_at;
    /* Lines hold no line breaks, but "." and "$" must not depend on how the library was built;
     * "\C" could cut a character in two. */
    pcre2_compile_context *compiling = pcre2_compile_context_create(NULL);
    if (compiling == NULL)
        return PyErr_NoMemory();
    pcre2_set_newline(compiling, PCRE2_NEWLINE_LF);
    pcre2_code *code = pcre2_compile((PCRE2_SPTR)pattern, (PCRE2_SIZE)pattern_length,
                                     PCRE2_UTF | PCRE2_DOLLAR_ENDONLY | PCRE2_NEVER_BACKSLASH_C,
                                     &error, &error_at, compiling);
    pcre2_compile_context_free(compiling);
    if (code == NULL) {
        PCRE2_UCHAR why[160];
        pcre2_get_error_message(error, why, sizeof why);
        return PyErr_Format(PyExc_ValueError, "PCRE2 refuses the pattern at %zu: %s",
                            (size_t)error_at, (const char *)why);
    }
    uint32_t captures = 0, names = 0;
    pcre2_pattern_info(code, PCRE2_INFO_CAPTURECOUNT, &captures);
    pcre2_pattern_info(code, PCRE2_INFO_NAMECOUNT, &names);
    if (captures != names) { /* polars names unnamed groups by number; no format has any */
        pcre2_code_free(code);
        return PyErr_Format(PyExc_ValueError, "the pattern has unnamed groups");
    }
    int jit = pcre2_jit_compile(code, PCRE2_JIT_COMPLETE | PCRE2_JIT_PARTIAL_HARD) == 0;
    uint32_t options = 0;
    pcre2_pattern_info(code, PCRE2_INFO_ALLOPTIONS, &options);
    Groups groups = {0};
    Borrowed **columns = NULL;
    uint8_t *undecided = NULL, *read = NULL;
    int64_t *micros = NULL;
    int width = 0;
    PyObject *result = NULL;
    Lines *lines = NULL;
    if (named_groups(code, &groups) != 0) {
        PyErr_NoMemory();
        goto done;
    }
    if ((lines = open_lines(capsule)) == NULL)
        goto done;
    width = groups.count + 1;
    int64_t count = lines->input.count;
    columns = calloc((size_t)width, sizeof *columns);
    undecided = calloc((size_t)(count + 7) / 8 + 1, 1);
    read = calloc((size_t)(count + 7) / 8 + 1, 1);
    micros = calloc((size_t)count + 1, sizeof *micros);
    int missing = columns == NULL || undecided == NULL || read == NULL || micros == NULL;
    for (int c = 0; !missing && c < width; c++)
        missing = (columns[c] = new_borrowed(lines)) == NULL;
    if (missing) {
        PyErr_NoMemory();
        goto done;
    }
    Share shares[MAX_THREADS];
    for (int s = 0; s < threads; s++)
        shares[s] = (Share){code, jit, (options & PCRE2_ANCHORED) != 0, &groups, lines, columns,
                            undecided, micros, read, share_start(count, s, threads),
                            share_start(count, s + 1, threads), 0, 0};
    int failed;
    Py_BEGIN_ALLOW_THREADS
    failed = match_all(shares, threads);
    Py_END_ALLOW_THREADS
    if (failed >= 0 && shares[failed].failed == -1) {
        PyErr_NoMemory();
        goto done;
    }
    if (failed >= 0) {
        PCRE2_UCHAR why[160];
        pcre2_get_error_message(shares[failed].failed, why, sizeof why);
        PyErr_Format(PyExc_ValueError, "PCRE2 gave up on line %lld: %s",
                     (long long)shares[failed].failed_row, (const char *)why);
        goto done;
    }
    Claimed claimed = {lines, columns, width, &undecided, &micros, &read,
                       count - count_set(read, count)};
    result = export_struct(width + 1 + (groups.stamp >= 0), groups.names, export_column,
                           &claimed, count, 1);
    done_cutting(lines);
done:
    for (int c = 0; columns && c < width; c++)
        free_borrowed(columns[c]); /* those not handed over */
    free(columns);
    free(undecided);
    free(read);
    free(micros);
    if (lines)
        drop_lines(lines);
    free(groups.numbers);
    free(groups.names);
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

/* Bumped whenever claim's arguments or results change (parsers/scan.py). */
#define LINES_INTERFACE 2

PyMODINIT_FUNC PyInit__lines(void)
{
    PyObject *created = PyModule_Create(&module);
    /* What parsers/scan.py checks: a module left from an older build is not used. */
    if (created != NULL && PyModule_AddIntConstant(created, "INTERFACE", LINES_INTERFACE) != 0)
        Py_CLEAR(created);
    return created;
}
