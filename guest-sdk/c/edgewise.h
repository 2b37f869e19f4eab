/* Edgewise guest SDK for C (guest ABI v1, wasm32-freestanding, no libc).
 *
 * Link every .c file of this folder into your actor and define the hooks you need (every hook has
 * a weak default):
 *
 *   void ew_on_create(ew_turn *t, ew_reader *input);
 *   void ew_on_wake(ew_turn *t);
 *   void ew_on_action(ew_turn *t, ew_str name, ew_reader *args, uint32_t argc);
 *   void ew_on_connect(ew_turn *t, ew_reader *params);
 *   void ew_on_disconnect(ew_turn *t);
 *   void ew_on_alarm(ew_turn *t, ew_str name, ew_reader *payload);
 *
 * The default ew_on_action replies with error code "unknown_action"; the default ew_on_connect
 * accepts. Everything a turn wants to happen (reply, events, alarms, sleep, destroy) goes through
 * the ew_turn functions below and is returned to the host as one CBOR result. All memory the SDK
 * hands out lives in a per-turn arena: it is valid until the end of the turn.
 */
#ifndef EDGEWISE_H
#define EDGEWISE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- byte strings --------------------------------------------------------------------------- */

typedef struct {
    const uint8_t *ptr;
    uint32_t len;
} ew_str;

ew_str ew_cstr(const char *s);                 /* a NUL-terminated string, without the NUL */
bool ew_str_eq(ew_str a, const char *b);       /* a equals the NUL-terminated b */
void *ew_arena_alloc(uint32_t size);           /* per-turn memory, 8-aligned; NULL when full */

/* ---- CBOR reader ---------------------------------------------------------------------------- */

typedef enum {
    EW_CBOR_INVALID = 0,
    EW_CBOR_INT,
    EW_CBOR_BYTES,
    EW_CBOR_TEXT,
    EW_CBOR_ARRAY,
    EW_CBOR_MAP,
    EW_CBOR_BOOL,
    EW_CBOR_NULL,
    EW_CBOR_FLOAT,
    EW_CBOR_TAG,
    EW_CBOR_UNDEFINED,
    EW_CBOR_END
} ew_cbor_type;

typedef struct {
    const uint8_t *pos;
    const uint8_t *end;
    bool failed;                               /* set by any read that did not match */
} ew_reader;

ew_reader ew_reader_of(ew_str data);
ew_cbor_type ew_peek(const ew_reader *r);
bool ew_read_int(ew_reader *r, int64_t *out);  /* major 0/1 within int64 */
bool ew_read_text(ew_reader *r, ew_str *out);
bool ew_read_bytes(ew_reader *r, ew_str *out);
bool ew_read_bool(ew_reader *r, bool *out);
bool ew_read_null(ew_reader *r);
bool ew_read_float(ew_reader *r, double *out); /* half, single, double (and ints) */
bool ew_read_array(ew_reader *r, uint32_t *count);
bool ew_read_map(ew_reader *r, uint32_t *count);
bool ew_skip(ew_reader *r);                    /* one whole item, nested ones included */
bool ew_read_raw(ew_reader *r, ew_str *item);  /* the encoded bytes of one whole item */

/* ---- CBOR writer (definite lengths: say the count, then write that many items) --------------- */

typedef struct {
    uint8_t *buf;
    uint32_t len;
    uint32_t cap;
    uint32_t items;                            /* top-level entries added through ew_turn calls */
    bool failed;                               /* out of memory */
} ew_writer;

void ew_write_int(ew_writer *w, int64_t v);
void ew_write_uint(ew_writer *w, uint64_t v);
void ew_write_text(ew_writer *w, ew_str s);
void ew_write_cstr(ew_writer *w, const char *s);
void ew_write_bytes(ew_writer *w, ew_str b);
void ew_write_bool(ew_writer *w, bool v);
void ew_write_null(ew_writer *w);
void ew_write_float(ew_writer *w, double v);
void ew_write_array(ew_writer *w, uint32_t count);
void ew_write_map(ew_writer *w, uint32_t count);
void ew_write_raw(ew_writer *w, ew_str item);  /* an already encoded item */
ew_str ew_writer_bytes(const ew_writer *w);
ew_writer *ew_writer_new(void);                /* a scratch writer in the turn's arena */

/* ---- the turn ------------------------------------------------------------------------------- */

typedef enum {
    EW_KIND_CREATE = 1,
    EW_KIND_WAKE,
    EW_KIND_ACTION,
    EW_KIND_CONNECT,
    EW_KIND_DISCONNECT,
    EW_KIND_ALARM
} ew_kind;

typedef struct ew_turn ew_turn;

ew_kind ew_turn_kind(const ew_turn *t);
int64_t ew_turn_now_ms(const ew_turn *t);      /* host time at the start of the turn */
ew_str ew_actor_id(const ew_turn *t);
ew_str ew_actor_name(const ew_turn *t);
ew_reader ew_actor_key(const ew_turn *t);      /* reader over the key array of text */
bool ew_turn_conn(const ew_turn *t, uint64_t *conn); /* false when the turn has no connection */

/* Reply. ew_reply_ok returns the writer for exactly one value. Last call wins. */
ew_writer *ew_reply_ok(ew_turn *t);
void ew_reply_ok_null(ew_turn *t);
void ew_reply_error(ew_turn *t, const char *code, const char *message);
void ew_refuse(ew_turn *t, const char *reason);  /* connect turns only */

/* Events. Each returns the writer for exactly `argc` argument values. */
ew_writer *ew_broadcast(ew_turn *t, const char *name, uint32_t argc);
ew_writer *ew_send(ew_turn *t, uint64_t conn, const char *name, uint32_t argc);

/* Alarms. ew_set_alarm_with returns the writer for exactly one payload value. */
void ew_set_alarm(ew_turn *t, ew_str name, int64_t at_ms);
ew_writer *ew_set_alarm_with(ew_turn *t, ew_str name, int64_t at_ms);
void ew_cancel_alarm(ew_turn *t, ew_str name);

void ew_sleep(ew_turn *t);
void ew_destroy(ew_turn *t);

/* ---- host imports --------------------------------------------------------------------------- */

#define EW_NOT_FOUND (-1)
#define EW_VALUE_TOO_LARGE (-2)
#define EW_KEY_TOO_LARGE (-3)
#define EW_INVALID (-5)
#define EW_NO_MEMORY (-100)

int32_t ew_kv_get(ew_str key, ew_str *value);  /* 0 found, EW_NOT_FOUND, or another error */
int32_t ew_kv_put(ew_str key, ew_str value);
int32_t ew_kv_delete(ew_str key);

typedef struct {
    ew_str prefix;
    ew_str after;                              /* last key seen (empty: from the start) */
    uint32_t page_size;
    ew_reader page;
    uint32_t left_in_page;
    bool last_page;
    int32_t error;                             /* nonzero when a host call failed */
} ew_kv_iter;

/* Iterate keys starting with `prefix`, strictly after `start_after` (empty: from the start). */
void ew_kv_list(ew_kv_iter *it, ew_str prefix, ew_str start_after, uint32_t page_size);
bool ew_kv_next(ew_kv_iter *it, ew_str *key, ew_str *value);

/* Typed helpers: a value stored as one CBOR integer. */
int64_t ew_kv_get_int(ew_str key, int64_t fallback);
int32_t ew_kv_put_int(ew_str key, int64_t value);

#define EW_DEBUG 0
#define EW_INFO 1
#define EW_WARN 2
#define EW_ERROR 3
void ew_log(int32_t level, const char *message);
void ew_log_str(int32_t level, ew_str message);
int64_t ew_now_ms(void);
void ew_random(void *dst, uint32_t len);

/* ---- hooks (define the ones you need) -------------------------------------------------------- */

void ew_on_create(ew_turn *t, ew_reader *input);
void ew_on_wake(ew_turn *t);
void ew_on_action(ew_turn *t, ew_str name, ew_reader *args, uint32_t argc);
void ew_on_connect(ew_turn *t, ew_reader *params);
void ew_on_disconnect(ew_turn *t);
void ew_on_alarm(ew_turn *t, ew_str name, ew_reader *payload);

/* ---- small libc pieces the compiler may call ------------------------------------------------ */

void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);

#ifdef __cplusplus
}
#endif

#endif
