//! The counter of examples/counter (C) written in Zig, for the conformance tests that run the
//! C, Zig and Python counters alike: the count lives in KV under "count"; every change is
//! broadcast as newCount.
const std = @import("std");
const ew = @import("edgewise");

comptime {
    ew.exportHooks(@This());
}

const count_key = "count";

fn addToCount(t: *ew.Turn, n: i64) i64 {
    const count = ew.kv.getInt(count_key, 0) +% n;
    ew.kv.putInt(count_key, count) catch ew.log(.err, "could not store the count");
    t.broadcast("newCount", 1).int(count);
    return count;
}

/// Exactly `want` integer arguments, or null.
fn readInts(comptime want: u32, args: *ew.Reader, argc: u32) ?[want]i64 {
    if (argc != want) return null;
    var out: [want]i64 = undefined;
    for (&out) |*v| v.* = args.int() orelse return null;
    return out;
}

pub fn onAction(t: *ew.Turn, name: []const u8, args: *ew.Reader, argc: u32) void {
    if (std.mem.eql(u8, name, "increment")) {
        const v = readInts(1, args, argc) orelse return t.replyError("bad_args", "increment(n: int)");
        t.replyOk().int(addToCount(t, v[0]));
    } else if (std.mem.eql(u8, name, "get")) {
        if (argc != 0) return t.replyError("bad_args", "get() takes no arguments");
        t.replyOk().int(ew.kv.getInt(count_key, 0));
    } else if (std.mem.eql(u8, name, "increment_later")) {
        incrementLater(t, args, argc);
    } else {
        t.replyError("unknown_action", "counter has increment, get and increment_later");
    }
}

fn incrementLater(t: *ew.Turn, args: *ew.Reader, argc: u32) void {
    const usage = "increment_later(delay_ms: int >= 0, n: int)";
    const v = readInts(2, args, argc) orelse return t.replyError("bad_args", usage);
    if (v[0] < 0) return t.replyError("bad_args", usage);
    // a unique name, so that several pending increments do not replace each other
    var tag: [8]u8 = undefined;
    ew.random(&tag);
    var alarm: [32]u8 = undefined;
    const alarm_name = std.fmt.bufPrint(&alarm, "increment_later/{x}", .{tag}) catch unreachable;
    t.setAlarmWith(alarm_name, t.nowMs() + v[0]).int(v[1]);
    t.replyOk().text(alarm_name);
}

pub fn onAlarm(t: *ew.Turn, name: []const u8, payload: *ew.Reader) void {
    if (payload.int()) |n| {
        _ = addToCount(t, n);
    } else {
        ew.log(.warn, name);
    }
}
