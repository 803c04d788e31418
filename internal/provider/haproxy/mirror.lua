-- Request mirrors (lbconfig.Route.Mirrors), as an http-request action
-- run once the request is routed, checked and changed. The provider
-- writes the table of rules, mirror_rules, above this code in the same
-- file: by id, the mirrors of a route, each its backend and share. The
-- action draws each mirror (HAProxy's rand), builds the copy (method,
-- path and query, header fields as they are now, the body) and leaves
-- it to a task of its own: the client's request goes on at once, and
-- nothing the mirror does reaches it. A copy goes on a socket of
-- HAProxy's own to a server in service of the mirror's backend
-- (backend-servers.lua), and its exchange ends at a deadline, connect
-- to the answer's first byte, whatever the mirror does.
--
-- Bounds: at most max_in_flight copies at once, the others dropped and
-- counted (a Warning at most every warn_every seconds); a body is copied
-- when the request announces its length, up to max_body, and all of it
-- is in HAProxy's buffer (the config waits for it); a request with a
-- longer body, a chunked one, or one whose body is not all there gets
-- no copy.
local rules = mirror_rules
mirror_rules = nil
local servers = backend_servers

-- max_in_flight and max_body are the builtin provider's bounds.
local max_in_flight = 64
local max_body = 65536
local timeout = 10
local warn_every = 10

local in_flight = 0
local dropped = 0
local warned = 0

-- Fields of the client that the copy does not carry: hop-by-hop and
-- framing, which the copy has its own of.
local skipped = {
    ["connection"] = true, ["keep-alive"] = true, ["proxy-connection"] = true,
    ["te"] = true, ["trailer"] = true, ["transfer-encoding"] = true,
    ["upgrade"] = true, ["content-length"] = true, ["expect"] = true,
}

-- copy_of returns the copy of the request, or nil if it gets none.
local function copy_of(txn)
    local hdrs = txn.http:req_get_headers()
    if hdrs["transfer-encoding"] ~= nil then
        return nil
    end
    local body = ""
    local cl = hdrs["content-length"]
    if cl ~= nil then
        local n
        for _, v in pairs(cl) do
            if n ~= nil then
                return nil
            end
            n = tonumber(string.match(v, "^%d+$"))
        end
        if n == nil or n > max_body then
            return nil
        end
        if n > 0 then
            body = txn.sf:req_body() or ""
            if #body ~= n then
                return nil
            end
        end
    end
    local out = { txn.sf:method() .. " " .. (txn.sf:pathq() or "/") .. " HTTP/1.1" }
    servers.copy_fields(out, hdrs, skipped)
    out[#out + 1] = "connection: close"
    out[#out + 1] = "content-length: " .. #body
    return table.concat(out, "\r\n") .. "\r\n\r\n" .. body
end

-- deliver sends copy to a server of the mirror's backend and waits for
-- the answer's first byte, all before the deadline: a server may drop a
-- request whose client is gone, and the rest of the answer is not
-- worth the reads.
local function deliver(mirror, copy)
    local now = core.now()
    local deadline = now.sec + now.usec / 1000000 + timeout
    local sock = servers.connect(servers.endpoints(mirror, mirror.backend), deadline)
    if sock == nil then
        return
    end
    local t = servers.left(deadline)
    if t > 0 then
        sock:settimeout(t)
        if sock:send(copy) ~= nil then
            sock:settimeout(math.max(servers.left(deadline), 0.001))
            sock:receive(1)
        end
    end
    sock:close()
end

-- send leaves copy to a task, or drops it when max_in_flight are on
-- their way.
local function send(mirror, copy)
    if in_flight >= max_in_flight then
        dropped = dropped + 1
        local now = core.now().sec
        if now - warned >= warn_every then
            warned = now
            core.Warning("request mirrors: " .. dropped .. " copies dropped so far, " .. max_in_flight .. " being on their way")
        end
        return
    end
    in_flight = in_flight + 1
    core.register_task(function()
        pcall(deliver, mirror, copy)
        in_flight = in_flight - 1
    end)
end

core.register_action("mirror", { "http-req" }, function(txn)
    local rule = rules[txn:get_var("txn.mirror") or ""]
    if rule == nil then
        return
    end
    local copy
    for _, m in ipairs(rule) do
        if m.den == 0 or txn.f:rand(m.den) < m.num then
            if copy == nil then
                copy = copy_of(txn)
                if copy == nil then
                    return
                end
            end
            send(m, copy)
        end
    end
end, 0)
