/* Edgewise guest SDK for C: the ABI v1 exports, the arena, the turn and its result.
 *
 * Memory is one bump arena above __heap_base, grown with memory.grow. The host calls ew_alloc for
 * the envelope, then ew_turn; the first ew_alloc after a finished turn resets the arena, so the
 * envelope, everything a turn allocates and the result stay valid until the host has copied the
 * result out. ew_turn decodes the envelope (spec section 2), calls one hook, then encodes the
 * pieces the hook gathered into one result map (spec section 4). The CBOR codec is in cbor.c and
 * the host-import wrappers in host_imports.c.
 */
#include "edgewise.h"

#define EW_EXPORT(name) __attribute__((export_name(name)))
#define EW_WEAK __attribute__((weak))

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
