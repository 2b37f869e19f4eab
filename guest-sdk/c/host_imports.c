/* Edgewise guest SDK for C: the wrappers over the host imports of guest ABI v1 (spec section 3).
 *
 * Calls that return bytes hand the host a buffer from the turn's arena and retry with the size the
 * host reports when the first buffer was too small. ew_kv_list pages through keys lazily: each
 * ew_kv_next reads one pair from the current page and fetches the next page when it runs out.
 */
#include "edgewise.h"

#define EW_IMPORT(name) __attribute__((import_module("ew"), import_name(name)))

EW_IMPORT("kv_get") int32_t ew_host_kv_get(const uint8_t *k, uint32_t kl, uint8_t *d, uint32_t cap);
EW_IMPORT("kv_put") int32_t ew_host_kv_put(const uint8_t *k, uint32_t kl, const uint8_t *v,
                                           uint32_t vl);
EW_IMPORT("kv_delete") int32_t ew_host_kv_delete(const uint8_t *k, uint32_t kl);
EW_IMPORT("kv_list") int32_t ew_host_kv_list(const uint8_t *p, uint32_t pl, const uint8_t *a,
                                             uint32_t al, uint32_t limit, uint8_t *d, uint32_t cap);
EW_IMPORT("log") void ew_host_log(int32_t level, const uint8_t *p, uint32_t len);
EW_IMPORT("now_ms") int64_t ew_host_now_ms(void);
EW_IMPORT("random") void ew_host_random(uint8_t *dst, uint32_t len);

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
