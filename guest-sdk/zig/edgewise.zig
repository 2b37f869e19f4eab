//! Edgewise guest SDK for Zig (guest ABI v1): a thin idiomatic layer over the C SDK
//! (guest-sdk/c/*.c), which owns the exports, the arena, the CBOR codec and the turn result.
//!
//! Usage, in the actor's root file:
//!
//!     const ew = @import("edgewise");
//!     comptime { ew.exportHooks(@This()); }
//!     pub fn onAction(t: *ew.Turn, name: []const u8, args: *ew.Reader, argc: u32) void { ... }
//!
//! Hooks (each optional): onCreate(t, input), onWake(t), onAction(t, name, args, argc),
//! onConnect(t, params), onDisconnect(t), onAlarm(t, name, payload). Slices handed out by the
//! SDK live in the turn's arena: they are valid until the end of the turn.

const std = @import("std");

/// A byte string as the C SDK passes it.
pub const Str = extern struct {
    ptr: ?[*]const u8 = null,
    len: u32 = 0,

    pub fn of(bytes: []const u8) Str {
        return .{ .ptr = bytes.ptr, .len = @intCast(bytes.len) };
    }

    pub fn slice(self: Str) []const u8 {
        return if (self.ptr) |p| p[0..self.len] else &.{};
    }
};

pub const CborType = enum(c_int) {
    invalid = 0,
    int,
    bytes,
    text,
    array,
    map,
    boolean,
    null,
    float,
    tag,
    undefined,
    end,
};

/// Reads CBOR items one after another. Each read returns null (and sets `failed`) on a mismatch.
pub const Reader = extern struct {
    pos: ?[*]const u8 = null,
    end: ?[*]const u8 = null,
    failed: bool = false,

    pub fn of(data: []const u8) Reader {
        return ew_reader_of(Str.of(data));
    }
    pub fn peek(r: *const Reader) CborType {
        return ew_peek(r);
    }
    pub fn int(r: *Reader) ?i64 {
        var v: i64 = 0;
        return if (ew_read_int(r, &v)) v else null;
    }
    pub fn text(r: *Reader) ?[]const u8 {
        var s: Str = .{};
        return if (ew_read_text(r, &s)) s.slice() else null;
    }
    pub fn bytes(r: *Reader) ?[]const u8 {
        var s: Str = .{};
        return if (ew_read_bytes(r, &s)) s.slice() else null;
    }
    pub fn boolean(r: *Reader) ?bool {
        var v = false;
        return if (ew_read_bool(r, &v)) v else null;
    }
    pub fn float(r: *Reader) ?f64 {
        var v: f64 = 0;
        return if (ew_read_float(r, &v)) v else null;
    }
    /// True when the next item was null (and it was consumed).
    pub fn nil(r: *Reader) bool {
        return ew_read_null(r);
    }
    pub fn array(r: *Reader) ?u32 {
        var n: u32 = 0;
        return if (ew_read_array(r, &n)) n else null;
    }
    pub fn map(r: *Reader) ?u32 {
        var n: u32 = 0;
        return if (ew_read_map(r, &n)) n else null;
    }
    pub fn skip(r: *Reader) bool {
        return ew_skip(r);
    }
    /// The encoded bytes of the next whole item.
    pub fn raw(r: *Reader) ?[]const u8 {
        var s: Str = .{};
        return if (ew_read_raw(r, &s)) s.slice() else null;
    }
};

/// Writes CBOR with definite lengths: give the count of an array or map, then its items.
pub const Writer = extern struct {
    buf: ?[*]u8 = null,
    len: u32 = 0,
    cap: u32 = 0,
    items: u32 = 0,
    failed: bool = false,

    /// A scratch writer in the turn's arena (null when memory is exhausted).
    pub fn new() ?*Writer {
        return ew_writer_new();
    }
    pub fn int(w: *Writer, v: i64) void {
        ew_write_int(w, v);
    }
    pub fn uint(w: *Writer, v: u64) void {
        ew_write_uint(w, v);
    }
    pub fn text(w: *Writer, s: []const u8) void {
        ew_write_text(w, Str.of(s));
    }
    pub fn bytes(w: *Writer, b: []const u8) void {
        ew_write_bytes(w, Str.of(b));
    }
    pub fn boolean(w: *Writer, v: bool) void {
        ew_write_bool(w, v);
    }
    pub fn nil(w: *Writer) void {
        ew_write_null(w);
    }
    pub fn float(w: *Writer, v: f64) void {
        ew_write_float(w, v);
    }
    pub fn array(w: *Writer, count: u32) void {
        ew_write_array(w, count);
    }
    pub fn map(w: *Writer, count: u32) void {
        ew_write_map(w, count);
    }
    /// An item that is already CBOR-encoded.
    pub fn raw(w: *Writer, item: []const u8) void {
        ew_write_raw(w, Str.of(item));
    }
    pub fn written(w: *const Writer) []const u8 {
        return if (w.buf) |b| b[0..w.len] else &.{};
    }
};

pub const Kind = enum(c_int) { create = 1, wake, action, connect, disconnect, alarm };

/// The turn being run: who the actor is, and everything it wants to happen.
pub const Turn = opaque {
    pub fn kind(t: *const Turn) Kind {
        return ew_turn_kind(t);
    }
    pub fn nowMs(t: *const Turn) i64 {
        return ew_turn_now_ms(t);
    }
    pub fn actorId(t: *const Turn) []const u8 {
        return ew_actor_id(t).slice();
    }
    pub fn actorName(t: *const Turn) []const u8 {
        return ew_actor_name(t).slice();
    }
    /// A reader over the actor key (an array of text).
    pub fn actorKey(t: *const Turn) Reader {
        return ew_actor_key(t);
    }
    /// The connection of this turn, or null (an action over plain HTTP, a create, ...).
    pub fn conn(t: *const Turn) ?u64 {
        var c: u64 = 0;
        return if (ew_turn_conn(t, &c)) c else null;
    }
    /// Returns the writer for exactly one reply value.
    pub fn replyOk(t: *Turn) *Writer {
        return ew_reply_ok(t);
    }
    pub fn replyNull(t: *Turn) void {
        ew_reply_ok_null(t);
    }
    /// `code` must match [a-z][a-z0-9_.]{0,63}; clients see it as user.<code>.
    pub fn replyError(t: *Turn, code: [*:0]const u8, message: [*:0]const u8) void {
        ew_reply_error(t, code, message);
    }
    /// On connect turns: refuse the connection with this reason.
    pub fn refuse(t: *Turn, reason: [*:0]const u8) void {
        ew_refuse(t, reason);
    }
    /// Returns the writer for exactly `argc` argument values.
    pub fn broadcast(t: *Turn, name: [*:0]const u8, argc: u32) *Writer {
        return ew_broadcast(t, name, argc);
    }
    /// Returns the writer for exactly `argc` argument values.
    pub fn send(t: *Turn, to: u64, name: [*:0]const u8, argc: u32) *Writer {
        return ew_send(t, to, name, argc);
    }
    pub fn setAlarm(t: *Turn, name: []const u8, at_ms: i64) void {
        ew_set_alarm(t, Str.of(name), at_ms);
    }
    /// Returns the writer for exactly one payload value.
    pub fn setAlarmWith(t: *Turn, name: []const u8, at_ms: i64) *Writer {
        return ew_set_alarm_with(t, Str.of(name), at_ms);
    }
    pub fn cancelAlarm(t: *Turn, name: []const u8) void {
        ew_cancel_alarm(t, Str.of(name));
    }
    pub fn sleep(t: *Turn) void {
        ew_sleep(t);
    }
    pub fn destroy(t: *Turn) void {
        ew_destroy(t);
    }
};

pub const KvError = error{ ValueTooLarge, KeyTooLarge, InvalidArgument, OutOfMemory, HostError };

fn kvError(code: i32) KvError {
    return switch (code) {
        -2 => error.ValueTooLarge,
        -3 => error.KeyTooLarge,
        -5 => error.InvalidArgument,
        -100 => error.OutOfMemory,
        else => error.HostError,
    };
}

/// The actor's private key-value store. Reads see this turn's own writes.
pub const kv = struct {
    pub fn get(key: []const u8) KvError!?[]const u8 {
        var value: Str = .{};
        const rc = ew_kv_get(Str.of(key), &value);
        if (rc == -1) return null;
        if (rc != 0) return kvError(rc);
        return value.slice();
    }
    pub fn put(key: []const u8, value: []const u8) KvError!void {
        const rc = ew_kv_put(Str.of(key), Str.of(value));
        if (rc != 0) return kvError(rc);
    }
    pub fn delete(key: []const u8) KvError!void {
        const rc = ew_kv_delete(Str.of(key));
        if (rc != 0) return kvError(rc);
    }
    /// A value stored as one CBOR integer, or `fallback`.
    pub fn getInt(key: []const u8, fallback: i64) i64 {
        return ew_kv_get_int(Str.of(key), fallback);
    }
    pub fn putInt(key: []const u8, value: i64) KvError!void {
        const rc = ew_kv_put_int(Str.of(key), value);
        if (rc != 0) return kvError(rc);
    }
    /// Keys starting with `prefix`, strictly after `start_after` ("" for all), in key order,
    /// fetched from the host `page_size` (1..1000) at a time.
    pub fn list(prefix: []const u8, start_after: []const u8, page_size: u32) Iterator {
        var it: Iterator = undefined;
        ew_kv_list(&it, Str.of(prefix), Str.of(start_after), page_size);
        return it;
    }

    pub const Entry = struct { key: []const u8, value: []const u8 };

    pub const Iterator = extern struct {
        prefix: Str,
        after: Str,
        page_size: u32,
        page: Reader,
        left_in_page: u32,
        last_page: bool,
        @"error": i32,

        pub fn next(it: *Iterator) KvError!?Entry {
            var key: Str = .{};
            var value: Str = .{};
            if (ew_kv_next(it, &key, &value)) return .{ .key = key.slice(), .value = value.slice() };
            if (it.@"error" != 0) return kvError(it.@"error");
            return null;
        }
    };
};

pub const Level = enum(i32) { debug = 0, info = 1, warn = 2, err = 3 };

pub fn log(level: Level, message: []const u8) void {
    ew_log_str(@intFromEnum(level), Str.of(message));
}

pub fn nowMs() i64 {
    return ew_now_ms();
}

pub fn random(dst: []u8) void {
    ew_random(dst.ptr, @intCast(dst.len));
}

/// Per-turn memory from the SDK's arena (8-aligned), or null when memory is exhausted.
pub fn alloc(size: u32) ?[]u8 {
    const p: ?[*]u8 = @ptrCast(ew_arena_alloc(size));
    return if (p) |q| q[0..size] else null;
}

/// Exports the hooks that `H` declares as the C SDK's ew_on_* functions.
pub fn exportHooks(comptime H: type) void {
    const Shims = struct {
        fn create(t: *Turn, input: *Reader) callconv(.c) void {
            H.onCreate(t, input);
        }
        fn wake(t: *Turn) callconv(.c) void {
            H.onWake(t);
        }
        fn action(t: *Turn, name: Str, args: *Reader, argc: u32) callconv(.c) void {
            H.onAction(t, name.slice(), args, argc);
        }
        fn connect(t: *Turn, params: *Reader) callconv(.c) void {
            H.onConnect(t, params);
        }
        fn disconnect(t: *Turn) callconv(.c) void {
            H.onDisconnect(t);
        }
        fn alarm(t: *Turn, name: Str, payload: *Reader) callconv(.c) void {
            H.onAlarm(t, name.slice(), payload);
        }
    };
    if (@hasDecl(H, "onCreate")) @export(&Shims.create, .{ .name = "ew_on_create" });
    if (@hasDecl(H, "onWake")) @export(&Shims.wake, .{ .name = "ew_on_wake" });
    if (@hasDecl(H, "onAction")) @export(&Shims.action, .{ .name = "ew_on_action" });
    if (@hasDecl(H, "onConnect")) @export(&Shims.connect, .{ .name = "ew_on_connect" });
    if (@hasDecl(H, "onDisconnect")) @export(&Shims.disconnect, .{ .name = "ew_on_disconnect" });
    if (@hasDecl(H, "onAlarm")) @export(&Shims.alarm, .{ .name = "ew_on_alarm" });
}

// ---- the C SDK ---------------------------------------------------------------------------------

extern fn ew_arena_alloc(size: u32) ?*anyopaque;
extern fn ew_reader_of(data: Str) Reader;
extern fn ew_peek(r: *const Reader) CborType;
extern fn ew_read_int(r: *Reader, out: *i64) bool;
extern fn ew_read_text(r: *Reader, out: *Str) bool;
extern fn ew_read_bytes(r: *Reader, out: *Str) bool;
extern fn ew_read_bool(r: *Reader, out: *bool) bool;
extern fn ew_read_null(r: *Reader) bool;
extern fn ew_read_float(r: *Reader, out: *f64) bool;
extern fn ew_read_array(r: *Reader, count: *u32) bool;
extern fn ew_read_map(r: *Reader, count: *u32) bool;
extern fn ew_skip(r: *Reader) bool;
extern fn ew_read_raw(r: *Reader, item: *Str) bool;
extern fn ew_write_int(w: *Writer, v: i64) void;
extern fn ew_write_uint(w: *Writer, v: u64) void;
extern fn ew_write_text(w: *Writer, s: Str) void;
extern fn ew_write_bytes(w: *Writer, b: Str) void;
extern fn ew_write_bool(w: *Writer, v: bool) void;
extern fn ew_write_null(w: *Writer) void;
extern fn ew_write_float(w: *Writer, v: f64) void;
extern fn ew_write_array(w: *Writer, count: u32) void;
extern fn ew_write_map(w: *Writer, count: u32) void;
extern fn ew_write_raw(w: *Writer, item: Str) void;
extern fn ew_writer_new() ?*Writer;
extern fn ew_turn_kind(t: *const Turn) Kind;
extern fn ew_turn_now_ms(t: *const Turn) i64;
extern fn ew_actor_id(t: *const Turn) Str;
extern fn ew_actor_name(t: *const Turn) Str;
extern fn ew_actor_key(t: *const Turn) Reader;
extern fn ew_turn_conn(t: *const Turn, conn: *u64) bool;
extern fn ew_reply_ok(t: *Turn) *Writer;
extern fn ew_reply_ok_null(t: *Turn) void;
extern fn ew_reply_error(t: *Turn, code: [*:0]const u8, message: [*:0]const u8) void;
extern fn ew_refuse(t: *Turn, reason: [*:0]const u8) void;
extern fn ew_broadcast(t: *Turn, name: [*:0]const u8, argc: u32) *Writer;
extern fn ew_send(t: *Turn, conn: u64, name: [*:0]const u8, argc: u32) *Writer;
extern fn ew_set_alarm(t: *Turn, name: Str, at_ms: i64) void;
extern fn ew_set_alarm_with(t: *Turn, name: Str, at_ms: i64) *Writer;
extern fn ew_cancel_alarm(t: *Turn, name: Str) void;
extern fn ew_sleep(t: *Turn) void;
extern fn ew_destroy(t: *Turn) void;
extern fn ew_kv_get(key: Str, value: *Str) i32;
extern fn ew_kv_put(key: Str, value: Str) i32;
extern fn ew_kv_delete(key: Str) i32;
extern fn ew_kv_list(it: *kv.Iterator, prefix: Str, start_after: Str, page_size: u32) void;
extern fn ew_kv_next(it: *kv.Iterator, key: *Str, value: *Str) bool;
extern fn ew_kv_get_int(key: Str, fallback: i64) i64;
extern fn ew_kv_put_int(key: Str, value: i64) i32;
extern fn ew_log_str(level: i32, message: Str) void;
extern fn ew_now_ms() i64;
extern fn ew_random(dst: [*]u8, len: u32) void;

comptime {
    std.debug.assert(@sizeOf(Str) == 8 and @sizeOf(Reader) == 12 and @sizeOf(Writer) == 20);
}
