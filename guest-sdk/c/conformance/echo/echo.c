/* Conformance actor: replies with the envelope as the SDK decoded it, every value re-encoded item by
 * item through the reader and the writer, so that the reply equals the envelope it was given. */
#include "edgewise.h"

static bool copy_item(ew_reader *r, ew_writer *w, int depth) {
    ew_str s;
    int64_t i;
    double f;
    bool b;
    uint32_t n;
    if (depth > 32) return false;
    switch (ew_peek(r)) {
    case EW_CBOR_INT: return ew_read_int(r, &i) && (ew_write_int(w, i), true);
    case EW_CBOR_TEXT: return ew_read_text(r, &s) && (ew_write_text(w, s), true);
    case EW_CBOR_BYTES: return ew_read_bytes(r, &s) && (ew_write_bytes(w, s), true);
    case EW_CBOR_BOOL: return ew_read_bool(r, &b) && (ew_write_bool(w, b), true);
    case EW_CBOR_NULL: return ew_read_null(r) && (ew_write_null(w), true);
    case EW_CBOR_FLOAT: return ew_read_float(r, &f) && (ew_write_float(w, f), true);
    case EW_CBOR_ARRAY:
        if (!ew_read_array(r, &n)) return false;
        ew_write_array(w, n);
        for (uint32_t k = 0; k < n; k++)
            if (!copy_item(r, w, depth + 1)) return false;
        return true;
    case EW_CBOR_MAP:
        if (!ew_read_map(r, &n)) return false;
        ew_write_map(w, n);
        for (uint32_t k = 0; k < 2 * n; k++)
            if (!copy_item(r, w, depth + 1)) return false;
        return true;
    default: return false;
    }
}

static void copy_or_fail(ew_turn *t, ew_reader *r, ew_writer *w) {
    if (!copy_item(r, w, 0)) ew_reply_error(t, "copy_failed", "a value did not copy");
}

static ew_writer *begin(ew_turn *t, const char *kind, uint32_t extra, bool with_conn) {
    ew_writer *w = ew_reply_ok(t);
    ew_write_map(w, 3 + extra + with_conn);
    ew_write_cstr(w, "kind");
    ew_write_cstr(w, kind);
    ew_write_cstr(w, "actor");
    ew_write_map(w, 3);
    ew_write_cstr(w, "id");
    ew_write_text(w, ew_actor_id(t));
    ew_write_cstr(w, "name");
    ew_write_text(w, ew_actor_name(t));
    ew_write_cstr(w, "key");
    ew_reader key = ew_actor_key(t);
    copy_or_fail(t, &key, w);
    ew_write_cstr(w, "now_ms");
    ew_write_int(w, ew_turn_now_ms(t));
    if (with_conn) {
        uint64_t conn;
        ew_write_cstr(w, "conn");
        if (ew_turn_conn(t, &conn)) ew_write_uint(w, conn);
        else ew_write_null(w);
    }
    return w;
}

void ew_on_create(ew_turn *t, ew_reader *input) {
    ew_writer *w = begin(t, "create", 1, false);
    ew_write_cstr(w, "input");
    copy_or_fail(t, input, w);
}

void ew_on_wake(ew_turn *t) { begin(t, "wake", 0, false); }

void ew_on_action(ew_turn *t, ew_str name, ew_reader *args, uint32_t argc) {
    ew_writer *w = begin(t, "action", 2, true);
    ew_write_cstr(w, "action");
    ew_write_text(w, name);
    ew_write_cstr(w, "args");
    ew_write_array(w, argc);
    for (uint32_t i = 0; i < argc; i++) copy_or_fail(t, args, w);
}

void ew_on_connect(ew_turn *t, ew_reader *params) {
    ew_writer *w = begin(t, "connect", 1, true);
    ew_write_cstr(w, "params");
    copy_or_fail(t, params, w);
}

void ew_on_disconnect(ew_turn *t) { begin(t, "disconnect", 0, true); }

void ew_on_alarm(ew_turn *t, ew_str name, ew_reader *payload) {
    ew_writer *w = begin(t, "alarm", 2, false);
    ew_write_cstr(w, "alarm");
    ew_write_text(w, name);
    ew_write_cstr(w, "payload");
    copy_or_fail(t, payload, w);
}
