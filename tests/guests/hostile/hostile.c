/* A guest that misbehaves on request, for the node's hostile-guest tests. "set" commits a value;
 * every other action first writes over it, then fails in its own way, so a test can check that
 * the failed turn's write was dropped and the committed value is intact. */
#include "edgewise.h"

__attribute__((import_module("ew"), import_name("kv_get")))
int32_t raw_kv_get(uint32_t kptr, uint32_t klen, uint32_t dst, uint32_t cap);

static const char KEY[] = "value";
static volatile int32_t sink;

static int32_t recurse(int32_t depth) {
    volatile int32_t frame[64];
    frame[depth & 63] = depth;
    return recurse(depth + 1) + frame[(depth + 1) & 63];
}

void ew_on_action(ew_turn *t, ew_str name, ew_reader *args, uint32_t argc) {
    int64_t n = 0;
    if (ew_str_eq(name, "set") && argc == 1 && ew_read_int(args, &n)) {
        ew_kv_put_int(ew_cstr(KEY), n);
        ew_write_int(ew_reply_ok(t), n);
        return;
    }
    if (ew_str_eq(name, "get")) {
        ew_write_int(ew_reply_ok(t), ew_kv_get_int(ew_cstr(KEY), 0));
        return;
    }
    ew_kv_put_int(ew_cstr(KEY), -1); /* must never become visible */
    if (ew_str_eq(name, "loop")) {
        for (;;) sink++;
    } else if (ew_str_eq(name, "hog")) {
        while (__builtin_wasm_memory_grow(0, 16) != (__SIZE_TYPE__)-1) sink++;
        __builtin_trap();
    } else if (ew_str_eq(name, "recurse")) {
        sink = recurse(0);
    } else if (ew_str_eq(name, "trap")) {
        __builtin_trap();
    } else if (ew_str_eq(name, "bad_pointer")) {
        sink = raw_kv_get(0xFFFFFF00u, 16, 0, 0);
    } else if (ew_str_eq(name, "huge_reply")) {
        ew_writer *w = ew_reply_ok(t);
        static uint8_t big[2 * 1024 * 1024];
        ew_write_bytes(w, (ew_str){big, sizeof big});
        return;
    }
    ew_reply_error(t, "unknown_action", "no such misbehaviour");
}
