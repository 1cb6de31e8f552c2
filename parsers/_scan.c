/* Regex passes over text columns, compiled: the field patterns of parsers/logs/fields.py
 * (error code, error message, URL, host, IPv4 address, request id), the secret rules of
 * analyzer/redact.py and the commonest timestamp shape of parsers/logs/timestamps.py; and the
 * split of a UTF-8 file into lines (parsers/text.py), its bytes read once and never copied.
 *
 * Each matcher is written from its pattern and follows the regex engine's leftmost-first rule:
 * the match that starts first wins, and at one start the pattern's alternatives and greedy
 * repeats are tried in the order the engine tries them. The patterns stay the reference and
 * the fallback where this module was not built; tests run both on the same texts.
 *
 * Text arrives, and results leave, through the Arrow C data interface: polars hands over its
 * string column without a copy and takes back a struct array. The scans run with the GIL
 * released, so callers run them on slices of a column in several threads.
 */
#define PY_SSIZE_T_CLEAN
#define _GNU_SOURCE /* memmem */
#include <Python.h>
#include <errno.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#include <tmmintrin.h>
#define SHUFFLES 1 /* SSSE3's byte shuffle, where the processor says it has it */
#endif

#include "_arrow.h"
#include "_stamps.h"

/* Bumped whenever an entry point's arguments or results change (parsers/scan.py). */
#define SCAN_INTERFACE 3

/* ------------------------------------------------------------------------ characters */

#define ONES 0x0101010101010101ULL
#define HIGHS 0x8080808080808080ULL

/* Whether ``[p, end)`` is all ASCII: eight bytes at a time. */
static int all_ascii(const uint8_t *p, const uint8_t *end)
{
    uint64_t word;
    for (; end - p >= 8; p += 8)
        if ((memcpy(&word, p, 8), word & HIGHS))
            return 0;
    for (; p < end; p++)
        if (*p >= 0x80)
            return 0;
    return 1;
}

enum { URL, DOMAIN, PATH, CODE, MESSAGE, HOST, IP, REQUEST, FIELDS };
/* Where a field was found in its message: bytes [start, start + length); length -1 if not. */
typedef struct {
    int32_t start, length;
} Span;

typedef const uint8_t *Ptr;

static int is_digit(uint8_t c) { return (unsigned)(c - '0') < 10; }
static int is_alpha(uint8_t c) { return (unsigned)((c | 0x20) - 'a') < 26; }
/* ``(?-u:\b)`` counts ASCII letters, digits and "_" as word characters. */
static const uint8_t WORD_BYTES[256] = {
    ['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1, ['6'] = 1, ['7'] = 1,
    ['8'] = 1, ['9'] = 1, ['_'] = 1, ['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1,
    ['F'] = 1, ['G'] = 1, ['H'] = 1, ['I'] = 1, ['J'] = 1, ['K'] = 1, ['L'] = 1, ['M'] = 1,
    ['N'] = 1, ['O'] = 1, ['P'] = 1, ['Q'] = 1, ['R'] = 1, ['S'] = 1, ['T'] = 1, ['U'] = 1,
    ['V'] = 1, ['W'] = 1, ['X'] = 1, ['Y'] = 1, ['Z'] = 1, ['a'] = 1, ['b'] = 1, ['c'] = 1,
    ['d'] = 1, ['e'] = 1, ['f'] = 1, ['g'] = 1, ['h'] = 1, ['i'] = 1, ['j'] = 1, ['k'] = 1,
    ['l'] = 1, ['m'] = 1, ['n'] = 1, ['o'] = 1, ['p'] = 1, ['q'] = 1, ['r'] = 1, ['s'] = 1,
    ['t'] = 1, ['u'] = 1, ['v'] = 1, ['w'] = 1, ['x'] = 1, ['y'] = 1, ['z'] = 1,
};
static int is_word(uint8_t c) { return WORD_BYTES[c]; }
static int boundary_before(Ptr text, Ptr at) { return at == text || !is_word(at[-1]); }

/* Bytes in the UTF-8 character that opens with ``c``. */
static int char_bytes(uint8_t c) { return c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4; }

/* The character after the one at ``p``, never past ``end`` (polars strings are valid UTF-8,
 * but a stream from elsewhere may cut a character short). */
static Ptr next_char(Ptr p, Ptr end)
{
    int width = char_bytes(*p);
    return end - p > width ? p + width : end;
}

/* Bytes of the white-space character (Unicode White_Space, which ``\s`` and polars'
 * strip_chars use) at ``p``; 0 when the character there is not white space. */
static int ascii_space(uint8_t c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

static int space_at(Ptr p, Ptr end)
{
    uint8_t c = p[0];
    if (ascii_space(c))
        return 1;
    if (c < 0xC2 || end - p < 2)
        return 0;
    if (c == 0xC2)
        return p[1] == 0x85 || p[1] == 0xA0 ? 2 : 0;
    if (end - p < 3)
        return 0;
    if (c == 0xE1)
        return p[1] == 0x9A && p[2] == 0x80 ? 3 : 0;
    if (c == 0xE2) {
        if (p[1] == 0x80)
            return p[2] <= 0x8A || p[2] == 0xA8 || p[2] == 0xA9 || p[2] == 0xAF ? 3 : 0;
        return p[1] == 0x81 && p[2] == 0x9F ? 3 : 0;
    }
    if (c == 0xE3)
        return p[1] == 0x80 && p[2] == 0x80 ? 3 : 0;
    return 0;
}

/* Whether white space ends just before ``p`` (at least ``floor``), and its first byte. */
static Ptr space_before(Ptr floor, Ptr p)
{
    for (int width = 1; width <= 3 && p - width >= floor; width++)
        if (space_at(p - width, p) == width)
            return p - width;
    return NULL;
}

static Ptr skip_space(Ptr p, Ptr end)
{
    int width;
    while (p < end && (width = space_at(p, end)) > 0)
        p += width;
    return p;
}

/* Sets of bytes, one flag per byte value. */
typedef uint8_t Set[256];

static void fill(Set set, const char *bytes)
{
    for (; *bytes; bytes++)
        set[(uint8_t)*bytes] = 1;
}

/* What ends an ERRMSG bare value; what ends a URL (ASCII); the secret rules' value classes
 * (their stops, or what a class adds to [A-Za-z0-9_]); where a secret rule may start. */
static Set BARE_STOPS, URL_STOPS, NOTHING, BEARER_EXTRA, KEYED_STOPS, PARAM_STOPS,
    AUTH_STOPS, COOKIE_STOPS, SECRET_STARTS;

static void set_sets(void)
{
    fill(BARE_STOPS, ",;}]\r\n");
    fill(URL_STOPS, "\"'<>[]{}|\\^` \t\n\v\f\r");
    fill(BEARER_EXTRA, ".~+/=-");
    fill(KEYED_STOPS, "&\"',;}]<>");
    fill(PARAM_STOPS, "&\"'#<>");
    fill(AUTH_STOPS, "\r\n\"',}");
    fill(COOKIE_STOPS, "\r\n\"'");
    for (int c = 0; c < 256; c++)
        SECRET_STARTS[c] = (uint8_t)is_word((uint8_t)c);
    fill(SECRET_STARTS, "?&;\xC5\xE2"); /* parameters; long s and Kelvin sign */
}

/* ``word`` (lower case) at ``p``, ASCII letters in either case: ``(?i-u:word)``. */
static Ptr caseless(Ptr p, Ptr end, const char *word)
{
    for (; *word; word++, p++)
        if (p >= end || lower(*p) != (uint8_t)*word)
            return NULL;
    return p;
}

/* ------------------------------------------------------------------------ word sets
 * The first place in a text where one of a few words starts (lower case, three bytes or more,
 * ASCII letters in either case), found Teddy style (Hyperscan's literal matcher) where the
 * processor has SSSE3's byte shuffle: the words are put in buckets by their first byte, eight
 * at most, and bit b of ``nibbles[2 * k][n]`` is set where a word of bucket b can have n as the
 * low nibble of its byte k (``nibbles[2 * k + 1]``: the high nibble). Sixteen places at a time,
 * six table lookups say which buckets the three bytes there could open a word of; only places
 * some bucket could are checked whole. */

typedef struct {
    const char *const *words;
    size_t count;
    uint8_t nibbles[6][16];
    uint8_t buckets[8][16]; /* the words of each bucket, by number, ``sizes`` of them */
    uint8_t sizes[8];
    int usable; /* the processor shuffles bytes and the words fit the buckets */
} Words;

static void set_words(Words *set)
{
    char firsts[9] = {0};
    for (size_t w = 0; w < set->count; w++) {
        const char *word = set->words[w], *seen = strchr(firsts, word[0]);
        size_t bucket = seen ? (size_t)(seen - firsts) : strlen(firsts);
        if (bucket == 8)
            return;
        firsts[bucket] = word[0];
        if (set->sizes[bucket] == 16)
            return;
        set->buckets[bucket][set->sizes[bucket]++] = (uint8_t)w;
        for (int k = 0; k < 3; k++) {
            uint8_t byte = (uint8_t)word[k];
            set->nibbles[2 * k][byte & 15] |= (uint8_t)(1 << bucket);
            set->nibbles[2 * k + 1][byte >> 4] |= (uint8_t)(1 << bucket);
        }
    }
#ifdef SHUFFLES
    set->usable = __builtin_cpu_supports("ssse3");
#endif
}

/* Whether one of the words starts at ``p``. */
static int word_at(const Words *set, Ptr p, Ptr end)
{
    for (size_t w = 0; w < set->count; w++)
        if (caseless(p, end, set->words[w]))
            return 1;
    return 0;
}

#ifdef SHUFFLES
/* Where the first word of ``set`` (``usable``) in ``[p, end)`` starts; ``end`` if none. Bytes
 * are lower-cased by setting bit 0x20, which only letters can turn into letters. The last
 * places are compared in a zero-padded copy. */
__attribute__((target("ssse3"))) static Ptr find_word(const Words *set, Ptr p, Ptr end)
{
    const __m128i case_bit = _mm_set1_epi8(0x20), low = _mm_set1_epi8(15);
    __m128i tables[6];
    for (int k = 0; k < 6; k++)
        tables[k] = _mm_loadu_si128((const __m128i *)set->nibbles[k]);
    uint8_t padded[34] = {0};
    for (; p + 2 < end; p += 16) {
        Ptr block = p;
        if (end - p < 18) { /* fewer than sixteen places and the two bytes after them */
            memcpy(padded, p, (size_t)(end - p));
            block = padded;
        }
        __m128i buckets = _mm_set1_epi8(-1);
        for (int k = 0; k < 3; k++) {
            __m128i bytes = _mm_or_si128(_mm_loadu_si128((const __m128i *)(block + k)), case_bit);
            __m128i lows = _mm_shuffle_epi8(tables[2 * k], _mm_and_si128(bytes, low));
            __m128i highs = _mm_shuffle_epi8(tables[2 * k + 1],
                                             _mm_and_si128(_mm_srli_epi16(bytes, 4), low));
            buckets = _mm_and_si128(buckets, _mm_and_si128(lows, highs));
        }
        __m128i none = _mm_cmpeq_epi8(buckets, _mm_setzero_si128());
        unsigned mask = ~(unsigned)_mm_movemask_epi8(none) & 0xFFFF;
        if (mask == 0)
            continue;
        uint8_t found[16];
        _mm_storeu_si128((__m128i *)found, buckets);
        for (; mask; mask &= mask - 1) {
            /* Only the words of the buckets the three bytes there could open are compared. */
            int at = __builtin_ctz(mask);
            for (unsigned bits = found[at]; bits; bits &= bits - 1) {
                int bucket = __builtin_ctz(bits);
                for (int w = 0; w < set->sizes[bucket]; w++)
                    if (caseless(p + at, end, set->words[set->buckets[bucket][w]]))
                        return p + at;
            }
        }
    }
    return end;
}
#endif

static Ptr optional_byte(Ptr p, Ptr end, char a, char b)
{
    return p < end && (*p == (uint8_t)a || *p == (uint8_t)b) ? p + 1 : p;
}

/* ``["']?\s*[:=]\s*`` after a key: where the value may start, or NULL. */
static Ptr separator(Ptr p, Ptr end)
{
    p = skip_space(optional_byte(p, end, '"', '\''), end);
    if (p >= end || (*p != ':' && *p != '='))
        return NULL;
    return skip_space(p + 1, end);
}

/* ``key`` then ``_?`` (or ``[_-]?``) then ``tail``, caselessly. */
static Ptr key(Ptr p, Ptr end, const char *head, const char *joins, const char *tail)
{
    p = caseless(p, end, head);
    if (p == NULL)
        return NULL;
    if (p < end && *p && strchr(joins, *p))
        p++;
    return caseless(p, end, tail);
}

static Span span(Ptr text, Ptr start, Ptr stop)
{
    return (Span){(int32_t)(start - text), (int32_t)(stop - start)};
}

/* ------------------------------------------------------------------------ finders
 * Each tries one start ``s`` (where the caller has checked the first byte and, for patterns
 * opening with ``\b``, the boundary) and fills ``out`` on a match. */

/* ERRCODE: ``err_?code`` sep ``["']?(-?[0-9]+)`` */
static int errcode_at(Ptr s, Ptr end, Ptr text, Span *out)
{
    Ptr p = key(s, end, "err", "_", "code");
    if (p == NULL || (p = separator(p, end)) == NULL)
        return 0;
    Ptr value = p = optional_byte(p, end, '"', '\'');
    if (p < end && *p == '-')
        p++;
    Ptr digits = p;
    while (p < end && is_digit(*p))
        p++;
    if (p == digits)
        return 0;
    *out = span(text, value, p);
    return 1;
}

/* NUMERIC_CODE: ``(?:error_?code|code|sub_code)`` sep ``["']?(-?[1-9][0-9]{1,8})\b`` */
static int numeric_code_at(Ptr s, Ptr end, Ptr text, Span *out)
{
    Ptr p = key(s, end, "error", "_", "code");
    if (p == NULL)
        p = caseless(s, end, "code");
    if (p == NULL)
        p = caseless(s, end, "sub_code");
    if (p == NULL || (p = separator(p, end)) == NULL)
        return 0;
    Ptr value = p = optional_byte(p, end, '"', '\'');
    if (p < end && *p == '-')
        p++;
    if (p >= end || *p < '1' || *p > '9')
        return 0;
    Ptr digits = p;
    while (p < end && is_digit(*p))
        p++;
    /* A run the repeat cannot end (over nine digits) or that a word character follows leaves
     * no place for the closing \b. */
    if (p - digits < 2 || p - digits > 9 || (p < end && is_word(*p)))
        return 0;
    *out = span(text, value, p);
    return 1;
}

/* Trim white space from both ends of [start, stop), as strip_chars() does. */
static Span stripped(Ptr text, Ptr start, Ptr stop)
{
    start = skip_space(start, stop);
    Ptr before;
    while (stop > start && (before = space_before(start, stop)) != NULL)
        stop = before;
    return span(text, start, stop);
}

/* Where a value may start when none starts after the white space [spaces, value): the engine
 * gives the spaces back one at a time, and the first it gives back that is not CR or LF
 * starts a value of a class that takes white space. NULL when there is none. */
static Ptr given_back(Ptr spaces, Ptr value)
{
    for (Ptr at = value; at > spaces;) {
        at = space_before(spaces, at);
        if (*at != '\r' && *at != '\n')
            return at;
    }
    return NULL;
}

/* A run of characters the ERRMSG bare value allows (none of ``,;}]`` CR LF) from ``p``. */
static Ptr bare_run(Ptr p, Ptr end)
{
    while (p < end && !BARE_STOPS[*p])
        p = next_char(p, end);
    return p;
}

/* ERRMSG: ``err_?msg["']?\s*[:=]\s*`` then ``"(?:[^"\\]|\\.)*"`` or ``'[^']*'`` or
 * ``[^,;}\]\r\n]+``, the value stripped of white space. */
static int errmsg_at(Ptr s, Ptr end, Ptr text, Span *out)
{
    Ptr p = key(s, end, "err", "_", "msg");
    if (p == NULL)
        return 0;
    p = skip_space(optional_byte(p, end, '"', '\''), end);
    if (p >= end || (*p != ':' && *p != '='))
        return 0;
    Ptr spaces = ++p;
    Ptr value = skip_space(p, end);
    if (value < end && *value == '"') {
        for (p = value + 1; p < end && *p != '"';) {
            if (*p == '\\') {
                if (p + 1 >= end || p[1] == '\n')
                    break; /* "\\." cannot take a newline; no closing quote here */
                p = next_char(p + 1, end);
            } else
                p = next_char(p, end);
        }
        if (p < end && *p == '"') {
            *out = stripped(text, value + 1, p);
            return 1;
        }
    } else if (value < end && *value == '\'') {
        for (p = value + 1; p < end && *p != '\''; p++)
            ;
        if (p < end) {
            *out = stripped(text, value + 1, p);
            return 1;
        }
    }
    p = bare_run(value, end);
    if (p > value) {
        *out = stripped(text, value, p);
        return 1;
    }
    Ptr start = given_back(spaces, value);
    if (start == NULL)
        return 0;
    *out = stripped(text, start, bare_run(start, end));
    return 1;
}

/* URL: ``https?://(?:<redacted>|[^\s"'<>\[\]{}|\\^`])+`` then trailing ``.,;:)`` stripped. */
static int url_at(Ptr s, Ptr end, Ptr text, Span *out)
{
    static const char mask[] = "<redacted>";
    if (end - s < 4 || memcmp(s, "http", 4) != 0)
        return 0;
    Ptr p = s + 4;
    if (p < end && *p == 's' && end - p >= 4 && memcmp(p + 1, "://", 3) == 0)
        p++;
    if (end - p < 3 || memcmp(p, "://", 3) != 0)
        return 0;
    Ptr body = p += 3;
    while (p < end) {
        if (*p < 0x80 && !URL_STOPS[*p])
            p++;
        else if (*p == '<' && end - p >= 10 && memcmp(p, mask, 10) == 0)
            p += 10;
        else if (*p < 0x80 || space_at(p, end))
            break;
        else
            p = next_char(p, end);
    }
    if (p == body)
        return 0;
    while (p > body && p[-1] && strchr(".,;:)", p[-1]))
        p--;
    *out = span(text, s, p);
    return 1;
}

static int label_char(uint8_t c) { return is_alpha(c) || is_digit(c) || c == '-'; }

/* The host name after a HOST key: ``((?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,})``. The repeat takes as
 * many dotted labels as it can and gives them back one at a time until two letters follow the
 * last dot it kept, so the match ends in the last label (after a dot) that opens with two
 * letters. */
static Ptr host_name(Ptr p, Ptr end)
{
    Ptr found = NULL;
    while (p < end) {
        Ptr label = p;
        while (p < end && label_char(*p))
            p++;
        if (p == label || p >= end || *p != '.')
            break;
        Ptr letters = ++p;
        while (letters < end && is_alpha(*letters))
            letters++;
        if (letters - p >= 2)
            found = letters;
    }
    return found;
}

/* HOST: ``(?:host|hostname|domain|server)`` sep ``["']?`` name */
static int host_at(Ptr s, Ptr end, Ptr text, Span *out)
{
    static const char *const keys[] = {"host", "hostname", "domain", "server"};
    for (size_t k = 0; k < sizeof keys / sizeof *keys; k++) {
        Ptr p = caseless(s, end, keys[k]);
        if (p == NULL || (p = separator(p, end)) == NULL)
            continue;
        p = optional_byte(p, end, '"', '\'');
        Ptr name = host_name(p, end);
        if (name != NULL) {
            *out = span(text, p, name);
            return 1;
        }
    }
    return 0;
}

/* Where each alternative of ``(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])`` ends at ``p``,
 * in the order the engine tries them; returns how many. */
static int octet_ends(Ptr p, Ptr end, Ptr ends[5])
{
    int n = 0;
    Ptr three = end - p >= 3 ? p + 3 : NULL;
    if (three && p[0] == '2' && p[1] == '5' && p[2] >= '0' && p[2] <= '5')
        ends[n++] = three;
    if (three && p[0] == '2' && p[1] >= '0' && p[1] <= '4' && is_digit(p[2]))
        ends[n++] = three;
    if (three && p[0] == '1' && is_digit(p[1]) && is_digit(p[2]))
        ends[n++] = three;
    if (end - p >= 2 && p[0] >= '1' && p[0] <= '9' && is_digit(p[1]))
        ends[n++] = p + 2;
    if (p < end && is_digit(p[0]))
        ends[n++] = p + 1;
    return n;
}

/* The rest of IPV4 from octet ``index``: octets joined by dots, then ``\b``. */
static Ptr ipv4_from(Ptr p, Ptr end, int index)
{
    if (index == 4)
        return p == end || !is_word(*p) ? p : NULL;
    if (index > 0) {
        if (p >= end || *p != '.')
            return NULL;
        p++;
    }
    Ptr ends[5];
    int n = octet_ends(p, end, ends);
    for (int i = 0; i < n; i++) {
        Ptr stop = ipv4_from(ends[i], end, index + 1);
        if (stop != NULL)
            return stop;
    }
    return NULL;
}

/* REQUEST_ID: ``(?:x-)?(?:request[_-]?id|req[_-]?id|trace[_-]?id)`` sep ``["']?`` then
 * ``[A-Za-z0-9_.-]{6,}``, of which the id is the run (what ``_REQUEST_ID_TAIL`` keeps). */
static int request_id_at(Ptr s, Ptr end, Ptr text, Span *out)
{
    static const char *const heads[] = {"request", "req", "trace"};
    Ptr start = caseless(s, end, "x-");
    if (start == NULL)
        start = s;
    for (size_t k = 0; k < sizeof heads / sizeof *heads; k++) {
        Ptr p = key(start, end, heads[k], "_-", "id");
        if (p == NULL || (p = separator(p, end)) == NULL)
            continue;
        Ptr id = p = optional_byte(p, end, '"', '\'');
        while (p < end && (label_char(*p) || *p == '_' || *p == '.'))
            p++;
        if (p - id >= 6) {
            *out = span(text, id, p);
            return 1;
        }
    }
    return 0;
}

/* The host after ``h`` as URL_DOMAIN's last group takes it: ``\[[0-9A-Fa-f:.]+\]`` or else
 * ``[^:/?#]+``; NULL when neither matches. */
static Ptr url_host(Ptr h, Ptr end)
{
    if (h < end && *h == '[') {
        Ptr p = h + 1;
        while (p < end && (is_digit(*p) || (unsigned)(lower(*p) - 'a') < 6 || *p == ':' || *p == '.'))
            p++;
        if (p > h + 1 && p < end && *p == ']')
            return p + 1;
    }
    Ptr p = h;
    while (p < end && *p != ':' && *p != '/' && *p != '?' && *p != '#')
        p = next_char(p, end);
    return p > h ? p : NULL;
}

/* The domain (URL_DOMAIN, before lower-casing) and path (URL_PATH) of the URL [url, stop),
 * which opens with "http://" or "https://". */
static void url_parts(Ptr text, Ptr url, Ptr stop, Span out[FIELDS])
{
    Ptr after = url + (url[4] == 's' ? 8 : 7);
    /* ``(?:[^@/]*@)?``: userinfo runs to the first "@" before any "/"; without a host after
     * it, the engine drops the userinfo and takes the host from the scheme on. */
    Ptr at = after, host = NULL;
    while (at < stop && *at != '@' && *at != '/')
        at++;
    if (at < stop && *at == '@' && (host = url_host(at + 1, stop)) != NULL)
        out[DOMAIN] = span(text, at + 1, host);
    else if ((host = url_host(after, stop)) != NULL)
        out[DOMAIN] = span(text, after, host);
    /* ``[^/?#]+(/[^?#]*)``: the path opens at the first of "/?#" if that is a "/". */
    Ptr slash = after;
    while (slash < stop && *slash != '/' && *slash != '?' && *slash != '#')
        slash++;
    if (slash > after && slash < stop && *slash == '/') {
        Ptr end = slash;
        while (end < stop && *end != '?' && *end != '#')
            end++;
        out[PATH] = span(text, slash, end);
    }
}

/* The leftmost IPv4 address whose first dot is ``dot``: it opens one to three digits before. */
static int ipv4_before(Ptr text, Ptr end, Ptr dot, Ptr *tried, Span *out)
{
    Ptr s = dot - *tried > 3 ? dot - 3 : *tried;
    for (; s < dot; s++) {
        if (!is_digit(*s) || !boundary_before(text, s))
            continue;
        Ptr stop = ipv4_from(s, end, 0);
        if (stop != NULL) {
            *out = span(text, s, stop);
            return 1;
        }
    }
    *tried = dot;
    return 0;
}

/* Where a key that a separator at ``sep`` follows would end: before the white space and the
 * optional quote. */
static Ptr key_end_before(Ptr text, Ptr sep)
{
    Ptr at = sep, before;
    while (at > text) {
        uint8_t c = at[-1];
        if (ascii_space(c))
            at--;
        else if (c >= 0x80 && (before = space_before(text, at)) != NULL)
            at = before;
        else
            break;
    }
    if (at > text && (at[-1] == '"' || at[-1] == '\''))
        at--;
    return at;
}

/* Whether the two bytes before ``at`` end a key: "code", "msg", "host", "hostname", "domain",
 * "server" or "id". */
static int ends_key(Ptr text, Ptr at)
{
    if (at - text < 2)
        return 0;
    unsigned a = lower(at[-2]), b = lower(at[-1]);
    return (a == 'd' && b == 'e') || (a == 's' && b == 'g') || (a == 's' && b == 't') ||
           (a == 'm' && b == 'e') || (a == 'i' && b == 'n') || (a == 'e' && b == 'r') ||
           (a == 'i' && b == 'd');
}

/* The longest key ("x-request-id"). */
#define KEY_BYTES 12

static int key_char(uint8_t c) { return is_word(c) || c == '-'; }

/* Tries every keyed pattern at the word starts of the key that could end at ``key_end``, in
 * order; returns how many more fields were found (the numeric code counting as one). */
static int keys_before(Ptr text, Ptr end, Ptr key_end, Span out[FIELDS], Span *numeric)
{
    int found = 0;
    Ptr s = key_end;
    while (s > text && key_end - s < KEY_BYTES && key_char(s[-1]))
        s--;
    for (; s < key_end; s++) {
        if (!is_alpha(*s) || !boundary_before(text, s))
            continue;
        uint8_t c = lower(*s);
        if (c == 'e') {
            if (out[CODE].length < 0)
                found += errcode_at(s, end, text, &out[CODE]);
            if (out[MESSAGE].length < 0)
                found += errmsg_at(s, end, text, &out[MESSAGE]);
        }
        if ((c == 'e' || c == 'c' || c == 's') && numeric->length < 0)
            found += numeric_code_at(s, end, text, numeric);
        if ((c == 'h' || c == 'd' || c == 's') && out[HOST].length < 0)
            found += host_at(s, end, text, &out[HOST]);
        if ((c == 'r' || c == 't' || c == 'x') && out[REQUEST].length < 0)
            found += request_id_at(s, end, text, &out[REQUEST]);
    }
    return found;
}

/* The next ":", "=" or "." at or after ``p`` (``end`` if none): sixteen bytes at a time where
 * the processor has SSE2. */
static Ptr next_mark(Ptr p, Ptr end)
{
#ifdef __SSE2__
    const __m128i colon = _mm_set1_epi8(':'), equals = _mm_set1_epi8('='),
                  dot = _mm_set1_epi8('.');
    for (; end - p >= 16; p += 16) {
        __m128i block = _mm_loadu_si128((const __m128i *)p);
        __m128i hits = _mm_or_si128(_mm_cmpeq_epi8(block, colon), _mm_cmpeq_epi8(block, equals));
        int mask = _mm_movemask_epi8(_mm_or_si128(hits, _mm_cmpeq_epi8(block, dot)));
        if (mask)
            return p + __builtin_ctz((unsigned)mask);
    }
#endif
    while (p < end && *p != ':' && *p != '=' && *p != '.')
        p++;
    return p;
}

/* Every field's leftmost match in one message, from the marks every match holds:
 *
 * - a URL holds "://", and the one whose "://" comes first starts first;
 * - an IPv4 address holds a dot one to three digits after its start;
 * - each keyed pattern is a key, an optional quote, white space and ":" or "=", so walking back
 *   from each separator gives the only place a key could end, its start a word start at most
 *   KEY_BYTES before.
 *
 * Marks come in order and so do the starts they give, so the first match each finder reports
 * is the leftmost. */
static void scan(Ptr text, Ptr end, Span out[FIELDS])
{
    Span numeric = {0, -1};
    for (int f = 0; f < FIELDS; f++)
        out[f] = (Span){0, -1};
    int keyed = 5; /* code, message, host and request id not found, and the numeric code */
    int url = 1, ip = 1;
    Ptr tried = text; /* IPv4 starts before this have been tried */
    for (Ptr mark = next_mark(text, end); mark < end && (keyed || url || ip);
         mark = next_mark(mark + 1, end)) {
        if (*mark == '.') {
            if (ip && ipv4_before(text, end, mark, &tried, &out[IP]))
                ip = 0;
            continue;
        }
        if (url && *mark == ':' && end - mark >= 3 && mark[1] == '/' && mark[2] == '/')
            if ((mark - text >= 5 && url_at(mark - 5, end, text, &out[URL])) ||
                (mark - text >= 4 && url_at(mark - 4, end, text, &out[URL])))
                url = 0;
        if (keyed) {
            Ptr key_end = key_end_before(text, mark);
            if (ends_key(text, key_end))
                keyed -= keys_before(text, end, key_end, out, &numeric);
        }
    }
    if (out[CODE].length < 0)
        out[CODE] = numeric;
    if (out[URL].length >= 0)
        url_parts(text, text + out[URL].start, text + out[URL].start + out[URL].length, out);
}

/* ------------------------------------------------------------------------ secrets
 * The rules of analyzer/redact.py but the JWT one are case-insensitive the Unicode way, under
 * which "k" also matches the Kelvin sign (U+212A) and "s" the long s (U+017F), in keys and in
 * classes of letters alike. */

#define KELVIN "\xE2\x84\xAA"
#define LONG_S "\xC5\xBF"

/* Bytes of ``letter`` (lower case) at ``p`` under Unicode case folding; 0 if not there. */
static int folded_at(Ptr p, Ptr end, uint8_t letter)
{
    if (p >= end)
        return 0;
    if (lower(*p) == letter)
        return 1;
    if (letter == 'k' && end - p >= 3 && memcmp(p, KELVIN, 3) == 0)
        return 3;
    if (letter == 's' && end - p >= 2 && memcmp(p, LONG_S, 2) == 0)
        return 2;
    return 0;
}

/* ``word`` (lower case; "_?" marks an optional "_") at ``p``, case folded; NULL if not. */
static Ptr folded(Ptr p, Ptr end, const char *word)
{
    for (; *word; word++) {
        if (word[0] == '_' && word[1] == '?') {
            word++;
            if (p < end && *p == '_')
                p++;
            continue;
        }
        int width = folded_at(p, end, (uint8_t)*word);
        if (width == 0)
            return NULL;
        p += width;
    }
    return p;
}

/* Bytes at ``p`` of a character of ``[A-Za-z0-9_]`` (plus ``extra``) under case folding. */
static int word_char_at(Ptr p, Ptr end, const Set extra)
{
    if (p >= end)
        return 0;
    if (is_word(*p) || extra[*p])
        return 1;
    if (*p != 0xE2 && *p != 0xC5)
        return 0;
    return folded_at(p, end, 'k') + folded_at(p, end, 's');
}

static Ptr word_run(Ptr p, Ptr end, const Set extra)
{
    int width;
    while ((width = word_char_at(p, end, extra)) > 0)
        p += width;
    return p;
}

/* ``word_run`` for the keyed rule's [A-Za-z0-9_]; ``plain`` says whether the run was all ASCII. */
static Ptr key_run(Ptr p, Ptr end, int *plain)
{
    while (p < end && is_word(*p))
        p++;
    *plain = p >= end || (*p != 0xE2 && *p != 0xC5);
    return *plain ? p : word_run(p, end, NOTHING);
}

/* Whether the character before ``p`` is in ``[A-Za-z0-9_]`` under case folding. */
static int word_char_before(Ptr text, Ptr p)
{
    if (p > text && is_word(p[-1]))
        return 1;
    return (p - text >= 2 && memcmp(p - 2, LONG_S, 2) == 0) ||
           (p - text >= 3 && memcmp(p - 3, KELVIN, 3) == 0);
}

/* A run of characters outside ``stops`` and (with ``spaces``) white space. */
static Ptr run_until(Ptr p, Ptr end, const Set stops, int spaces)
{
    while (p < end && !stops[*p]) {
        if (*p < 0x80) {
            if (spaces && ascii_space(*p))
                break;
            p++;
        } else if (spaces && space_at(p, end))
            break;
        else
            p = next_char(p, end);
    }
    return p;
}

/* A match: the text up to ``keep`` stays, the rest up to ``stop`` is masked. */
typedef struct {
    Ptr keep, stop;
} Secret;

/* After a key: ``["']?\s*[:=]\s*`` and then a double-quoted value (``(?:[^"\\]|\\.)*``, its
 * opening quote kept), a single-quoted one (``[^']*``) or a bare one (``[^&\s"',;}\]<>]+``). */
static int keyed_value(Ptr p, Ptr end, Secret *out)
{
    p = skip_space(optional_byte(p, end, '"', '\''), end);
    if (p >= end || (*p != ':' && *p != '='))
        return 0;
    p = skip_space(p + 1, end);
    if (p < end && *p == '"') {
        Ptr q = p + 1;
        while (q < end && *q != '"') {
            if (*q != '\\')
                q = next_char(q, end);
            else if (q + 1 < end && q[1] != '\n')
                q = next_char(q + 1, end);
            else
                break;
        }
        *out = (Secret){p + 1, q};
        return 1;
    }
    if (p < end && *p == '\'') {
        Ptr q = memchr(p + 1, '\'', (size_t)(end - p - 1));
        *out = (Secret){p + 1, q ? q : end};
        return 1;
    }
    Ptr q = run_until(p, end, KEYED_STOPS, 1);
    *out = (Secret){p, q};
    return q > p;
}

/* ``["']?\s*[:=]\s*["']?`` then ``[^<stops>]+`` where white space other than CR and LF may
 * start the value: when nothing follows the spaces, the engine gives them back one at a time. */
static int header_value(Ptr p, Ptr end, const Set stops, Secret *out)
{
    p = skip_space(optional_byte(p, end, '"', '\''), end);
    if (p >= end || (*p != ':' && *p != '='))
        return 0;
    Ptr spaces = ++p;
    Ptr value = skip_space(p, end);
    Ptr quoted = optional_byte(value, end, '"', '\'');
    Ptr q = run_until(quoted, end, stops, 0);
    if (q > quoted) {
        *out = (Secret){quoted, q};
        return 1;
    }
    Ptr start = given_back(spaces, value);
    if (start == NULL)
        return 0;
    *out = (Secret){start, run_until(start, end, stops, 0)};
    return 1;
}

static const char *const BOUNDED_KEYS[] = {
    "password", "passwd", "pwd", "user_?ticket", "ticket", "session_?key", "session_?id",
    "sid", "skey", "api_?key",
};
static const char *const PARAM_KEYS[] = {"code", "state", "auth_?code"};

/* Whether [s, run) is a key of the keyed rule's ``[A-Za-z0-9_]*(?:token|secret[A-Za-z0-9_]*)``
 * branch, ``run`` being the end of the run of those characters from ``s``: the star and the
 * tail share one class and the separator after them is outside it, so the key is the whole
 * run, which must end in "token" or hold "secret". */
static int ends_in_token(Ptr s, Ptr run)
{
    if (run - s < 5 || lower(run[-1]) != 'n' || lower(run[-2]) != 'e')
        return 0;
    Ptr k = run - 3;
    if (lower(*k) != 'k') {
        if (run - s < 7 || memcmp(run - 5, KELVIN, 3) != 0)
            return 0;
        k = run - 5;
    }
    return lower(k[-1]) == 'o' && lower(k[-2]) == 't';
}

static int token_key(Ptr s, Ptr run)
{
    if (ends_in_token(s, run))
        return 1;
    for (Ptr p = s; p < run; p++)
        if ((lower(*p) == 's' || *p == 0xC5) && folded(p, run, "secret") != NULL)
            return 1;
    return 0;
}

/* ``(?:code|state|auth_?code)=`` at ``key`` then ``[^&\s"'#<>]+``: a parameter (the rule
 * for them after ``^`` or ``[?&;]``); with ``not_number``, the rule for them after \b, whose
 * ``[0-9]*[^0-9&\s"'#<>][^&\s"'#<>]*`` wants a value that is not a plain number. */
static int parameter_at(Ptr key, Ptr end, int not_number, Secret *out)
{
    for (size_t k = 0; k < sizeof PARAM_KEYS / sizeof *PARAM_KEYS; k++) {
        Ptr p = folded(key, end, PARAM_KEYS[k]);
        if (p == NULL || p >= end || *p != '=')
            continue;
        Ptr q = run_until(++p, end, PARAM_STOPS, 1);
        Ptr digits = p;
        while (not_number && digits < q && is_digit(*digits))
            digits++;
        if (q > digits) {
            *out = (Secret){p, q};
            return 1;
        }
    }
    return 0;
}

/* A run of ``[A-Za-z0-9_-]``, matched as written (the JWT rule is the one rule without (?i)). */
static Ptr jwt_run(Ptr p, Ptr end)
{
    while (p < end && (is_word(*p) || *p == '-'))
        p++;
    return p;
}

/* ``eyJ[A-Za-z0-9_-]+\.eyJ[A-Za-z0-9_-]+\.`` then ``[A-Za-z0-9_-]+``: a JWT's signature. */
static int jwt_at(Ptr s, Ptr end, Secret *out)
{
    Ptr p = s;
    for (int part = 0; part < 2; part++) {
        if (end - p < 3 || memcmp(p, "eyJ", 3) != 0)
            return 0;
        Ptr run = p + 3;
        if ((p = jwt_run(run, end)) == run || p >= end || *p != '.')
            return 0;
        p++;
    }
    Ptr q = jwt_run(p, end);
    *out = (Secret){p, q};
    return q > p;
}

/* Lower-case pairs of bytes that open a named key of the rules (password, pwd, user_ticket,
 * ticket, session..., sid, skey, api_key, code, state, auth_code, proxy-authorization,
 * authorization, bearer, set-cookie, cookie, eyJ). */
static const char *const KEY_OPENINGS[] = {
    "pa", "pw", "us", "ti", "se", "si", "sk", "ap", "co", "st", "au", "pr", "be", "ey",
};
static uint8_t KEY_PAIRS[65536 / 8];

static void set_key_pairs(void)
{
    for (size_t i = 0; i < sizeof KEY_OPENINGS / sizeof *KEY_OPENINGS; i++) {
        unsigned pair = (uint8_t)KEY_OPENINGS[i][0] | (unsigned)(uint8_t)KEY_OPENINGS[i][1] << 8;
        KEY_PAIRS[pair >> 3] |= (uint8_t)(1 << (pair & 7));
    }
}

/* Whether a named key may open at ``s``: always where a long s or Kelvin sign may stand in for
 * a letter, else when the first two letters open one. */
static int may_name_key(Ptr s, Ptr end)
{
    if (end - s < 2)
        return 0;
    if (s[0] >= 0x80 || s[1] >= 0x80)
        return 1;
    unsigned pair = lower(s[0]) | (unsigned)lower(s[1]) << 8;
    return (KEY_PAIRS[pair >> 3] >> (pair & 7)) & 1;
}

/* The first rule that matches at ``s``, in the order of redact.COMBINED (``^`` holds only at
 * the text's start). ``run`` is where the run of [A-Za-z0-9_] characters from ``s`` ends when
 * the keyed rule's token/secret branch is worth trying here, else NULL. */
static int secret_at(Ptr text, Ptr end, Ptr s, Ptr run, Secret *out)
{
    int bounded = (s > text && is_word(s[-1])) != is_word(*s) && may_name_key(s, end);
    uint8_t c = lower(*s);
    int long_s = end - s >= 2 && memcmp(s, LONG_S, 2) == 0;
    int ess = c == 's' || long_s;
    if (bounded && (c == 'p' || c == 'u' || c == 't' || c == 'a' || ess))
        for (size_t k = 0; k < sizeof BOUNDED_KEYS / sizeof *BOUNDED_KEYS; k++) {
            Ptr key_end = folded(s, end, BOUNDED_KEYS[k]);
            if (key_end != NULL && keyed_value(key_end, end, out))
                return 1;
        }
    if (run != NULL && token_key(s, run) && keyed_value(run, end, out))
        return 1;
    if (s == text && parameter_at(s, end, 0, out))
        return 1;
    if ((c == '?' || c == '&' || c == ';') && parameter_at(s + 1, end, 0, out))
        return 1;
    if (!bounded) /* every rule left opens with \\b and a named key */
        return 0;
    if ((c == 'c' || c == 'a' || ess) && parameter_at(s, end, 1, out))
        return 1;
    if (c == 'p' || c == 'a') {
        Ptr p = folded(s, end, "proxy-");
        p = folded(p ? p : s, end, "authorization");
        if (p != NULL && header_value(p, end, AUTH_STOPS, out))
            return 1;
    }
    if (c == 'b') {
        Ptr p = caseless(s, end, "bearer");
        Ptr token = p ? skip_space(p, end) : NULL;
        if (token != NULL && token > p) {
            Ptr q = word_run(token, end, BEARER_EXTRA);
            if (q > token) {
                *out = (Secret){token, q};
                return 1;
            }
        }
    }
    if (ess || c == 'c') {
        Ptr p = folded(s, end, "set-");
        p = folded(p ? p : s, end, "cookie");
        if (p != NULL && header_value(p, end, COOKIE_STOPS, out))
            return 1;
    }
    return *s == 'e' && jwt_at(s, end, out);
}

/* The redact.KEYWORDS gate: a text holding none of these (ASCII, any case) is left alone. */
static const char *const GATE[] = {
    "token", "secret", "passw", "pwd", "ticket", "session", "sid", "skey", "api_key", "apikey",
    "code=", "state=", "authorization", "bearer", "cookie", "eyj",
};

/* The two letters each gate word opens with. */
#define GATE_OPENINGS "to" "se" "pa" "pw" "ti" "si" "sk" "ap" "co" "st" "au" "be" "ey"

static Words GATE_WORDS = {.words = GATE, .count = sizeof GATE / sizeof *GATE};

/* Where the first gate word in ``[p, end)`` starts; ``end`` if none. Found by byte shuffles
 * where the processor has them (``find_word``); otherwise sixteen places at a time
 * (with SSE2), the bytes there and after, lower-cased by setting bit 0x20 (which only letters
 * can turn into letters), are compared with every word's first two letters; only places where
 * they match are checked whole. The last places are compared in a zero-padded copy. */
static Ptr next_gate_word(Ptr p, Ptr end)
{
#ifdef SHUFFLES
    if (GATE_WORDS.usable)
        return find_word(&GATE_WORDS, p, end);
#endif
    static const char openings[] = GATE_OPENINGS;
    enum { PAIRS = (sizeof openings - 1) / 2 };
#ifdef __SSE2__
    const __m128i case_bit = _mm_set1_epi8(0x20);
    __m128i firsts[PAIRS], seconds[PAIRS];
    for (int i = 0; i < PAIRS; i++) {
        firsts[i] = _mm_set1_epi8(openings[2 * i]);
        seconds[i] = _mm_set1_epi8(openings[2 * i + 1]);
    }
    uint8_t padded[33] = {0};
    for (; p + 1 < end; p += 16) {
        Ptr block = p;
        if (end - p < 17) { /* fewer than sixteen places and the byte after them */
            memcpy(padded, p, (size_t)(end - p));
            block = padded;
        }
        __m128i here = _mm_or_si128(_mm_loadu_si128((const __m128i *)block), case_bit);
        __m128i next = _mm_or_si128(_mm_loadu_si128((const __m128i *)(block + 1)), case_bit);
        __m128i hits = _mm_setzero_si128();
        for (int i = 0; i < PAIRS; i++)
            hits = _mm_or_si128(hits, _mm_and_si128(_mm_cmpeq_epi8(here, firsts[i]),
                                                    _mm_cmpeq_epi8(next, seconds[i])));
        for (unsigned mask = (unsigned)_mm_movemask_epi8(hits); mask; mask &= mask - 1)
            if (word_at(&GATE_WORDS, p + __builtin_ctz(mask), end))
                return p + __builtin_ctz(mask);
    }
#else
    for (; p + 1 < end; p++)
        for (int i = 0; i < PAIRS; i++)
            if (lower(p[0]) == openings[2 * i] && lower(p[1]) == openings[2 * i + 1] &&
                word_at(&GATE_WORDS, p, end))
                return p;
#endif
    return end;
}

/* Where a rule could first match at or after ``s``, given that the first gate word from ``s``
 * starts at ``gate``. Every match holds a gate word (that is what the gate is for), and starts
 * at most six bytes before it ("proxy-" before "authorization", "?auth_" before "code=") or
 * where its run of [A-Za-z0-9_] does ("user_ticket", "x_csrf_token"). Only for texts that hold
 * no Kelvin sign or long s, which case folding lets into keys though the gate does not see
 * them. */
static Ptr first_start(Ptr s, Ptr gate)
{
    Ptr word = gate;
    while (word > s && is_word(word[-1]))
        word--;
    Ptr before = gate - s > 6 ? gate - 6 : s;
    return word < before ? word : before;
}

/* Appends bytes to a growing buffer; returns -1 when memory runs out. */
typedef struct {
    uint8_t *data;
    int64_t length, capacity;
} Buffer;

static int append(Buffer *buffer, const void *bytes, int64_t length)
{
    if (buffer->length + length > buffer->capacity) {
        int64_t capacity = buffer->capacity ? buffer->capacity : 1 << 16;
        while (capacity < buffer->length + length)
            capacity *= 2;
        uint8_t *grown = realloc(buffer->data, (size_t)capacity);
        if (grown == NULL)
            return -1;
        buffer->data = grown;
        buffer->capacity = capacity;
    }
    memcpy(buffer->data + buffer->length, bytes, (size_t)length);
    buffer->length += length;
    return 0;
}

/* Appends ``text`` with every secret masked to ``out``; returns 1 if anything was masked (else
 * ``out`` is as it was), -1 when memory runs out. */
static int redact_text(Ptr text, Ptr end, Buffer *out)
{
    static const char mask[] = "<redacted>";
    Ptr gate = next_gate_word(text, end);
    if (gate == end)
        return 0;
    int leap = all_ascii(text, end) || (!memmem(text, (size_t)(end - text), KELVIN, 3) &&
                                        !memmem(text, (size_t)(end - text), LONG_S, 2));
    Ptr copied = text, dead = text; /* the token/secret branch fails for starts before ``dead`` */
    /* Where the gate word ``gate`` lets a match start, found once per gate word: the search
     * can crawl a byte at a time through a long word before it, which must not be walked again
     * at every byte. */
    Ptr start = first_start(text, gate);
    for (Ptr s = text; s < end;) {
        /* Straight to where the next gate word lets a match start; none left, none to find. */
        if (leap) {
            if (gate < s) {
                if ((gate = next_gate_word(s, end)) == end)
                    break;
                start = first_start(s, gate);
            }
            if (start > s)
                s = start;
        }
        /* Rules start at a letter, digit or "_", at "?", "&" or ";" or at a long s or Kelvin
         * sign; and only the token/secret branch (tried at the start of the run, or where the
         * search resumed) starts inside a word. */
        if (!SECRET_STARTS[*s] || (s > copied && is_word(*s) && is_word(s[-1]))) {
            s++;
            continue;
        }
        Ptr run = NULL;
        int plain = 0;
        if (s >= dead && (s == copied || !word_char_before(text, s)))
            run = key_run(s, end, &plain);
        Secret found;
        if (secret_at(text, end, s, run != NULL && run > s ? run : NULL, &found)) {
            if (append(out, copied, found.keep - copied) || append(out, mask, 10))
                return -1;
            copied = s = found.stop;
            continue;
        }
        if (run != NULL)
            dead = run;
        /* Inside an ASCII run no rule but the one just tried can start. */
        s = run != NULL && run > s && plain ? run : s + 1;
    }
    if (copied == text)
        return 0;
    if (append(out, copied, end - copied))
        return -1;
    return 1;
}

/* ------------------------------------------------------------------------ entry points */

/* The fields found so far: each a column of views into the texts; ``fold`` marks the hosts
 * and the URLs' domains (bitmaps) that are not in lower case already. */
typedef struct {
    Lines *texts;
    Borrowed *columns[FIELDS]; /* NULL once exported */
    uint8_t *fold[2];          /* hosts, domains */
} Found;

static const char *const FOUND_NAMES[FIELDS + 2] = {
    "url", "domain", "path", "code", "message", "host", "ip", "request", "fold_host",
    "fold_domain",
};

static int build_field(int index, struct ArrowArray *column, const char **format,
                       const void *context)
{
    Found *found = (Found *)context;
    int64_t count = found->texts->input.count;
    if (index >= FIELDS) {
        *format = "b";
        if (build_fixed(column, found->fold[index - FIELDS], NULL, 0, count) != 0)
            return -1;
        found->fold[index - FIELDS] = NULL; /* the array owns it now */
        return 0;
    }
    *format = "vu";
    export_borrowed(column, found->columns[index], found->texts);
    found->columns[index] = NULL; /* the array owns it now */
    return 0;
}

/* Whether [p, end) holds an upper-case ASCII letter or a byte past ASCII: a text lower-casing
 * would change, or might. */
static int to_fold(Ptr p, Ptr end)
{
    for (; p < end; p++)
        if ((unsigned)(*p - 'A') < 26 || *p >= 0x80)
            return 1;
    return 0;
}

/* One thread's share of the texts, rows [first, last). */
typedef struct {
    Found *found;
    int64_t first, last;
} FieldShare;

static void *scan_share(void *argument)
{
    const FieldShare *share = argument;
    Found *found = share->found;
    static const int FOLDED[2] = {HOST, DOMAIN};
    for (int64_t i = share->first; i < share->last; i++) {
        Span at[FIELDS];
        const Text row = found->texts->input.rows[i];
        if (row.length >= 0)
            scan(row.data, row.data + row.length, at);
        else
            for (int f = 0; f < FIELDS; f++)
                at[f] = (Span){0, -1};
        for (int f = 0; f < FIELDS; f++)
            if (at[f].length >= 0)
                put_cut(found->columns[f], found->texts, i, at[f].start, at[f].length);
            else
                put_null(found->columns[f], i);
        if (row.length < 0)
            continue;
        for (int k = 0; k < 2; k++) {
            Span value = at[FOLDED[k]];
            if (value.length > 0 &&
                to_fold(row.data + value.start, row.data + value.start + value.length))
                found->fold[k][i >> 3] |= (uint8_t)(1 << (i & 7));
        }
    }
    return NULL;
}

/* fields(stream, threads) -> (schema capsule, array capsule)
 *
 * ``stream`` is an "arrow_array_stream" capsule of string views (a polars String Series).
 * Returns a struct array with one row per text and the string fields url, domain, path, code,
 * message, host, ip and request (null where not found), each a view into the texts' own
 * buffers; and ``fold_host`` and ``fold_domain``, where the host or domain is not in lower
 * case already (an upper-case letter, or a character past ASCII): the caller lower-cases
 * those. The texts are scanned in ``threads`` threads at once. Raises ValueError where the
 * texts are not string views or lie past 2 GiB of their buffers.
 */
static PyObject *fields(PyObject *self, PyObject *args)
{
    PyObject *capsule;
    int threads;
    if (!PyArg_ParseTuple(args, "Oi", &capsule, &threads))
        return NULL;
    threads = thread_count(threads);
    Found found = {.texts = open_lines(capsule)};
    if (found.texts == NULL)
        return NULL;
    int64_t count = found.texts->input.count;
    found.fold[0] = calloc((size_t)(count + 7) / 8 + 1, 1);
    found.fold[1] = calloc((size_t)(count + 7) / 8 + 1, 1);
    int missing = found.fold[0] == NULL || found.fold[1] == NULL;
    for (int f = 0; f < FIELDS && !missing; f++)
        missing = (found.columns[f] = new_borrowed(found.texts)) == NULL;
    PyObject *result = NULL;
    if (missing)
        PyErr_NoMemory();
    else {
        FieldShare shares[MAX_THREADS];
        for (int t = 0; t < threads; t++)
            shares[t] = (FieldShare){&found, share_start(count, t, threads),
                                     share_start(count, t + 1, threads)};
        Py_BEGIN_ALLOW_THREADS
        in_threads(scan_share, shares, sizeof *shares, threads);
        Py_END_ALLOW_THREADS
        result = export_struct(FIELDS + 2, FOUND_NAMES, build_field, &found, count, threads);
    }
    for (int f = 0; f < FIELDS; f++)
        free_borrowed(found.columns[f]); /* those not handed over */
    free(found.fold[0]);
    free(found.fold[1]);
    done_cutting(found.texts);
    drop_lines(found.texts); /* the columns hold it as long as they need it */
    return result;
}

typedef struct {
    Buffer texts;
    int64_t *ends;    /* where each changed row's text ends in ``texts`` */
    int64_t *changed; /* the changed rows */
    int64_t count;
} Redacted;

static Text redacted_value(const void *source, int64_t row)
{
    const Redacted *redacted = source;
    int64_t start = row ? redacted->ends[row - 1] : 0;
    return (Text){redacted->texts.data + start, redacted->ends[row] - start};
}

static const char *const REDACTED_NAMES[] = {"row", "text"};

static int build_redacted(int index, struct ArrowArray *column, const char **format,
                          const void *context)
{
    Redacted *redacted = (Redacted *)context;
    if (index == 1)
        return build_strings(column, format, redacted_value, redacted, redacted->count, 0);
    *format = "l";
    if (build_fixed(column, redacted->changed, NULL, 0, redacted->count) != 0)
        return -1;
    redacted->changed = NULL; /* the column owns it now */
    return 0;
}

/* redact(stream) -> (schema capsule, array capsule)
 *
 * Returns a struct array of the texts of ``stream`` that held a secret: ``row`` (int64, the
 * text's position) and ``text`` (with every secret value masked), in order.
 */
static PyObject *redact(PyObject *self, PyObject *capsule)
{
    Input input;
    if (open_input(capsule, &input) != 0)
        return NULL;
    Redacted redacted = {.changed = malloc(sizeof(int64_t))}; /* never NULL, even empty */
    int64_t capacity = 0;
    int failed = 0;
    Py_BEGIN_ALLOW_THREADS
    for (int64_t i = 0; i < input.count && !failed; i++) {
        const Text row = input.rows[i];
        if (row.length < 0)
            continue;
        int masked = redact_text(row.data, row.data + row.length, &redacted.texts);
        if (masked < 0) {
            failed = 1;
            break;
        }
        if (!masked)
            continue;
        if (redacted.count == capacity) {
            capacity = capacity ? 2 * capacity : 1024;
            int64_t *ends = realloc(redacted.ends, sizeof *ends * (size_t)capacity);
            int64_t *changed = ends ? realloc(redacted.changed, sizeof *changed * (size_t)capacity)
                                    : NULL;
            if (ends)
                redacted.ends = ends;
            if (changed)
                redacted.changed = changed;
            failed = !ends || !changed;
        }
        if (!failed) {
            redacted.ends[redacted.count] = redacted.texts.length;
            redacted.changed[redacted.count++] = i;
        }
    }
    Py_END_ALLOW_THREADS
    failed |= redacted.changed == NULL;
    PyObject *result = failed ? PyErr_NoMemory()
                              : export_struct(2, REDACTED_NAMES, build_redacted, &redacted,
                                              redacted.count, 1);
    free(redacted.texts.data);
    free(redacted.ends);
    free(redacted.changed);
    release_input(&input);
    return result;
}

/* ------------------------------------------------------------------------ timestamps */

/* Days from 1970-01-01 to a date of the proleptic Gregorian calendar (Howard Hinnant's
 * days_from_civil). */
static const char *const STAMP_NAMES[] = {"naive", "undecided"};

typedef struct {
    int64_t *micros;
    uint8_t *valid, *undecided; /* bitmaps */
    int64_t nulls, count;
} Stamps;

static int build_stamps(int index, struct ArrowArray *column, const char **format,
                        const void *context)
{
    Stamps *stamps = (Stamps *)context;
    int failed;
    if (index == 0) {
        *format = "tsu:";
        failed = build_fixed(column, stamps->micros, stamps->valid, stamps->nulls, stamps->count);
        if (!failed) { /* the column owns them now */
            stamps->micros = NULL;
            stamps->valid = NULL;
        }
    } else {
        *format = "b";
        failed = build_fixed(column, stamps->undecided, NULL, 0, stamps->count);
        if (!failed)
            stamps->undecided = NULL;
    }
    return failed;
}

/* One thread's share of the texts, rows [first, last), and the nulls it found. */
typedef struct {
    Stamps *stamps;
    const Text *rows;
    int64_t first, last, nulls;
} StampShare;

static void *read_stamps(void *argument)
{
    StampShare *share = argument;
    Stamps *stamps = share->stamps;
    for (int64_t i = share->first; i < share->last; i++) {
        const Text text = share->rows[i];
        int read = STAMP_NULL;
        stamps->micros[i] = 0;
        if (text.length >= 0)
            read = naive_stamp(text.data, text.length, &stamps->micros[i]);
        if (read == STAMP_READ)
            stamps->valid[i >> 3] |= (uint8_t)(1 << (i & 7));
        else
            share->nulls++;
        if (read == STAMP_UNDECIDED)
            stamps->undecided[i >> 3] |= (uint8_t)(1 << (i & 7));
    }
    return NULL;
}

/* naive_iso(stream, threads) -> (schema capsule, array capsule)
 *
 * Returns a struct array with one row per text: ``naive`` (a timestamp in microseconds,
 * without zone; null where the text is not a naive ISO stamp) and ``undecided`` (true where
 * the text holds a character past ASCII and the caller must read it some other way). The
 * texts are read in ``threads`` threads at once.
 */
static PyObject *naive_iso(PyObject *self, PyObject *args)
{
    PyObject *capsule;
    int threads;
    if (!PyArg_ParseTuple(args, "Oi", &capsule, &threads))
        return NULL;
    threads = thread_count(threads);
    Input input;
    if (open_input(capsule, &input) != 0)
        return NULL;
    int64_t count = input.count;
    size_t bitmap = (size_t)(count + 7) / 8 + 1;
    Stamps stamps = {malloc(sizeof(int64_t) * (size_t)(count + 1)), calloc(bitmap, 1),
                     calloc(bitmap, 1), 0, count};
    PyObject *result = NULL;
    if (stamps.micros && stamps.valid && stamps.undecided) {
        StampShare shares[MAX_THREADS];
        for (int t = 0; t < threads; t++)
            shares[t] = (StampShare){&stamps, input.rows, share_start(count, t, threads),
                                     share_start(count, t + 1, threads), 0};
        Py_BEGIN_ALLOW_THREADS
        in_threads(read_stamps, shares, sizeof *shares, threads);
        Py_END_ALLOW_THREADS
        for (int t = 0; t < threads; t++)
            stamps.nulls += shares[t].nulls;
        result = export_struct(2, STAMP_NAMES, build_stamps, &stamps, count, 1);
    } else
        PyErr_NoMemory();
    free(stamps.micros);
    free(stamps.valid);
    free(stamps.undecided);
    release_input(&input);
    return result;
}

/* ------------------------------------------------------------------------ lines of a file */

/* Bytes of the UTF-8 character opening at ``p`` (lead byte past ASCII) if it is one Rust's
 * from_utf8 accepts (shortest form, no surrogate, nothing past U+10FFFF); 0 if not. */
static int utf8_char(Ptr p, Ptr end)
{
    uint8_t c = *p, low = 0x80, high = 0xBF; /* the second byte's range */
    int need;
    if (c >= 0xC2 && c <= 0xDF)
        need = 1;
    else if (c >= 0xE0 && c <= 0xEF) {
        need = 2;
        low = c == 0xE0 ? 0xA0 : 0x80;
        high = c == 0xED ? 0x9F : 0xBF;
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 3;
        low = c == 0xF0 ? 0x90 : 0x80;
        high = c == 0xF4 ? 0x8F : 0xBF;
    } else
        return 0;
    if (end - p <= need || p[1] < low || p[1] > high)
        return 0;
    for (int k = 2; k <= need; k++)
        if ((p[k] & 0xC0) != 0x80)
            return 0;
    return need + 1;
}

/* Whether a byte of ``word`` is zero; is ``byte``; could be anything but plain ASCII text. */
#define ZERO_IN(word) (((word) - ONES) & ~(word) & HIGHS)
#define BYTE_IN(word, byte) ZERO_IN((word) ^ (ONES * (byte)))
#define SPECIAL_IN(word) (ZERO_IN(word) | BYTE_IN(word, '\n') | BYTE_IN(word, 0x1B) | ((word) & HIGHS))

/* ``size`` bytes from malloc; past a few megabytes aligned to, and advised to be backed by,
 * 2 MiB pages where the kernel has them: a large file is read into a fresh buffer, and
 * faulting it in by 4 KiB pages costs more than the read itself. */
static void *large_buffer(size_t size)
{
    const size_t huge = (size_t)1 << 21;
    void *buffer = NULL;
    if (size < 2 * huge || posix_memalign(&buffer, huge, size) != 0)
        return malloc(size);
#ifdef MADV_HUGEPAGE
    madvise(buffer, size & ~(huge - 1), MADV_HUGEPAGE); /* advice: failing changes nothing */
#endif
    return buffer;
}

/* A file's bytes and the masked texts of its lines, owned by the column of its lines: data
 * buffer 0 is the bytes, the others the masked texts. */
typedef struct {
    uint8_t *views;
    uint8_t *bytes;
    int data;         /* data buffers */
    uint8_t **masked; /* data - 1 of them */
    int64_t *sizes;   /* data of them */
    const void **buffers;
} FileLines;

static void free_file_lines(FileLines *lines)
{
    if (lines == NULL)
        return;
    for (int k = 0; k + 1 < lines->data; k++)
        free(lines->masked[k]);
    free(lines->masked);
    free(lines->sizes);
    free(lines->buffers);
    free(lines->views);
    free(lines->bytes);
    free(lines);
}

static void release_file_lines(struct ArrowArray *array)
{
    free_file_lines(array->private_data);
    array->release = NULL;
}

/* What went wrong in a share: no memory; bytes no caller can take as UTF-8 text (a NUL byte,
 * invalid UTF-8, masked texts past 2 GiB); the file shrank while it was read; a read failed. */
enum { NO_MEMORY = -1, UNUSABLE = -2, CHANGED = -3, READ_FAILED = -4 };

/* One share of a file's bytes, [start, end), and the views of its lines, which hold their
 * secrets masked where ``redact_limit`` says. A share read from the file by its own thread
 * leaves its first line to the seams where another share's last line runs on into it. */
typedef struct {
    Ptr bytes, file_end; /* the file's first byte, where views' offsets count from, and end */
    Ptr start, end;
    uint8_t *views;
    uint8_t *marks; /* per line, as ``mark_line`` says */
    int64_t count, capacity;
    int escapes, result;
    int64_t redact_limit; /* lines of at most this many bytes are masked; -1: none */
    Buffer masked;        /* the masked texts, end to end */
    Ptr gate, limit;      /* the first gate word at or after a line's start, looked for in the
                           * bytes up to ``limit`` (``limit`` itself where there is none) */
    int fd, partial, error; /* reading: the file, whether its first line is another share's,
                             * and a failed read's errno */
    Ptr head_end;           /* after that first line; NULL where the share holds no LF */
    Ptr tail;               /* where its last line, running on past ``end``, begins */
} Split;

enum { FILLED, BLANK, UNDECIDED, SPACED = 4, MASKED = 8 };

static int ascii_white(uint8_t c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

/* Whether line [p, stop) is blank (only white space, ``^\s*$``): FILLED or BLANK, or UNDECIDED
 * where white space in ASCII ends at a character past it, which Unicode may count as space;
 * plus SPACED where the line may end in white space (``\s$``): in ASCII, or a character past
 * it. */
static uint8_t mark_line(Ptr p, Ptr stop)
{
    uint8_t spaced = p < stop && (ascii_white(stop[-1]) || stop[-1] >= 0x80) ? SPACED : 0;
    while (p < stop && ascii_white(*p))
        p++;
    return spaced | (p == stop ? BLANK : *p < 0x80 ? FILLED : UNDECIDED);
}

/* Room for ``capacity`` lines; -1 when memory runs out. */
static int grow_lines(Split *split, int64_t capacity)
{
    uint8_t *views = realloc(split->views, 16 * (size_t)capacity);
    if (views != NULL)
        split->views = views;
    uint8_t *marks = views ? realloc(split->marks, (size_t)capacity) : NULL;
    if (marks == NULL)
        return -1;
    split->marks = marks;
    split->capacity = capacity;
    return 0;
}

/* Room for the share's lines if they are about 64 bytes long, so that the views seldom move as
 * they grow; 0 or NO_MEMORY. */
static int reserve_lines(Split *split)
{
    return grow_lines(split, (split->end - split->start) / 64 + 1) != 0 ? NO_MEMORY : 0;
}

/* Appends the view of line [p, stop), its secrets masked where the share masks them: a masked
 * text past twelve bytes lies in the share's own buffer, numbered 1 until the shares are put
 * together. 0, or NO_MEMORY or UNUSABLE. */
static int add_line(Split *split, Ptr p, Ptr stop)
{
    if (split->count == split->capacity && grow_lines(split, 2 * split->capacity) != 0)
        return NO_MEMORY;
    if (stop > p && stop[-1] == '\r')
        stop--;
    split->marks[split->count] = mark_line(p, stop);
    int32_t length = (int32_t)(stop - p), offset = (int32_t)(p - split->bytes), buffer = 0;
    Ptr text = p;
    /* The gate is looked for in all the bytes split so far at once, not line by line: a line
     * with no gate word in it holds no secret. One running on past ``limit`` is tried. */
    if (split->redact_limit >= 0 && (split->gate == NULL || split->gate < p))
        split->gate = next_gate_word(p, split->limit);
    if (split->redact_limit >= 0 && length <= split->redact_limit && split->gate < stop) {
        int64_t before = split->masked.length;
        int masked = redact_text(p, stop, &split->masked);
        if (masked < 0)
            return NO_MEMORY;
        if (masked) {
            if (split->masked.length > INT32_MAX)
                return UNUSABLE; /* past where a view can point */
            text = split->masked.data + before;
            length = (int32_t)(split->masked.length - before);
            offset = (int32_t)before;
            buffer = 1;
            split->marks[split->count] |= MASKED;
            if (length <= 12) /* the view holds it */
                split->masked.length = before;
        }
    }
    uint8_t *view = split->views + 16 * split->count++;
    memset(view, 0, 16);
    memcpy(view, &length, 4);
    if (length <= 12)
        memcpy(view + 4, text, (size_t)length);
    else {
        memcpy(view + 4, text, 4);
        memcpy(view + 8, &buffer, 4);
        memcpy(view + 12, &offset, 4);
    }
    return 0;
}

/* Splits [*at, limit) into lines, the current one begun at ``*line``, and checks the text: split
 * at LF, one CR before each LF (and at the very end) dropped. Where a character runs past
 * ``limit`` and ``more`` bytes follow it, stops there (``*at`` at the character) to go on once
 * they are read. 0, or NO_MEMORY, or UNUSABLE at a NUL byte or invalid UTF-8; sets ``escapes``
 * where an ESC occurs. Eight bytes at a time: only words holding LF, ESC, NUL or a byte past
 * ASCII are looked at closer. */
static int split_bytes(Split *split, Ptr *at, Ptr *line, Ptr limit, int more)
{
    Ptr p = *at, open = *line;
    int result = 0;
    split->limit = limit;
    while (p < limit) {
        uint64_t word;
        if (limit - p >= 8) {
            memcpy(&word, p, 8);
            uint64_t special = SPECIAL_IN(word);
            if (special == 0) {
                p += 8;
                continue;
            }
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
            /* The lowest flag is exact (those above it may not be): straight to that byte. */
            p += __builtin_ctzll(special) >> 3;
#endif
        }
        uint8_t c = *p;
        if (c == '\n') {
            if ((result = add_line(split, open, p)) != 0)
                break;
            open = ++p;
        } else if (c == 0) {
            result = UNUSABLE;
            break;
        } else if (c < 0x80) {
            split->escapes |= c == 0x1B;
            p++;
        } else {
            int width = utf8_char(p, limit);
            if (width == 0) {
                if (!more || limit - p >= 4)
                    result = UNUSABLE;
                break; /* else cut by ``limit``: decided once the rest is read */
            }
            p += width;
        }
    }
    *at = p;
    *line = open;
    return result;
}

/* A share of bytes already read: all its lines, the last one ending at ``end``. */
static void *split_share(void *argument)
{
    Split *split = argument;
    Ptr p = split->start, line = p;
    if ((split->result = reserve_lines(split)) != 0)
        return NULL;
    split->result = split_bytes(split, &p, &line, split->end, 0);
    if (split->result == 0 && line < split->end)
        split->result = add_line(split, line, split->end);
    return NULL;
}

/* Reads bytes [from, to) of the file into place; 0, CHANGED or READ_FAILED. */
static int read_into(Split *split, Ptr from, Ptr to)
{
    while (from < to) {
        ssize_t got = pread(split->fd, (uint8_t *)from, (size_t)(to - from),
                            (off_t)(from - split->bytes));
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            split->error = errno;
            return READ_FAILED;
        }
        if (got == 0)
            return CHANGED; /* the file shrank since its size was taken */
        from += got;
    }
    return 0;
}

/* Bytes a reading share reads, and splits while they are still in the cache, at a time. */
#define READ_CHUNK ((int64_t)1 << 18)

/* A share read from the file and split as it is read: its lines from the first that begins in
 * it (``head_end``) to the last that ends in it (the one before ``tail``); the last share's
 * last line ends at the file's end. */
static void *read_share(void *argument)
{
    Split *split = argument;
    if ((split->result = reserve_lines(split)) != 0)
        return NULL;
    Ptr p = split->start, line = p;
    int skipping = split->partial;
    for (Ptr chunk = p; chunk < split->end && split->result == 0; chunk += READ_CHUNK) {
        Ptr limit = split->end - chunk > READ_CHUNK ? chunk + READ_CHUNK : split->end;
        if ((split->result = read_into(split, chunk, limit)) != 0)
            break;
        if (skipping) {
            /* No LF is part of a longer UTF-8 character: the bytes before it can wait. */
            Ptr newline = memchr(p, '\n', (size_t)(limit - p));
            if (newline == NULL) {
                p = limit;
                continue;
            }
            split->head_end = p = line = newline + 1;
            skipping = 0;
        }
        split->result = split_bytes(split, &p, &line, limit, limit < split->file_end);
    }
    split->tail = line;
    if (split->result == 0 && !skipping && split->end == split->file_end && line < split->end) {
        split->result = add_line(split, line, split->end);
        split->tail = split->end;
    }
    return NULL;
}

/* Whether each line is blank: ``values`` true where it is, ``validity`` false where
 * UNDECIDED; whether it may end in white space (``spaced``); whether its secrets were masked
 * (``masked``). Bitmaps, malloc'd. */
typedef struct {
    uint8_t *values, *validity, *spaced, *masked;
    int64_t undecided;
} Blanks;

/* The parts' lines put together in order into ``lines``: views end to end, the masked texts
 * numbered as data buffers, and the marks as bitmaps. The first part's views become the
 * column's; the parts keep the rest to free. 0 or NO_MEMORY. */
static int join_parts(Split **parts, int count, FileLines *lines, int64_t *total, Blanks *blanks)
{
    int64_t all = 0;
    int masked = 0;
    for (int k = 0; k < count; k++) {
        all += parts[k]->count;
        masked += parts[k]->masked.length > 0;
    }
    *total = all;
    lines->views = parts[0]->views;
    parts[0]->views = NULL;
    lines->masked = calloc((size_t)masked + 1, sizeof *lines->masked);
    lines->sizes = calloc((size_t)masked + 1, sizeof *lines->sizes);
    lines->buffers = calloc((size_t)masked + 4, sizeof *lines->buffers);
    blanks->values = calloc((size_t)(all + 7) / 8 + 1, 1);
    blanks->validity = calloc((size_t)(all + 7) / 8 + 1, 1);
    blanks->spaced = calloc((size_t)(all + 7) / 8 + 1, 1);
    blanks->masked = calloc((size_t)(all + 7) / 8 + 1, 1);
    if (!lines->masked || !lines->sizes || !lines->buffers || !blanks->values ||
        !blanks->validity || !blanks->spaced || !blanks->masked)
        return NO_MEMORY;
    if (all > 0) {
        /* The first part's views take the others', in room no larger than all of them fill
         * (the reserve was for lines of 64 bytes). */
        uint8_t *views = realloc(lines->views, 16 * (size_t)all);
        if (views != NULL)
            lines->views = views;
        else if (all > parts[0]->count)
            return NO_MEMORY;
    }
    lines->data = 1;
    int64_t i = 0;
    for (int k = 0; k < count; k++) {
        Split *part = parts[k];
        uint8_t *views = lines->views + 16 * i;
        if (k > 0 && part->count > 0) /* an empty part may have no views at all */
            memcpy(views, part->views, 16 * (size_t)part->count);
        if (part->masked.length > 0) {
            int32_t buffer = lines->data;
            for (int64_t v = 0; v < part->count; v++) {
                int32_t length, own;
                memcpy(&length, views + 16 * v, 4);
                memcpy(&own, views + 16 * v + 8, 4);
                if (length > 12 && own == 1)
                    memcpy(views + 16 * v + 8, &buffer, 4);
            }
            lines->sizes[buffer] = part->masked.length;
            lines->masked[buffer - 1] = part->masked.data;
            part->masked.data = NULL;
            lines->data++;
        }
        for (int64_t v = 0; v < part->count; v++, i++) {
            uint8_t mark = part->marks[v], blank = mark & 3;
            blanks->values[i >> 3] |= (uint8_t)((blank == BLANK) << (i & 7));
            blanks->validity[i >> 3] |= (uint8_t)((blank != UNDECIDED) << (i & 7));
            blanks->spaced[i >> 3] |= (uint8_t)(((mark & SPACED) != 0) << (i & 7));
            blanks->masked[i >> 3] |= (uint8_t)(((mark & MASKED) != 0) << (i & 7));
            blanks->undecided += blank == UNDECIDED;
        }
    }
    return 0;
}

static void free_parts(Split *parts, int count)
{
    for (int k = 0; k < count; k++) {
        free(parts[k].views);
        free(parts[k].marks);
        free(parts[k].masked.data);
    }
}

/* A share of the file [bytes, file_end), bytes [start, end), with nothing split yet. */
static Split new_share(Ptr bytes, Ptr file_end, Ptr start, Ptr end, int64_t redact_limit)
{
    return (Split){.bytes = bytes, .file_end = file_end, .start = start, .end = end,
                   .redact_limit = redact_limit, .fd = -1};
}

/* The first failure of the parts, by weight: a failed read or a changed file before the
 * rest, since the bytes after them were never read. */
static int first_failure(const Split *parts, int count, int *error)
{
    int result = 0;
    for (int k = 0; k < count; k++) {
        if (parts[k].result == READ_FAILED || parts[k].result == CHANGED) {
            *error = parts[k].error;
            return parts[k].result;
        }
        result = result ? result : parts[k].result;
    }
    return result;
}

/* The file ``fd`` of ``size`` bytes read into ``bytes`` and split in ``threads`` shares at once,
 * each read by its own thread and split as it is read; the lines that run from one share into
 * the next (the seams) are split after. The parts, in order, in ``order``. */
static int read_and_split(int fd, uint8_t *bytes, int64_t size, int threads,
                          int64_t redact_limit, Split *shares, Split *seams, Split **order,
                          int *parts, int *error)
{
    Ptr end = bytes + size;
    for (int t = 0; t < threads; t++) {
        shares[t] = new_share(bytes, end, bytes + size * t / threads,
                              bytes + size * (t + 1) / threads, redact_limit);
        shares[t].fd = fd;
        shares[t].partial = t > 0;
    }
    in_threads(read_share, shares, sizeof *shares, threads);
    int result = first_failure(shares, threads, error);
    Ptr cursor = bytes;
    int count = 0, seam = 0;
    for (int t = 0; result == 0 && t <= threads; t++) {
        Ptr from = t == threads ? end : t == 0 ? bytes : shares[t].head_end;
        if (from == NULL)
            continue; /* no line begins in this share: all of it is a seam's */
        if (cursor < from) {
            seams[seam] = new_share(bytes, end, cursor, from, redact_limit);
            order[count++] = &seams[seam];
            split_share(&seams[seam]);
            result = seams[seam++].result;
        }
        if (t < threads) {
            order[count++] = &shares[t];
            cursor = shares[t].tail;
        }
    }
    *parts = count;
    return result;
}

/* The bytes of ``lines`` (read whole) split in ``threads`` shares at once, each cut after a
 * LF. */
static int split_read(uint8_t *bytes, int64_t size, int threads, int64_t redact_limit,
                      Split *shares, Split **order, int *parts)
{
    Ptr end = bytes + size, start = bytes;
    for (int t = 0; t < threads; t++) {
        Ptr cut = t + 1 == threads ? end : bytes + size * (t + 1) / threads;
        cut = cut < start ? start : cut;
        Ptr newline = cut < end ? memchr(cut, '\n', (size_t)(end - cut)) : NULL;
        cut = t + 1 == threads || newline == NULL ? end : newline + 1;
        shares[t] = new_share(bytes, end, start, cut, redact_limit);
        order[t] = &shares[t];
        start = cut;
    }
    in_threads(split_share, shares, sizeof *shares, threads);
    *parts = threads;
    int error = 0;
    return first_failure(shares, threads, &error);
}

/* What split_file hands back: the lines' column takes ``lines`` and the other columns the
 * bitmaps, each setting its pointer to NULL once it owns them. */
typedef struct {
    FileLines *lines;
    Blanks *blanks;
    int64_t count;
} SplitFile;

static const char *const SPLIT_NAMES[] = {"line", "blank", "spaced", "masked"};

static int build_split(int index, struct ArrowArray *column, const char **format,
                       const void *context)
{
    SplitFile *built = (SplitFile *)context;
    Blanks *blanks = built->blanks;
    if (index == 2 || index == 3) {
        uint8_t **bits = index == 2 ? &blanks->spaced : &blanks->masked;
        *format = "b";
        if (build_fixed(column, *bits, NULL, 0, built->count) != 0)
            return -1;
        *bits = NULL;
        return 0;
    }
    if (index == 1) {
        *format = "b";
        if (build_fixed(column, blanks->values, blanks->validity, blanks->undecided,
                        built->count) != 0)
            return -1;
        blanks->values = blanks->validity = NULL;
        return 0;
    }
    FileLines *lines = built->lines;
    lines->buffers[0] = NULL;
    lines->buffers[1] = lines->views;
    lines->buffers[2] = lines->bytes;
    for (int k = 1; k < lines->data; k++)
        lines->buffers[2 + k] = lines->masked[k - 1];
    lines->buffers[2 + lines->data] = lines->sizes;
    *column = (struct ArrowArray){.length = built->count, .n_buffers = 3 + lines->data,
                                  .buffers = lines->buffers, .release = release_file_lines,
                                  .private_data = lines};
    *format = "vu";
    built->lines = NULL;
    return 0;
}

/* Reads the whole of ``file`` (its size, where known, in ``capacity``) into ``*bytes``; the
 * bytes read, or -1 with ``*error`` set. Past ``limit`` bytes it stops: the file is too large. */
static int64_t read_whole(FILE *file, int64_t capacity, int64_t limit, uint8_t **bytes, int *error)
{
    int64_t size = 0;
    *bytes = large_buffer((size_t)capacity);
    if (*bytes == NULL) {
        *error = ENOMEM;
        return -1;
    }
    for (;;) {
        if (size == capacity) {
            if (capacity == limit)
                return size; /* too large */
            capacity = 2 * capacity < limit ? 2 * capacity : limit;
            uint8_t *grown = realloc(*bytes, (size_t)capacity);
            if (grown == NULL) {
                *error = ENOMEM;
                return -1;
            }
            *bytes = grown;
        }
        size_t got = fread(*bytes + size, 1, (size_t)(capacity - size), file);
        size += (int64_t)got;
        if (got == 0) {
            if (ferror(file)) {
                *error = errno ? errno : EIO;
                return -1;
            }
            return size;
        }
    }
}

/* split_file(path, threads, redact_limit) -> ((schema capsule, array capsule), size,
 *                                              has_escapes) or None
 *
 * The lines of the UTF-8 file at ``path`` as a struct array: ``line``, a string view column
 * over the file's bytes, read once and never copied, ``blank``, whether the line is only white
 * space (null where a character past ASCII leaves it to the caller), and ``spaced``, whether it
 * may end in white space (false only where it does not), and ``masked``, whether its secrets
 * were masked; the bytes read, and whether they hold an escape (ESC, which opens ANSI colours).
 * Lines of at most ``redact_limit`` bytes have their secrets masked (the rules of
 * analyzer/redact.py), in views of their own; -1 masks none.
 * Split in ``threads`` threads, each reading its share of a regular file. None where the file
 * is empty, over 2 GiB, holds a NUL byte or is not valid UTF-8: the caller reads those its own
 * way. Raises OSError when the file cannot be read.
 */
static PyObject *split_file(PyObject *self, PyObject *args)
{
    PyObject *argument, *encoded;
    int threads;
    long long redact_limit;
    if (!PyArg_ParseTuple(args, "OiL", &argument, &threads, &redact_limit))
        return NULL;
    threads = thread_count(threads);
    if (!PyUnicode_FSConverter(argument, &encoded))
        return NULL;
    FILE *file = fopen(PyBytes_AS_STRING(encoded), "rb");
    if (file == NULL) {
        PyErr_SetFromErrnoWithFilenameObject(PyExc_OSError, argument);
        Py_DECREF(encoded);
        return NULL;
    }
    Py_DECREF(encoded);
    /* Past 2 GiB a view cannot point into the bytes: the caller reads the file its own way. */
    struct stat info;
    int64_t size = 0, known = 0, limit = (int64_t)INT32_MAX + 1;
    int regular = fstat(fileno(file), &info) == 0 && S_ISREG(info.st_mode);
    if (regular && info.st_size >= limit) {
        fclose(file); /* too large: not worth reading to find out */
        Py_RETURN_NONE;
    }
    if (regular)
        known = info.st_size;
    Split shares[MAX_THREADS], seams[MAX_THREADS + 1], *order[2 * MAX_THREADS + 1];
    memset(shares, 0, sizeof shares);
    memset(seams, 0, sizeof seams);
    int parts = 0, error = 0, escapes = 0, result = CHANGED;
    uint8_t *bytes = NULL;
    Py_BEGIN_ALLOW_THREADS
    /* A regular file of known size: each thread reads its own share. */
    if (known > 0 && (bytes = large_buffer((size_t)known + 1)) != NULL) {
        size = known;
        result = read_and_split(fileno(file), bytes, size, threads, redact_limit, shares, seams,
                                order, &parts, &error);
        uint8_t probe;
        if (result == 0 && pread(fileno(file), &probe, 1, (off_t)size) > 0)
            result = CHANGED; /* it grew since its size was taken */
    }
    /* Anything else, or a file that changed while it was read: read to the end, whatever size
     * it has by then, and split what was read. */
    if (result == CHANGED) {
        free_parts(shares, MAX_THREADS);
        free_parts(seams, MAX_THREADS + 1);
        memset(shares, 0, sizeof shares);
        memset(seams, 0, sizeof seams);
        free(bytes);
        rewind(file);
        size = read_whole(file, known > 0 ? known + 1 : 1 << 16, limit, &bytes, &error);
        result = size < 0 ? (error == ENOMEM ? NO_MEMORY : READ_FAILED)
                 : size == 0 || size >= limit ? UNUSABLE
                                              : split_read(bytes, size, threads, redact_limit,
                                                           shares, order, &parts);
    }
    Py_END_ALLOW_THREADS
    fclose(file);
    FileLines *lines = NULL;
    Blanks blanks = {0};
    int64_t count = 0;
    if (result == 0) {
        lines = calloc(1, sizeof *lines);
        result = lines == NULL ? NO_MEMORY : 0;
    }
    if (result == 0) {
        lines->bytes = bytes;
        bytes = NULL;
        result = join_parts(order, parts, lines, &count, &blanks);
        if (result == 0)
            lines->sizes[0] = size;
        for (int k = 0; k < parts; k++)
            escapes |= order[k]->escapes;
    }
    free_parts(shares, MAX_THREADS);
    free_parts(seams, MAX_THREADS + 1);
    free(bytes);
    PyObject *found = NULL;
    if (result == 0) {
        SplitFile built = {lines, &blanks, count};
        found = export_struct(4, SPLIT_NAMES, build_split, &built, count, 1);
        if (built.lines == NULL)
            lines = NULL; /* the column owns them */
    }
    free_file_lines(lines);
    free(blanks.values); /* NULL where a column took them */
    free(blanks.validity);
    free(blanks.spaced);
    free(blanks.masked);
    if (result == READ_FAILED) {
        errno = error;
        return PyErr_SetFromErrnoWithFilenameObject(PyExc_OSError, argument);
    }
    if (result == NO_MEMORY)
        return PyErr_NoMemory();
    if (result != 0)
        Py_RETURN_NONE;
    if (found == NULL)
        return NULL;
    return Py_BuildValue("(NLO)", found, (long long)size, escapes ? Py_True : Py_False);
}

/* ------------------------------------------------------------------------ distinct values */

/* A distinct text and the code it was given. */
typedef struct {
    Text text;
    uint64_t hash, key[2]; /* ``key``: a text of at most 12 bytes, as its view holds it */
    uint32_t code, used;
} Slot;

/* A text of at most 12 bytes as its string view holds it, the bytes past it zeroed: length and
 * bytes in two words, compared whole. */
static void short_key(Text text, uint64_t key[2])
{
    uint8_t bytes[16] = {0};
    int32_t length = (int32_t)text.length;
    memcpy(bytes, &length, 4);
    memcpy(bytes + 4, text.data, (size_t)text.length);
    memcpy(key, bytes, 16);
}

static uint64_t text_hash(Text text)
{
    uint64_t hash = 0x9E3779B97F4A7C15ULL ^ (uint64_t)text.length, word;
    int64_t i = 0;
    for (; i + 8 <= text.length; i += 8) {
        memcpy(&word, text.data + i, 8);
        hash = (hash ^ word) * 0xFF51AFD7ED558CCDULL;
    }
    if (i < text.length) {
        word = 0;
        memcpy(&word, text.data + i, (size_t)(text.length - i));
        hash = (hash ^ word) * 0xFF51AFD7ED558CCDULL;
    }
    return hash ^ (hash >> 32);
}

static const char *const CODE_NAMES[] = {"code"};

/* Each text's code and whether it has one (not null); the column takes both. */
typedef struct {
    uint32_t *code;
    uint8_t *valid; /* a bitmap */
    int64_t nulls, count;
} Codes;

static int build_codes(int index, struct ArrowArray *column, const char **format,
                       const void *context)
{
    (void)index;
    Codes *codes = (Codes *)context;
    *format = "I";
    if (build_fixed(column, codes->code, codes->valid, codes->nulls, codes->count) != 0)
        return -1;
    codes->code = NULL; /* the column owns them now */
    codes->valid = NULL;
    return 0;
}

/* codes(stream, most) -> ((schema capsule, array capsule), firsts) or None
 *
 * Every text's code (uint32, null for a null text) and, for each code, the row where its text
 * first occurs: text i is text firsts[code[i]]. None where there are more than ``most``
 * distinct texts, which are then better told apart some other way.
 */
static PyObject *codes(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *capsule;
    int most;
    if (!PyArg_ParseTuple(args, "Oi", &capsule, &most))
        return NULL;
    most = most < 0 ? 0 : most;
    Input input;
    if (open_chunks(capsule, &input, 0) != 0)
        return NULL;
    int64_t count = input.count, slots = 16;
    while (slots < 2 * (int64_t)(most > 0 ? most : 1))
        slots *= 2;
    Slot *table = calloc((size_t)slots, sizeof *table);
    int64_t *firsts = malloc(sizeof *firsts * (size_t)(most > 0 ? most : 1));
    Codes found = {malloc(sizeof(uint32_t) * (size_t)(count + 1)),
                   calloc((size_t)(count + 7) / 8 + 1, 1), 0, count};
    int distinct = 0, over = 0;
    const char *problem = NULL;
    PyObject *result = NULL;
    if (!table || !firsts || !found.code || !found.valid) {
        PyErr_NoMemory();
        goto done;
    }
    uint32_t *code = found.code;
    Py_BEGIN_ALLOW_THREADS
    int64_t i = 0;
    for (int64_t c = 0; c < input.chunks.count && !over && !problem; c++) {
        const struct ArrowArray *chunk = &input.chunks.items[c];
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        const uint8_t *views = input.format[0] == 'v' ? chunk->buffers[1] : NULL;
#else
        const uint8_t *views = NULL; /* the masks below take the view's bytes little end first */
#endif
        for (int64_t k = 0; k < chunk->length && !over; k++, i++) {
            Text text;
            uint64_t key[2] = {0, 0};
            if (views != NULL) /* a short text's view holds it: its key without a copy */
                memcpy(key, views + 16 * (chunk->offset + k), 16);
            if ((problem = row_text(chunk, input.format, k, &text)) != NULL)
                break;
            code[i] = 0;
            if (text.length < 0) {
                found.nulls++;
                continue;
            }
            found.valid[i >> 3] |= (uint8_t)(1 << (i & 7));
            /* A short text (a level, a tag) is told by two words, a longer one by its bytes. */
            uint64_t hash;
            if (text.length <= 12) {
                if (views == NULL)
                    short_key(text, key);
                else if (text.length <= 4) { /* the bytes past it in the view are zeroed */
                    key[0] &= ~0ULL >> (8 * (4 - text.length));
                    key[1] = 0;
                } else
                    key[1] &= ~0ULL >> (8 * (12 - text.length));
                hash = (key[0] * 0xFF51AFD7ED558CCDULL) ^ (key[1] * 0xC4CEB9FE1A85EC53ULL);
                hash ^= hash >> 32;
            } else
                hash = text_hash(text);
            int64_t at = (int64_t)(hash & (uint64_t)(slots - 1));
            for (;; at = (at + 1) & (slots - 1)) {
                Slot *slot = &table[at];
                if (!slot->used) {
                    if (distinct == most) {
                        over = 1;
                        break;
                    }
                    *slot = (Slot){text, hash, {key[0], key[1]}, (uint32_t)distinct, 1};
                    firsts[distinct++] = i;
                    code[i] = slot->code;
                    break;
                }
                if (slot->hash == hash && slot->text.length == text.length &&
                    (text.length <= 12 ? slot->key[0] == key[0] && slot->key[1] == key[1]
                                       : memcmp(slot->text.data, text.data,
                                                (size_t)text.length) == 0)) {
                    code[i] = slot->code;
                    break;
                }
            }
        }
    }
    Py_END_ALLOW_THREADS
    if (problem) {
        PyErr_SetString(PyExc_ValueError, problem);
        goto done;
    }
    if (over) {
        result = Py_NewRef(Py_None);
        goto done;
    }
    PyObject *first_rows = PyList_New(distinct);
    for (int k = 0; first_rows && k < distinct; k++) {
        PyObject *row = PyLong_FromLongLong((long long)firsts[k]);
        if (row == NULL)
            Py_CLEAR(first_rows);
        else
            PyList_SET_ITEM(first_rows, k, row);
    }
    PyObject *column = first_rows ? export_struct(1, CODE_NAMES, build_codes, &found, count, 1)
                                  : NULL;
    if (column == NULL)
        Py_XDECREF(first_rows);
    else
        result = Py_BuildValue("(NN)", column, first_rows); /* takes both, even on failure */
done:
    free(table);
    free(firsts);
    free(found.code);
    free(found.valid);
    release_input(&input);
    return result;
}

static PyMethodDef methods[] = {
    {"fields", fields, METH_VARARGS,
     "Every text's fields, as an Arrow struct array (capsule pair)."},
    {"redact", redact, METH_O, "The texts that held secrets, masked (Arrow capsule pair)."},
    {"naive_iso", naive_iso, METH_VARARGS,
     "Naive ISO 8601 stamps as microseconds (Arrow capsule pair)."},
    {"codes", codes, METH_VARARGS,
     "Every text's code among the distinct texts (Arrow capsule pair)."},
    {"split_file", split_file, METH_VARARGS,
     "A UTF-8 file's lines, read once (Arrow capsule pair)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_scan", "Field and secret patterns over text columns, compiled.", -1,
    methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__scan(void)
{
#ifdef M_TRIM_THRESHOLD
    /* The scans allocate and free columns of tens of megabytes, file after file: glibc would
     * give each back to the kernel (past 128 KiB, or at the top of the heap) and take it again,
     * zeroed page by page, for the next. Up to its largest (32 MiB) they are kept for reuse. */
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 256 << 20);
#endif
    set_sets();
    set_key_pairs();
    set_words(&GATE_WORDS);
    PyObject *created = PyModule_Create(&module);
    /* What parsers/scan.py checks: a module left from an older build is not used. */
    if (created != NULL && PyModule_AddIntConstant(created, "INTERFACE", SCAN_INTERFACE) != 0)
        Py_CLEAR(created);
    return created;
}
