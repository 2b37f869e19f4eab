/* A counter actor: the count lives in KV under "count"; every change is broadcast as newCount. */
#include "edgewise.h"

static const char COUNT_KEY[] = "count";

static int64_t add_to_count(ew_turn *t, int64_t n) {
    int64_t count = ew_kv_get_int(ew_cstr(COUNT_KEY), 0) + n;
    ew_kv_put_int(ew_cstr(COUNT_KEY), count);
    ew_write_int(ew_broadcast(t, "newCount", 1), count);
    return count;
}

static bool read_ints(ew_reader *args, uint32_t argc, uint32_t want, int64_t *out) {
    if (argc != want) return false;
    for (uint32_t i = 0; i < want; i++)
        if (!ew_read_int(args, &out[i])) return false;
    return true;
}

void ew_on_action(ew_turn *t, ew_str name, ew_reader *args, uint32_t argc) {
    int64_t v[2];
    if (ew_str_eq(name, "increment")) {
        if (!read_ints(args, argc, 1, v)) ew_reply_error(t, "bad_args", "increment(n: int)");
        else ew_write_int(ew_reply_ok(t), add_to_count(t, v[0]));
    } else if (ew_str_eq(name, "get")) {
        if (argc != 0) ew_reply_error(t, "bad_args", "get() takes no arguments");
        else ew_write_int(ew_reply_ok(t), ew_kv_get_int(ew_cstr(COUNT_KEY), 0));
    } else if (ew_str_eq(name, "increment_later")) {
        if (!read_ints(args, argc, 2, v) || v[0] < 0) {
            ew_reply_error(t, "bad_args", "increment_later(delay_ms: int >= 0, n: int)");
            return;
        }
        /* a unique name, so that several pending increments do not replace each other */
        char alarm[32] = "increment_later/";
        uint8_t tag[8];
        ew_random(tag, sizeof tag);
        for (int i = 0; i < 8; i++) {
            alarm[16 + 2 * i] = "0123456789abcdef"[tag[i] >> 4];
            alarm[17 + 2 * i] = "0123456789abcdef"[tag[i] & 15];
        }
        ew_str alarm_name = {(const uint8_t *)alarm, sizeof alarm};
        ew_write_int(ew_set_alarm_with(t, alarm_name, ew_turn_now_ms(t) + v[0]), v[1]);
        ew_write_text(ew_reply_ok(t), alarm_name);
    } else {
        ew_reply_error(t, "unknown_action", "counter has increment, get and increment_later");
    }
}

void ew_on_alarm(ew_turn *t, ew_str name, ew_reader *payload) {
    int64_t n;
    if (ew_read_int(payload, &n)) add_to_count(t, n);
    else ew_log_str(EW_WARN, name);
}
