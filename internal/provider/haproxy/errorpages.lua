-- Error pages (lbconfig.Route.ErrorPages): the http-response action
-- ic_error_page replaces a backend's response with the page of the
-- route's error backend, asked for with "GET /" and the X-* fields, and
-- keeps the backend's status. The rendered config selects the responses
-- (the route's site in txn.ic_site, the statuses); ic_sites, rendered
-- above this code, says per site what to ask whom. Everything here is
-- local but the action, whose name no other Lua file of the provider
-- uses.

-- dropped are the page's fields that frame its message or belong to its
-- hop: HAProxy frames the reply itself.
local ic_dropped = {
    ["connection"] = true, ["keep-alive"] = true, ["transfer-encoding"] = true,
    ["content-length"] = true, ["te"] = true, ["trailer"] = true, ["upgrade"] = true,
    ["proxy-connection"] = true, ["proxy-authenticate"] = true,
}

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

-- ic_servers returns the addresses ("ip:port", "[ip6]:port") of the
-- backend's servers that take requests, in a random order.
local function ic_servers(name)
    local be = core.backends[name]
    local out = {}
    if be == nil then
        return out
    end
    for _, s in pairs(be.servers) do
        local st = s:get_stats()["status"] or ""
        if st == "UP" or st == "no check" or string.sub(st, 1, 3) == "UP " then
            local addr = s:get_addr()
            local host, port = string.match(addr, "^(.*):(%d+)$")
            if host ~= nil then
                if string.find(host, ":", 1, true) then
                    host = "[" .. host .. "]"
                end
                out[#out + 1] = host .. ":" .. port
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

local function ic_error_page(txn)
    local site = ic_sites[ic_var(txn, "txn.ic_site")]
    local status = tonumber(txn.sf:status())
    if site == nil or status == nil then
        return
    end
    local host = ic_var(txn, "txn.ic_host")
    local src = tostring(txn.f:src())
    local rid = ic_var(txn, "txn.ic_rid")
    if rid == "" then
        rid = string.gsub(tostring(txn.f:uuid()), "-", "")
    end
    local headers = {
        ["host"] = { host },
        ["x-code"] = { tostring(status) },
        ["x-request-id"] = { rid },
        ["x-forwarded-for"] = { src },
        ["x-real-ip"] = { src },
        ["x-forwarded-host"] = { host },
        ["x-forwarded-proto"] = { site.proto },
        ["x-forwarded-port"] = { site.port },
        -- One connection per page, as the builtin's: bytes an error
        -- backend sent after its page would be the next page's.
        ["connection"] = { "close" },
    }
    local uri = ic_var(txn, "txn.ic_uri")
    if uri ~= "" then
        headers["x-original-uri"] = { uri }
    end
    local accept = ic_var(txn, "txn.ic_accept")
    if accept ~= "" then
        headers["x-format"] = { accept }
    end
    for name, value in pairs(site.fields) do
        headers[name] = { value }
    end
    local tries = site.retries + 1
    for _, addr in ipairs(ic_servers(site.backend)) do
        if tries == 0 then
            break
        end
        tries = tries - 1
        local hc = core.httpclient()
        local start = core.now()
        -- HAProxy 2.6's httpclient waits up to four times its timeout
        -- (measured), and then answers 504 itself.
        local res = hc:get{ url = "http://" .. addr .. "/", headers = headers, timeout = math.max(site.timeout // 4, 1) }
        local now = core.now()
        local took = (now.sec - start.sec) * 1000 + (now.usec - start.usec) // 1000
        if res ~= nil and res.status == 504 and took >= site.timeout // 4 then
            res = nil -- the httpclient's own answer to its timeout
        end
        if res ~= nil and res.status ~= nil and res.status > 0 then
            local body = res.body or ""
            if #body > site.max then
                break
            end
            local out = {}
            for name, values in pairs(res.headers or {}) do
                local lower = string.lower(name)
                if not ic_dropped[lower] then
                    out[lower] = values
                end
            end
            txn:done(txn:reply{ status = status, headers = out, body = body })
            return
        end
    end
    ic_plain(txn, site, status)
end

core.register_action("ic_error_page", { "http-res" }, ic_error_page, 0)
