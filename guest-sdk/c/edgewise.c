/* Edgewise guest SDK for C: the ABI v1 exports, a CBOR reader and writer, the turn result and
 * wrappers over the host imports.
 *
 * Memory is one bump arena above __heap_base, grown with memory.grow. The host calls ew_alloc for
 * the envelope, then ew_turn; the first ew_alloc after a finished turn resets the arena, so the
 * envelope, everything a turn allocates and the result stay valid until the host has copied the
 * result out. ew_turn decodes the envelope (spec section 2), calls one hook, then encodes the
 * pieces the hook gathered into one result map (spec section 4).
 */
#include "edgewise.h"

#define EW_EXPORT(name) __attribute__((export_name(name)))
#define EW_IMPORT(name) __attribute__((import_module("ew"), import_name(name)))
#define EW_WEAK __attribute__((weak))

EW_IMPORT("kv_get") int32_t ew_host_kv_get(const uint8_t *k, uint32_t kl, uint8_t *d, uint32_t cap);
EW_IMPORT("kv_put") int32_t ew_host_kv_put(const uint8_t *k, uint32_t kl, const uint8_t *v,
                                           uint32_t vl);
EW_IMPORT("kv_delete") int32_t ew_host_kv_delete(const uint8_t *k, uint32_t kl);
EW_IMPORT("kv_list") int32_t ew_host_kv_list(const uint8_t *p, uint32_t pl, const uint8_t *a,
                                             uint32_t al, uint32_t limit, uint8_t *d, uint32_t cap);
EW_IMPORT("log") void ew_host_log(int32_t level, const uint8_t *p, uint32_t len);
EW_IMPORT("now_ms") int64_t ew_host_now_ms(void);
EW_IMPORT("random") void ew_host_random(uint8_t *dst, uint32_t len);

/* ---- libc pieces ---------------------------------------------------------------------------- */

EW_WEAK void *memcpy(void *dst, const void *src, size_t n) {
    uint8_t *d = dst;
    const uint8_t *s = src;
    while (n--) *d++ = *s++;
    return dst;
}

EW_WEAK void *memmove(void *dst, const void *src, size_t n) {
    uint8_t *d = dst;
    const uint8_t *s = src;
    if (d < s) return memcpy(dst, src, n);
    while (n--) d[n] = s[n];
    return dst;
}

EW_WEAK void *memset(void *dst, int c, size_t n) {
    uint8_t *d = dst;
    while (n--) *d++ = (uint8_t)c;
    return dst;
}

EW_WEAK int memcmp(const void *a, const void *b, size_t n) {
    const uint8_t *x = a, *y = b;
    for (size_t i = 0; i < n; i++)
        if (x[i] != y[i]) return x[i] < y[i] ? -1 : 1;
    return 0;
}

EW_WEAK size_t strlen(const char *s) {
    size_t n = 0;
    while (s[n]) n++;
    return n;
}

ew_str ew_cstr(const char *s) { return (ew_str){(const uint8_t *)s, (uint32_t)strlen(s)}; }

bool ew_str_eq(ew_str a, const char *b) {
    uint32_t n = (uint32_t)strlen(b);
    return a.len == n && memcmp(a.ptr, b, n) == 0;
}

/* ---- arena ---------------------------------------------------------------------------------- */

extern unsigned char __heap_base;
static uintptr_t arena_start, arena_top;
static bool turn_finished = true;

void *ew_arena_alloc(uint32_t size) {
    if (arena_start == 0) arena_start = arena_top = ((uintptr_t)&__heap_base + 7) & ~(uintptr_t)7;
    uintptr_t p = (arena_top + 7) & ~(uintptr_t)7;
    if (size > 0x7fffffffu || p + size < p) return NULL;
    uintptr_t end = p + size;
    uintptr_t limit = __builtin_wasm_memory_size(0) * 65536u;
    if (end > limit) {
        uintptr_t pages = (end - limit + 65535u) / 65536u;
        if (__builtin_wasm_memory_grow(0, pages) == (size_t)-1) return NULL;
    }
    arena_top = end;
    return (void *)p;
}

EW_EXPORT("ew_abi_v1") void ew_abi_v1(void) {}

EW_EXPORT("ew_alloc") void *ew_alloc(uint32_t size) {
    if (turn_finished) {
        if (arena_start != 0) arena_top = arena_start;
        turn_finished = false;
    }
    return ew_arena_alloc(size);
}

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

void ew_write_bool(ew_writer *w, bool v) { put_bytes(w, (const uint8_t *)(v ? "\xf5" : "\xf4"), 1); }
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

/* ---- the turn ------------------------------------------------------------------------------- */

struct ew_turn {
    ew_kind kind;
    int64_t now_ms;
    ew_str actor_id, actor_name, actor_key;
    bool has_conn;
    uint64_t conn;
    ew_str action, alarm, args, input, params, payload;
    enum { REPLY_NONE, REPLY_OK, REPLY_ERROR } reply;
    bool has_refuse, sleep, destroy;
    ew_writer ok, error, refuse, broadcast, send, set_alarms, cancel_alarms;
};

static struct ew_turn the_turn;
static const uint8_t cbor_null[1] = {0xf6};
static const uint8_t cbor_empty_array[1] = {0x80};

ew_kind ew_turn_kind(const ew_turn *t) { return t->kind; }
int64_t ew_turn_now_ms(const ew_turn *t) { return t->now_ms; }
ew_str ew_actor_id(const ew_turn *t) { return t->actor_id; }
ew_str ew_actor_name(const ew_turn *t) { return t->actor_name; }
ew_reader ew_actor_key(const ew_turn *t) { return ew_reader_of(t->actor_key); }

bool ew_turn_conn(const ew_turn *t, uint64_t *conn) {
    if (t->has_conn) *conn = t->conn;
    return t->has_conn;
}

ew_writer *ew_reply_ok(ew_turn *t) {
    t->reply = REPLY_OK;
    t->ok.len = 0;
    t->ok.failed = false;
    return &t->ok;
}

void ew_reply_ok_null(ew_turn *t) { ew_write_null(ew_reply_ok(t)); }

void ew_reply_error(ew_turn *t, const char *code, const char *message) {
    t->reply = REPLY_ERROR;
    t->error.len = 0;
    ew_write_map(&t->error, 2);
    ew_write_cstr(&t->error, "code");
    ew_write_cstr(&t->error, code);
    ew_write_cstr(&t->error, "message");
    ew_write_cstr(&t->error, message);
}

void ew_refuse(ew_turn *t, const char *reason) {
    t->has_refuse = true;
    t->refuse.len = 0;
    ew_write_cstr(&t->refuse, reason);
}

ew_writer *ew_broadcast(ew_turn *t, const char *name, uint32_t argc) {
    ew_writer *w = &t->broadcast;
    w->items++;
    ew_write_array(w, 2);
    ew_write_cstr(w, name);
    ew_write_array(w, argc);
    return w;
}

ew_writer *ew_send(ew_turn *t, uint64_t conn, const char *name, uint32_t argc) {
    ew_writer *w = &t->send;
    w->items++;
    ew_write_array(w, 3);
    ew_write_uint(w, conn);
    ew_write_cstr(w, name);
    ew_write_array(w, argc);
    return w;
}

static ew_writer *alarm_entry(ew_turn *t, ew_str name, int64_t at_ms, uint32_t fields) {
    ew_writer *w = &t->set_alarms;
    w->items++;
    ew_write_map(w, fields);
    ew_write_cstr(w, "name");
    ew_write_text(w, name);
    ew_write_cstr(w, "at_ms");
    ew_write_uint(w, at_ms < 0 ? 0 : (uint64_t)at_ms);
    return w;
}

void ew_set_alarm(ew_turn *t, ew_str name, int64_t at_ms) { alarm_entry(t, name, at_ms, 2); }

ew_writer *ew_set_alarm_with(ew_turn *t, ew_str name, int64_t at_ms) {
    ew_writer *w = alarm_entry(t, name, at_ms, 3);
    ew_write_cstr(w, "payload");
    return w;
}

void ew_cancel_alarm(ew_turn *t, ew_str name) {
    t->cancel_alarms.items++;
    ew_write_text(&t->cancel_alarms, name);
}

void ew_sleep(ew_turn *t) { t->sleep = true; }
void ew_destroy(ew_turn *t) { t->destroy = true; }

/* ---- envelope ------------------------------------------------------------------------------- */

static const char *const kind_names[] = {"create", "wake", "action", "connect", "disconnect",
                                         "alarm"};

static bool decode_actor(ew_reader *r, ew_turn *t) {
    uint32_t n;
    if (!ew_read_map(r, &n)) return false;
    for (uint32_t i = 0; i < n; i++) {
        ew_str key;
        if (!ew_read_text(r, &key)) return false;
        bool ok = ew_str_eq(key, "id")     ? ew_read_text(r, &t->actor_id)
                  : ew_str_eq(key, "name") ? ew_read_text(r, &t->actor_name)
                  : ew_str_eq(key, "key")  ? ew_read_raw(r, &t->actor_key)
                                           : ew_skip(r);
        if (!ok) return false;
    }
    return true;
}

static bool decode_field(ew_reader *r, ew_str key, ew_turn *t) {
    if (ew_str_eq(key, "kind")) {
        ew_str kind;
        if (!ew_read_text(r, &kind)) return false;
        for (int i = 0; i < 6; i++)
            if (ew_str_eq(kind, kind_names[i])) t->kind = (ew_kind)(i + 1);
        return t->kind != 0;
    }
    if (ew_str_eq(key, "actor")) return decode_actor(r, t);
    if (ew_str_eq(key, "now_ms")) return ew_read_int(r, &t->now_ms);
    if (ew_str_eq(key, "action")) return ew_read_text(r, &t->action);
    if (ew_str_eq(key, "alarm")) return ew_read_text(r, &t->alarm);
    if (ew_str_eq(key, "args")) return ew_peek(r) == EW_CBOR_ARRAY && ew_read_raw(r, &t->args);
    if (ew_str_eq(key, "input")) return ew_read_raw(r, &t->input);
    if (ew_str_eq(key, "params")) return ew_read_raw(r, &t->params);
    if (ew_str_eq(key, "payload")) return ew_read_raw(r, &t->payload);
    if (ew_str_eq(key, "conn")) {
        if (ew_peek(r) == EW_CBOR_NULL) return ew_read_null(r);
        int64_t conn;
        if (!ew_read_int(r, &conn) || conn < 0) return false;
        t->has_conn = true;
        t->conn = (uint64_t)conn;
        return true;
    }
    return ew_skip(r);
}

static bool decode_envelope(ew_str data, ew_turn *t) {
    ew_reader r = ew_reader_of(data);
    uint32_t n;
    if (!ew_read_map(&r, &n)) return false;
    for (uint32_t i = 0; i < n; i++) {
        ew_str key;
        if (!ew_read_text(&r, &key) || !decode_field(&r, key, t)) return false;
    }
    return t->kind != 0 && r.pos == r.end;
}

static ew_str or_default(ew_str raw, const uint8_t *fallback) {
    return raw.ptr ? raw : (ew_str){fallback, 1};
}

static void dispatch(ew_turn *t) {
    ew_reader r;
    switch (t->kind) {
    case EW_KIND_CREATE:
        r = ew_reader_of(or_default(t->input, cbor_null));
        ew_on_create(t, &r);
        break;
    case EW_KIND_WAKE: ew_on_wake(t); break;
    case EW_KIND_ACTION: {
        uint32_t argc = 0;
        r = ew_reader_of(or_default(t->args, cbor_empty_array));
        ew_read_array(&r, &argc);
        ew_on_action(t, t->action, &r, argc);
        break;
    }
    case EW_KIND_CONNECT:
        r = ew_reader_of(or_default(t->params, cbor_null));
        ew_on_connect(t, &r);
        break;
    case EW_KIND_DISCONNECT: ew_on_disconnect(t); break;
    case EW_KIND_ALARM:
        r = ew_reader_of(or_default(t->payload, cbor_null));
        ew_on_alarm(t, t->alarm, &r);
        break;
    }
}

static void put_section(ew_writer *out, const char *key, ew_writer *part, bool array) {
    ew_write_cstr(out, key);
    if (array) ew_write_array(out, part->items);
    ew_write_raw(out, ew_writer_bytes(part));
    if (part->failed) out->failed = true;
}

static ew_str encode_result(ew_turn *t) {
    ew_writer *out = ew_writer_new();
    if (out == NULL) __builtin_trap();
    uint32_t n = (t->reply != REPLY_NONE) + t->has_refuse + (t->broadcast.items > 0) +
                 (t->send.items > 0) + (t->set_alarms.items > 0) + (t->cancel_alarms.items > 0) +
                 t->sleep + t->destroy;
    ew_write_map(out, n);
    if (t->reply == REPLY_OK) put_section(out, "ok", &t->ok, false);
    if (t->reply == REPLY_ERROR) put_section(out, "error", &t->error, false);
    if (t->has_refuse) put_section(out, "refuse", &t->refuse, false);
    if (t->broadcast.items) put_section(out, "broadcast", &t->broadcast, true);
    if (t->send.items) put_section(out, "send", &t->send, true);
    if (t->set_alarms.items) put_section(out, "set_alarms", &t->set_alarms, true);
    if (t->cancel_alarms.items) put_section(out, "cancel_alarms", &t->cancel_alarms, true);
    if (t->sleep) {
        ew_write_cstr(out, "sleep");
        ew_write_bool(out, true);
    }
    if (t->destroy) {
        ew_write_cstr(out, "destroy");
        ew_write_bool(out, true);
    }
    if (out->failed) __builtin_trap();
    return ew_writer_bytes(out);
}

EW_EXPORT("ew_turn") uint64_t ew_turn_entry(const uint8_t *ptr, uint32_t len) {
    ew_turn *t = &the_turn;
    memset(t, 0, sizeof(*t));
    if (!decode_envelope((ew_str){ptr, len}, t)) {
        memset(t, 0, sizeof(*t));
        ew_reply_error(t, "bad_envelope", "the SDK could not decode the turn envelope");
    } else {
        dispatch(t);
    }
    ew_str result = encode_result(t);
    turn_finished = true;
    return ((uint64_t)(uintptr_t)result.ptr << 32) | result.len;
}

/* ---- default hooks -------------------------------------------------------------------------- */

EW_WEAK void ew_on_create(ew_turn *t, ew_reader *input) {
    (void)t;
    (void)input;
}

EW_WEAK void ew_on_wake(ew_turn *t) { (void)t; }

EW_WEAK void ew_on_action(ew_turn *t, ew_str name, ew_reader *args, uint32_t argc) {
    (void)name;
    (void)args;
    (void)argc;
    ew_reply_error(t, "unknown_action", "this actor has no actions");
}

EW_WEAK void ew_on_connect(ew_turn *t, ew_reader *params) {
    (void)t;
    (void)params;
}

EW_WEAK void ew_on_disconnect(ew_turn *t) { (void)t; }

EW_WEAK void ew_on_alarm(ew_turn *t, ew_str name, ew_reader *payload) {
    (void)t;
    (void)name;
    (void)payload;
}

/* ---- host imports --------------------------------------------------------------------------- */

int32_t ew_kv_get(ew_str key, ew_str *value) {
    uint32_t cap = 256;
    for (int attempt = 0; attempt < 4; attempt++) {
        uint8_t *buf = ew_arena_alloc(cap);
        if (buf == NULL) return EW_NO_MEMORY;
        int32_t n = ew_host_kv_get(key.ptr, key.len, buf, cap);
        if (n < 0) return n;
        if ((uint32_t)n <= cap) {
            *value = (ew_str){buf, (uint32_t)n};
            return 0;
        }
        cap = (uint32_t)n;
    }
    return EW_INVALID;
}

int32_t ew_kv_put(ew_str key, ew_str value) {
    return ew_host_kv_put(key.ptr, key.len, value.ptr, value.len);
}

int32_t ew_kv_delete(ew_str key) { return ew_host_kv_delete(key.ptr, key.len); }

static bool fetch_page(ew_kv_iter *it) {
    uint32_t cap = 4096;
    for (int attempt = 0; attempt < 4; attempt++) {
        uint8_t *buf = ew_arena_alloc(cap);
        if (buf == NULL) {
            it->error = EW_NO_MEMORY;
            return false;
        }
        int32_t n = ew_host_kv_list(it->prefix.ptr, it->prefix.len, it->after.ptr, it->after.len,
                                    it->page_size, buf, cap);
        if (n < 0) {
            it->error = n;
            return false;
        }
        if ((uint32_t)n <= cap) {
            it->page = ew_reader_of((ew_str){buf, (uint32_t)n});
            if (!ew_read_array(&it->page, &it->left_in_page)) {
                it->error = EW_INVALID;
                return false;
            }
            it->last_page = it->left_in_page < it->page_size;
            return true;
        }
        cap = (uint32_t)n;
    }
    it->error = EW_INVALID;
    return false;
}

void ew_kv_list(ew_kv_iter *it, ew_str prefix, ew_str start_after, uint32_t page_size) {
    memset(it, 0, sizeof(*it));
    it->prefix = prefix;
    it->after = start_after;
    it->page_size = page_size < 1 ? 1 : page_size > 1000 ? 1000 : page_size;
}

bool ew_kv_next(ew_kv_iter *it, ew_str *key, ew_str *value) {
    if (it->error) return false;
    if (it->left_in_page == 0) {
        if (it->page.pos != NULL && it->last_page) return false;
        if (!fetch_page(it) || it->left_in_page == 0) return false;
    }
    uint32_t pair;
    if (!ew_read_array(&it->page, &pair) || pair != 2 || !ew_read_bytes(&it->page, key) ||
        !ew_read_bytes(&it->page, value)) {
        it->error = EW_INVALID;
        return false;
    }
    it->left_in_page--;
    it->after = *key;
    return true;
}

int64_t ew_kv_get_int(ew_str key, int64_t fallback) {
    ew_str raw;
    if (ew_kv_get(key, &raw) != 0) return fallback;
    ew_reader r = ew_reader_of(raw);
    int64_t v;
    return ew_read_int(&r, &v) ? v : fallback;
}

int32_t ew_kv_put_int(ew_str key, int64_t value) {
    ew_writer w = {0};
    ew_write_int(&w, value);
    if (w.failed) return EW_NO_MEMORY;
    return ew_kv_put(key, ew_writer_bytes(&w));
}

void ew_log_str(int32_t level, ew_str message) { ew_host_log(level, message.ptr, message.len); }
void ew_log(int32_t level, const char *message) { ew_log_str(level, ew_cstr(message)); }
int64_t ew_now_ms(void) { return ew_host_now_ms(); }

void ew_random(void *dst, uint32_t len) {
    uint8_t *p = dst;
    while (len > 0) {
        uint32_t n = len > 65536 ? 65536 : len;
        ew_host_random(p, n);
        p += n;
        len -= n;
    }
}
