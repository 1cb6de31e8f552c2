/* The commonest timestamp shape, naive ISO 8601, read the way parsers/logs/timestamps.py reads
 * it: shared by the scans of _scan.c and the claim of _lines.c, which reads the stamps it cuts
 * from lines while they are in the cache. */
#ifndef LOGINLENS_STAMPS_H
#define LOGINLENS_STAMPS_H

#include <stdint.h>

typedef const uint8_t *StampPtr;

static int64_t days_from_civil(int64_t year, int64_t month, int64_t day)
{
    year -= month <= 2;
    int64_t era = (year >= 0 ? year : year - 399) / 400;
    int64_t of_era = year - era * 400;
    int64_t of_year = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
    int64_t of_era_day = of_era * 365 + of_era / 4 - of_era / 100 + of_year;
    return era * 146097 + of_era_day - 719468;
}

/* The ASCII digits at [p, p + count) as a number; -1 if any is not one. */
static int64_t number_at(StampPtr p, int count)
{
    int64_t value = 0;
    for (int i = 0; i < count; i++) {
        if ((unsigned)(p[i] - '0') >= 10)
            return -1;
        value = value * 10 + (p[i] - '0');
    }
    return value;
}

enum { STAMP_NULL, STAMP_READ, STAMP_UNDECIDED };

/* A naive ``YYYY-MM-DD[ T]HH:MM:SS[.,]f{1,9}`` stamp (the shape of timestamps._NAIVE_ISO) as
 * microseconds since 1970, as timestamps._naive_iso reads it: the calendar date checked, hours
 * to 23, minutes to 59, seconds to 60 (a leap second is the next minute), the fraction's first
 * six digits. Texts with a byte past ASCII are left UNDECIDED: ``\d`` matches other scripts'
 * digits, which only the patterns know what to do with. */
static int naive_stamp(StampPtr text, int64_t length, int64_t *micros)
{
    for (int64_t i = 0; i < length; i++)
        if (text[i] >= 0x80)
            return STAMP_UNDECIDED;
    if (length != 19 && (length < 21 || length > 29))
        return STAMP_NULL;
    if (text[4] != '-' || text[7] != '-' || (text[10] != ' ' && text[10] != 'T') ||
        text[13] != ':' || text[16] != ':' || (length > 19 && text[19] != '.' && text[19] != ','))
        return STAMP_NULL;
    int64_t year = number_at(text, 4), month = number_at(text + 5, 2),
            day = number_at(text + 8, 2), hour = number_at(text + 11, 2),
            minute = number_at(text + 14, 2), second = number_at(text + 17, 2), fraction = 0;
    int digits = (int)(length > 19 ? length - 20 : 0);
    if (digits && number_at(text + 20, digits) < 0)
        return STAMP_NULL;
    for (int i = 0; i < 6; i++)
        fraction = fraction * 10 + (i < digits ? text[20 + i] - '0' : 0);
    if (year < 0 || month < 1 || month > 12 || day < 1 || hour < 0 || hour > 23 ||
        minute < 0 || minute > 59 || second < 0 || second > 60)
        return STAMP_NULL;
    static const int month_days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    if (day > month_days[month - 1] + (month == 2 && leap))
        return STAMP_NULL;
    *micros = (days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second) *
                  1000000 + fraction;
    return STAMP_READ;
}

#endif
