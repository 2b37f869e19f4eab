//! Conformance actor: replies with the envelope as the SDK decoded it, every value re-encoded item
//! by item through the Zig reader and writer, so that the reply equals the envelope it was given.
const ew = @import("edgewise");

comptime {
    ew.exportHooks(@This());
}

fn copyItem(r: *ew.Reader, w: *ew.Writer, depth: u32) bool {
    if (depth > 32) return false;
    switch (r.peek()) {
        .int => w.int(r.int() orelse return false),
        .text => w.text(r.text() orelse return false),
        .bytes => w.bytes(r.bytes() orelse return false),
        .boolean => w.boolean(r.boolean() orelse return false),
        .null => {
            if (!r.nil()) return false;
            w.nil();
        },
        .float => w.float(r.float() orelse return false),
        .array => {
            const n = r.array() orelse return false;
            w.array(n);
            for (0..n) |_| if (!copyItem(r, w, depth + 1)) return false;
        },
        .map => {
            const n = r.map() orelse return false;
            w.map(n);
            for (0..2 * n) |_| if (!copyItem(r, w, depth + 1)) return false;
        },
        else => return false,
    }
    return true;
}

fn copyOrFail(t: *ew.Turn, r: *ew.Reader, w: *ew.Writer) void {
    if (!copyItem(r, w, 0)) t.replyError("copy_failed", "a value did not copy");
}

fn begin(t: *ew.Turn, kind: []const u8, extra: u32, with_conn: bool) *ew.Writer {
    const w = t.replyOk();
    w.map(3 + extra + @intFromBool(with_conn));
    w.text("kind");
    w.text(kind);
    w.text("actor");
    w.map(3);
    w.text("id");
    w.text(t.actorId());
    w.text("name");
    w.text(t.actorName());
    w.text("key");
    var key = t.actorKey();
    copyOrFail(t, &key, w);
    w.text("now_ms");
    w.int(t.nowMs());
    if (with_conn) {
        w.text("conn");
        if (t.conn()) |c| w.uint(c) else w.nil();
    }
    return w;
}

pub fn onCreate(t: *ew.Turn, input: *ew.Reader) void {
    const w = begin(t, "create", 1, false);
    w.text("input");
    copyOrFail(t, input, w);
}

pub fn onWake(t: *ew.Turn) void {
    _ = begin(t, "wake", 0, false);
}

pub fn onAction(t: *ew.Turn, name: []const u8, args: *ew.Reader, argc: u32) void {
    const w = begin(t, "action", 2, true);
    w.text("action");
    w.text(name);
    w.text("args");
    w.array(argc);
    for (0..argc) |_| copyOrFail(t, args, w);
}

pub fn onConnect(t: *ew.Turn, params: *ew.Reader) void {
    const w = begin(t, "connect", 1, true);
    w.text("params");
    copyOrFail(t, params, w);
}

pub fn onDisconnect(t: *ew.Turn) void {
    _ = begin(t, "disconnect", 0, true);
}

pub fn onAlarm(t: *ew.Turn, name: []const u8, payload: *ew.Reader) void {
    const w = begin(t, "alarm", 2, false);
    w.text("alarm");
    w.text(name);
    w.text("payload");
    copyOrFail(t, payload, w);
}
