/* Edgewise guest SDK for C: the CBOR reader and writer (RFC 8949, definite lengths only).
 *
 * A reader is a cursor over bytes the host wrote into the arena; every read either consumes one
 * whole item and returns true, or leaves the cursor where it was, sets `failed` and returns false.
 * A writer appends encoded items to a buffer in the turn's arena, doubling it as it fills; running
 * out of memory sets `failed` and makes every later write a no-op.
 */
#include "edgewise.h"

/* ---- CBOR reader ---------------------------------------------------------------------------- */

ew_reader ew_reader_of(ew_str data) { return (ew_reader){data.ptr, data.ptr + data.len, false}; }

static bool fail(ew_reader *r) {
    r->failed = true;
    return false;
}

/* Reads one head; on success advances past it. Indefinite lengths are refused. */
static bool read_head(ew_reader *r, uint8_t *major, uint8_t *info, uint64_t *arg) {
    const uint8_t *p = r->pos;
    if (p >= r->end) return false;
    *major = p[0] >> 5;
    *info = p[0] & 31;
    p++;
    uint32_t n = *info < 24 ? 0 : *info == 24 ? 1 : *info == 25 ? 2 : *info == 26 ? 4 : 8;
    if (*info > 27 || (uint32_t)(r->end - p) < n) return false;
    uint64_t v = *info < 24 ? *info : 0;
    for (uint32_t i = 0; i < n; i++) v = (v << 8) | p[i];
    *arg = v;
    r->pos = p + n;
    return true;
}

ew_cbor_type ew_peek(const ew_reader *r) {
    if (r->pos >= r->end) return EW_CBOR_END;
    uint8_t b = r->pos[0], major = b >> 5, info = b & 31;
    switch (major) {
    case 0: case 1: return EW_CBOR_INT;
    case 2: return EW_CBOR_BYTES;
    case 3: return EW_CBOR_TEXT;
    case 4: return EW_CBOR_ARRAY;
    case 5: return EW_CBOR_MAP;
    case 6: return EW_CBOR_TAG;
    default: break;
    }
    if (info == 20 || info == 21) return EW_CBOR_BOOL;
    if (info == 22) return EW_CBOR_NULL;
    if (info == 23) return EW_CBOR_UNDEFINED;
    if (info >= 25 && info <= 27) return EW_CBOR_FLOAT;
    return EW_CBOR_INVALID;
}

bool ew_read_int(ew_reader *r, int64_t *out) {
    ew_reader save = *r;
    uint8_t major, info;
    uint64_t arg;
    if (!read_head(r, &major, &info, &arg) || major > 1 || arg > (uint64_t)INT64_MAX) {
        *r = save;
        return fail(r);
    }
    *out = major == 0 ? (int64_t)arg : -1 - (int64_t)arg;
    return true;
}

static bool read_string(ew_reader *r, uint8_t want, ew_str *out) {
    ew_reader save = *r;
    uint8_t major, info;
    uint64_t arg;
    if (!read_head(r, &major, &info, &arg) || major != want || arg > (uint64_t)(r->end - r->pos)) {
        *r = save;
        return fail(r);
    }
    *out = (ew_str){r->pos, (uint32_t)arg};
    r->pos += arg;
    return true;
}

/* Strict UTF-8: no overlong forms, no surrogates, nothing past U+10FFFF. */
static bool valid_utf8(const uint8_t *p, uint32_t n) {
    uint32_t i = 0;
    while (i < n) {
        uint8_t b = p[i];
        uint32_t len = b < 0x80 ? 1 : b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3
                                                            : b >= 0xf0 && b <= 0xf4 ? 4 : 0;
        if (len == 0 || n - i < len) return false;
        uint32_t cp = len == 1 ? b : b & (0x7fu >> len);
        for (uint32_t k = 1; k < len; k++) {
            if ((p[i + k] & 0xc0) != 0x80) return false;
            cp = cp << 6 | (p[i + k] & 0x3fu);
        }
        if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
            (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
            return false;
        i += len;
    }
    return true;
}

bool ew_read_text(ew_reader *r, ew_str *out) {
    ew_reader save = *r;
    if (!read_string(r, 3, out)) return false;
    if (valid_utf8(out->ptr, out->len)) return true;
    *r = save;
    return fail(r);
}
bool ew_read_bytes(ew_reader *r, ew_str *out) { return read_string(r, 2, out); }

static bool read_container(ew_reader *r, uint8_t want, uint32_t *count) {
    ew_reader save = *r;
    uint8_t major, info;
    uint64_t arg;
    if (!read_head(r, &major, &info, &arg) || major != want || arg > (uint64_t)(r->end - r->pos)) {
        *r = save;
        return fail(r);
    }
    *count = (uint32_t)arg;
    return true;
}

bool ew_read_array(ew_reader *r, uint32_t *count) { return read_container(r, 4, count); }
bool ew_read_map(ew_reader *r, uint32_t *count) { return read_container(r, 5, count); }

bool ew_read_bool(ew_reader *r, bool *out) {
    if (ew_peek(r) != EW_CBOR_BOOL) return fail(r);
    *out = r->pos[0] == 0xf5;
    r->pos++;
    return true;
}

bool ew_read_null(ew_reader *r) {
    if (ew_peek(r) != EW_CBOR_NULL) return fail(r);
    r->pos++;
    return true;
}

static double half_to_double(uint32_t h) {
    uint32_t exp = (h >> 10) & 31, mant = h & 1023;
    double v = exp == 0 ? mant / 1024.0 / 16384.0 : exp == 31 ? (mant ? 0.0 / 0.0 : 1.0 / 0.0)
                                                             : (1.0 + mant / 1024.0);
    if (exp != 0 && exp != 31) {
        for (int e = (int)exp - 15; e > 0; e--) v *= 2.0;
        for (int e = (int)exp - 15; e < 0; e++) v /= 2.0;
    }
    return (h & 0x8000) ? -v : v;
}

bool ew_read_float(ew_reader *r, double *out) {
    ew_cbor_type t = ew_peek(r);
    if (t == EW_CBOR_INT) {
        int64_t i;
        if (!ew_read_int(r, &i)) return false;
        *out = (double)i;
        return true;
    }
    uint8_t major, info;
    uint64_t arg;
    ew_reader save = *r;
    if (t != EW_CBOR_FLOAT || !read_head(r, &major, &info, &arg)) {
        *r = save;
        return fail(r);
    }
    if (info == 25) {
        *out = half_to_double((uint32_t)arg);
    } else if (info == 26) {
        uint32_t bits = (uint32_t)arg;
        float f;
        memcpy(&f, &bits, 4);
        *out = f;
    } else {
        memcpy(out, &arg, 8);
    }
    return true;
}

bool ew_skip(ew_reader *r) {
    ew_reader save = *r;
    uint64_t pending = 1;
    while (pending > 0) {
        uint8_t major, info;
        uint64_t arg;
        if (!read_head(r, &major, &info, &arg)) goto bad;
        pending--;
        uint64_t room = (uint64_t)(r->end - r->pos);
        if (major == 2 || major == 3) {
            if (arg > room) goto bad;
            r->pos += arg;
        } else if (major == 4 || major == 5) {
            if (arg > room) goto bad;
            pending += major == 4 ? arg : 2 * arg;
        } else if (major == 6) {
            pending++;
        } else if (major == 7 && info < 20) {
            goto bad;
        }
    }
    return true;
bad:
    *r = save;
    return fail(r);
}

bool ew_read_raw(ew_reader *r, ew_str *item) {
    const uint8_t *start = r->pos;
    if (!ew_skip(r)) return false;
    *item = (ew_str){start, (uint32_t)(r->pos - start)};
    return true;
}

/* ---- CBOR writer ---------------------------------------------------------------------------- */

static bool reserve(ew_writer *w, uint32_t n) {
    if (w->failed) return false;
    if (w->len + n <= w->cap && w->len + n >= w->len) return true;
    uint32_t cap = w->cap ? w->cap : 64;
    while (cap < w->len + n) {
        if (cap > 0x3fffffffu) {
            w->failed = true;
            return false;
        }
        cap *= 2;
    }
    uint8_t *buf = ew_arena_alloc(cap);
    if (buf == NULL) {
        w->failed = true;
        return false;
    }
    if (w->len) memcpy(buf, w->buf, w->len);
    w->buf = buf;
    w->cap = cap;
    return true;
}

static void put_bytes(ew_writer *w, const uint8_t *p, uint32_t n) {
    if (!reserve(w, n)) return;
    memcpy(w->buf + w->len, p, n);
    w->len += n;
}

static void write_head(ew_writer *w, uint8_t major, uint64_t arg) {
    uint8_t b[9];
    uint32_t n;
    if (arg < 24) {
        b[0] = (uint8_t)((uint64_t)major << 5 | arg);
        n = 1;
    } else {
        uint32_t size = arg <= 0xff ? 1 : arg <= 0xffff ? 2 : arg <= 0xffffffffu ? 4 : 8;
        b[0] = (uint8_t)(major << 5 | (size == 1 ? 24 : size == 2 ? 25 : size == 4 ? 26 : 27));
        for (uint32_t i = 0; i < size; i++) b[1 + i] = (uint8_t)(arg >> (8 * (size - 1 - i)));
        n = 1 + size;
    }
    put_bytes(w, b, n);
}

void ew_write_uint(ew_writer *w, uint64_t v) { write_head(w, 0, v); }

void ew_write_int(ew_writer *w, int64_t v) {
    if (v >= 0) write_head(w, 0, (uint64_t)v);
    else write_head(w, 1, (uint64_t)(-1 - v));
}

void ew_write_text(ew_writer *w, ew_str s) {
    write_head(w, 3, s.len);
    put_bytes(w, s.ptr, s.len);
}

void ew_write_cstr(ew_writer *w, const char *s) { ew_write_text(w, ew_cstr(s)); }

void ew_write_bytes(ew_writer *w, ew_str b) {
    write_head(w, 2, b.len);
    put_bytes(w, b.ptr, b.len);
}

void ew_write_bool(ew_writer *w, bool v) {
    put_bytes(w, (const uint8_t *)(v ? "\xf5" : "\xf4"), 1);
}

void ew_write_null(ew_writer *w) { put_bytes(w, (const uint8_t *)"\xf6", 1); }

void ew_write_float(ew_writer *w, double v) {
    uint64_t bits;
    memcpy(&bits, &v, 8);
    uint8_t b[9] = {0xfb};
    for (int i = 0; i < 8; i++) b[1 + i] = (uint8_t)(bits >> (8 * (7 - i)));
    put_bytes(w, b, 9);
}

void ew_write_array(ew_writer *w, uint32_t count) { write_head(w, 4, count); }
void ew_write_map(ew_writer *w, uint32_t count) { write_head(w, 5, count); }
void ew_write_raw(ew_writer *w, ew_str item) { put_bytes(w, item.ptr, item.len); }
ew_str ew_writer_bytes(const ew_writer *w) { return (ew_str){w->buf, w->len}; }

ew_writer *ew_writer_new(void) {
    ew_writer *w = ew_arena_alloc(sizeof(ew_writer));
    if (w != NULL) memset(w, 0, sizeof(*w));
    return w;
}
