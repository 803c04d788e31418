-- Error pages (lbconfig.Route.ErrorPages): the http-response action
-- ic_error_page replaces a backend's response with the page of the
-- route's error backend, asked for with "GET /" and the X-* fields, and
-- keeps the backend's status. The rendered config selects the responses
-- (the route's site in txn.ic_site, the statuses); ic_sites, rendered
-- above this code, says per site what to ask whom. Everything here is
-- local but the action, whose name no other Lua file of the provider
-- uses.
--
-- The page is read from a socket of its own rather than with HAProxy's
-- httpclient, which answers a failed connect or a timeout with a page of
-- its own (indistinguishable from the error backend's) and reads a page
-- whole before its size can be checked. The request is HTTP/1.0, so the
-- page comes with a Content-Length or until the connection closes, never
-- chunked; the connection is the page's alone, so nothing an error
-- backend sends after its page is ever read as another.

-- ic_dropped are the page's fields that frame its message or belong to
-- its hop: HAProxy frames the reply itself.
local ic_dropped = {
    ["connection"] = true, ["keep-alive"] = true, ["transfer-encoding"] = true,
    ["content-length"] = true, ["te"] = true, ["trailer"] = true, ["upgrade"] = true,
    ["proxy-connection"] = true, ["proxy-authenticate"] = true,
}

-- ic_max_fields bounds the header fields of a page.
local ic_max_fields = 100

-- ic_clean reports whether v can be a header field value: no control
-- character but tab (a lone CR would end the field for some clients).
local function ic_clean(v)
    return not string.find(v, "[%z\1-\8\10-\31\127]")
end

-- ic_plain answers status with the load balancer's own text.
local function ic_plain(txn, site, status)
    txn:done(txn:reply{
        status = status,
        headers = {
            ["content-type"] = { "text/plain; charset=utf-8" },
            ["x-content-type-options"] = { "nosniff" },
        },
        body = site.plain[status] or (tostring(status) .. " error\n"),
    })
end

-- ic_servers returns the addresses {host, port} of the backend's servers
-- that take requests, in a random order.
local function ic_servers(name)
    local be = core.backends[name]
    local out = {}
    if be == nil then
        return out
    end
    for _, s in pairs(be.servers) do
        local st = s:get_stats()["status"] or ""
        if st == "UP" or st == "no check" or string.sub(st, 1, 3) == "UP " then
            local host, port = string.match(s:get_addr(), "^(.*):(%d+)$")
            if host ~= nil then
                out[#out + 1] = { host, tonumber(port) }
            end
        end
    end
    for i = #out, 2, -1 do
        local j = math.random(i)
        out[i], out[j] = out[j], out[i]
    end
    return out
end

-- ic_var reads a transaction variable as a string, "" when unset.
local function ic_var(txn, name)
    local v = txn:get_var(name)
    if v == nil then
        return ""
    end
    return tostring(v)
end

-- ic_read reads a response: its fields (lower-case names, each a list of
-- values) and body, or nil when it is malformed, broken off or larger
-- than max.
local function ic_read(s, max)
    local line = s:receive("*l")
    if line == nil or not string.match(line, "^HTTP/1%.[01] %d%d%d") then
        return nil
    end
    local fields, length, n = {}, nil, 0
    while true do
        line = s:receive("*l")
        if line == nil then
            return nil
        end
        if line == "" then
            break
        end
        n = n + 1
        local name, value = string.match(line, "^([%w!#$%%&'*+%-.^_`|~]+):[ \t]*(.-)[ \t]*$")
        if n > ic_max_fields or name == nil or not ic_clean(value) then
            return nil
        end
        name = string.lower(name)
        if name == "content-length" then
            if not string.match(value, "^%d+$") or (length ~= nil and length ~= tonumber(value)) then
                return nil
            end
            length = tonumber(value)
        elseif name == "transfer-encoding" then
            return nil -- never for an HTTP/1.0 request
        elseif not ic_dropped[name] then
            local list = fields[name] or {}
            list[#list + 1] = value
            fields[name] = list
        end
    end
    if length ~= nil then
        if length > max then
            return nil
        end
        if length == 0 then
            return fields, ""
        end
        local body = s:receive(length)
        if body == nil or #body ~= length then
            return nil
        end
        return fields, body
    end
    -- Until the connection closes: one byte more than allowed tells a
    -- page too large.
    local body, err, partial = s:receive(max + 1)
    if body ~= nil then
        return nil
    end
    return fields, partial or ""
end

-- ic_fetch asks addr for the page with request: the page's fields and
-- body, or nil (and whether it was a failed connect) when there is none
-- within the site's timeout and size.
local function ic_fetch(site, addr, request)
    local s = core.tcp()
    s:settimeout(site.timeout / 1000)
    if not s:connect(addr[1], addr[2]) then
        s:close()
        return nil, nil, true
    end
    local fields, body = nil, nil
    if s:send(request) then
        fields, body = ic_read(s, site.max)
    end
    s:close()
    return fields, body, false
end

-- ic_request writes the request for the page of status.
local function ic_request(txn, site, status)
    local host = ic_var(txn, "txn.ic_host")
    local src = tostring(txn.f:src())
    local rid = ic_var(txn, "txn.ic_rid")
    if rid == "" then
        rid = string.gsub(tostring(txn.f:uuid()), "-", "")
    end
    local fields = {
        { "Host", host },
        { "X-Code", tostring(status) },
        { "X-Format", ic_var(txn, "txn.ic_accept") },
        { "X-Original-URI", ic_var(txn, "txn.ic_uri") },
        { "X-Request-ID", rid },
        { "X-Forwarded-For", src },
        { "X-Real-IP", src },
        { "X-Forwarded-Host", host },
        { "X-Forwarded-Proto", site.proto },
        { "X-Forwarded-Port", site.port },
    }
    for _, f in ipairs(site.fields) do
        fields[#fields + 1] = f
    end
    local out = { "GET / HTTP/1.0\r\n" }
    for _, f in ipairs(fields) do
        if f[2] ~= "" and ic_clean(f[2]) then
            out[#out + 1] = f[1] .. ": " .. f[2] .. "\r\n"
        end
    end
    out[#out + 1] = "\r\n"
    return table.concat(out)
end

local function ic_error_page(txn)
    local site = ic_sites[ic_var(txn, "txn.ic_site")]
    local status = tonumber(txn.sf:status())
    if site == nil or status == nil then
        return
    end
    local request = ic_request(txn, site, status)
    local tries = site.retries + 1
    for _, addr in ipairs(ic_servers(site.backend)) do
        if tries == 0 then
            break
        end
        tries = tries - 1
        local fields, body, refused = ic_fetch(site, addr, request)
        if fields ~= nil then
            txn:done(txn:reply{ status = status, headers = fields, body = body })
            return
        end
        if not refused then
            break -- only a failed connect goes to another server
        end
    end
    ic_plain(txn, site, status)
end

core.register_action("ic_error_page", { "http-res" }, ic_error_page, 0)
