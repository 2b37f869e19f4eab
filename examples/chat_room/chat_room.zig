//! A chat room actor. Connections name their user at connect; messages are kept in KV under
//! ordered keys "msg/<12-digit sequence>" and broadcast as `message` events.
const std = @import("std");
const ew = @import("edgewise");

comptime {
    ew.exportHooks(@This());
}

const max_history = 1000;

fn connKey(buf: []u8, conn: u64) []const u8 {
    return std.fmt.bufPrint(buf, "conn/{d}", .{conn}) catch unreachable;
}

fn messageKey(buf: []u8, seq: i64) []const u8 {
    return std.fmt.bufPrint(buf, "msg/{d:0>12}", .{@as(u64, @intCast(seq))}) catch unreachable;
}

/// The non-empty "user" text of the connect params, or null.
fn userOf(params: *ew.Reader) ?[]const u8 {
    const n = params.map() orelse return null;
    for (0..n) |_| {
        const key = params.text() orelse return null;
        if (std.mem.eql(u8, key, "user")) {
            const user = params.text() orelse return null;
            return if (user.len > 0) user else null;
        }
        if (!params.skip()) return null;
    }
    return null;
}

pub fn onConnect(t: *ew.Turn, params: *ew.Reader) void {
    const user = userOf(params) orelse return t.refuse("connect with params {\"user\": \"<name>\"}");
    const conn = t.conn() orelse return t.refuse("no connection");
    var buf: [32]u8 = undefined;
    ew.kv.put(connKey(&buf, conn), user) catch return t.refuse("user name too long");
}

pub fn onDisconnect(t: *ew.Turn) void {
    const conn = t.conn() orelse return;
    var buf: [32]u8 = undefined;
    ew.kv.delete(connKey(&buf, conn)) catch ew.log(.warn, "could not forget a connection");
}

pub fn onAction(t: *ew.Turn, name: []const u8, args: *ew.Reader, argc: u32) void {
    if (std.mem.eql(u8, name, "send")) {
        send(t, args, argc);
    } else if (std.mem.eql(u8, name, "history")) {
        history(t, args, argc);
    } else {
        t.replyError("unknown_action", "chat_room has send and history");
    }
}

fn send(t: *ew.Turn, args: *ew.Reader, argc: u32) void {
    const text = (if (argc == 1) args.text() else null) orelse
        return t.replyError("bad_args", "send(text: string)");
    const conn = t.conn() orelse return t.replyError("not_connected", "send needs a connection");
    var buf: [32]u8 = undefined;
    const user = (ew.kv.get(connKey(&buf, conn)) catch null) orelse
        return t.replyError("not_connected", "this connection has no user");
    const message = ew.Writer.new() orelse return t.replyError("no_memory", "out of memory");
    message.map(2);
    message.text("user");
    message.text(user);
    message.text("text");
    message.text(text);
    const seq = ew.kv.getInt("seq", 0) + 1;
    ew.kv.putInt("seq", seq) catch return t.replyError("storage", "could not store the sequence");
    ew.kv.put(messageKey(&buf, seq), message.written()) catch
        return t.replyError("too_large", "message too large");
    t.broadcast("message", 1).raw(message.written());
    t.replyOk().int(seq);
}

fn history(t: *ew.Turn, args: *ew.Reader, argc: u32) void {
    const limit = (if (argc == 1) args.int() else null) orelse
        return t.replyError("bad_args", "history(limit: int)");
    if (limit < 0 or limit > max_history) return t.replyError("bad_args", "limit must be 0..1000");
    const last = ew.kv.getInt("seq", 0);
    var buf: [32]u8 = undefined;
    const after = if (last > limit) messageKey(&buf, last - limit) else "";
    const items = ew.Writer.new() orelse return t.replyError("no_memory", "out of memory");
    var count: u32 = 0;
    var it = ew.kv.list("msg/", after, 100);
    while (count < limit) {
        const entry = (it.next() catch return t.replyError("storage", "could not list")) orelse break;
        items.raw(entry.value);
        count += 1;
    }
    const reply = t.replyOk();
    reply.array(count);
    reply.raw(items.written());
}
