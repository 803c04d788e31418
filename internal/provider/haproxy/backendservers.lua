-- The servers of HAProxy backends, for Lua code that talks to them on
-- sockets of HAProxy's own: external authentication (extauth.lua) and
-- request mirrors (mirror.lua), and the client's fields such a request
-- carries. Loaded before them, it leaves its functions in the global
-- backend_servers. A backend's servers are its slots, whose addresses
-- and states the runtime API moves (no reload), read here as they are
-- now; every wait ends at a deadline whatever the server does.

local max_head = 16384

-- left is the time until deadline, in seconds.
local function left(deadline)
    local now = core.now()
    return deadline - (now.sec + now.usec / 1000000)
end

-- read_head reads the answer's head, up to max_head bytes, before
-- deadline; nil and why if it does not come.
local function read_head(sock, deadline)
    local buf = {}
    local n = 0
    local tail = ""
    while true do
        local t = left(deadline)
        if t <= 0 then
            return nil, "timed out"
        end
        sock:settimeout(t)
        local b, err = sock:receive(1)
        if b == nil then
            return nil, "reading the head: " .. tostring(err)
        end
        n = n + 1
        if n > max_head then
            return nil, "the head is longer than " .. max_head .. " bytes"
        end
        buf[n] = b
        tail = string.sub(tail .. b, -4)
        if tail == "\r\n\r\n" or string.sub(tail, -2) == "\n\n" then
            return table.concat(buf)
        end
    end
end

-- slots are the servers of each HAProxy backend used from Lua, in
-- slot order, found on first use: the runtime API moves their addresses
-- and states, never the servers themselves.
local slots = {}

local function servers_of(id)
    local list = slots[id]
    if list ~= nil then
        return list
    end
    list = {}
    local be = core.backends[id]
    if be ~= nil then
        local numbered = {}
        for name, srv in pairs(be.servers) do
            local n = tonumber(string.match(name, "^s(%d+)$"))
            if n ~= nil then
                numbered[#numbered + 1] = { n = n, srv = srv }
            end
        end
        table.sort(numbered, function(a, b) return a.n < b.n end)
        for i, s in ipairs(numbered) do
            list[i] = s.srv
        end
    end
    slots[id] = list
    return list
end

-- in_service holds, by backend id, the addresses and ports of its servers
-- in service (not in maintenance, not draining, not down by a check) and
-- when they were read: a server's state costs a table of its statistics
-- (some 50 us), so it is read at most once per refresh seconds.
local in_service = {}
local refresh = 1

local function ready_servers(id)
    local now = core.now()
    local t = now.sec + now.usec / 1000000
    local cached = in_service[id]
    if cached ~= nil and t - cached.at < refresh and t >= cached.at then
        return cached.list
    end
    local ready = {}
    for _, srv in ipairs(servers_of(id)) do
        local status = srv:get_stats()["status"] or ""
        if status == "no check" or string.sub(status, 1, 2) == "UP" then
            local addr, p = string.match(srv:get_addr() or "", "^(.*):(%d+)$")
            if addr ~= nil then
                ready[#ready + 1] = { addr = addr, port = tonumber(p) }
            end
        end
    end
    in_service[id] = { at = t, list = ready }
    return ready
end

-- endpoints returns the servers of backend id in service, starting at the
-- next turn of state (a table that keeps it).
local function endpoints(state, id)
    local ready = ready_servers(id)
    local n = #ready
    if n == 0 then
        return ready
    end
    state.turn = ((state.turn or -1) + 1) % n
    local out = {}
    for i = 1, n do
        out[i] = ready[(state.turn + i - 1) % n + 1]
    end
    return out
end

-- connect returns a socket connected to one of targets (address and
-- port) before deadline, the next when connecting to one fails; nil and
-- why if none.
local function connect(targets, deadline)
    local why = "no target"
    for _, e in ipairs(targets) do
        local t = left(deadline)
        if t <= 0 then
            return nil, "timed out"
        end
        local sock = core.tcp()
        sock:settimeout(t)
        local addr = e.addr
        if string.find(addr, ":", 1, true) then
            -- HAProxy 2.6 reads a bare IPv6 address as no address.
            addr = "[" .. addr .. "]"
        end
        local ok, err = sock:connect(addr, e.port)
        if ok then
            return sock
        end
        sock:close()
        why = "connecting to " .. e.addr .. " port " .. e.port .. ": " .. tostring(err)
    end
    return nil, why
end

-- copy_fields appends to out, as "name: value" lines, the fields of hdrs
-- (txn.http:req_get_headers()) but those in skipped and those the
-- request's Connection field lists, which are hop-by-hop.
local function copy_fields(out, hdrs, skipped)
    local listed = {}
    for _, v in pairs(hdrs["connection"] or {}) do
        for token in string.gmatch(v, "[^,]+") do
            listed[string.lower(string.match(token, "^%s*(.-)%s*$"))] = true
        end
    end
    for name, vs in pairs(hdrs) do
        if not skipped[name] and not listed[name] then
            for _, v in pairs(vs) do
                out[#out + 1] = name .. ": " .. v
            end
        end
    end
end

backend_servers = {
    left = left,
    read_head = read_head,
    endpoints = endpoints,
    connect = connect,
    copy_fields = copy_fields,
}
