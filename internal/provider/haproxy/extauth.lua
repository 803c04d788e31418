-- External authentication (lbconfig.ExternalAuth): the subrequest to the
-- auth server, as an http-request action. The provider writes the table
-- of rules, ext_auth_rules, above this code in the same file; the action
-- takes the rule's id, the listener's scheme and port, sets
-- txn.extauth_result to allow, 401, 403, signin or error, and the config's
-- rules that follow answer by it (and anything else than allow, also a
-- Lua error that leaves it unset, gets 500: the check fails closed).
--
-- A socket of HAProxy's own, not core.httpclient(): the client's
-- timeout bounds each read, not the exchange, and it reads a whole body,
-- so an auth server that drips bytes would hold the request for ever.
-- Here the exchange ends at a deadline whatever the server does: the
-- head is read byte by byte, each read within what is left, up to
-- max_head bytes, and the body is never read (the request asks the
-- server to close).
local rules = ext_auth_rules
ext_auth_rules = nil
local servers = backend_servers

-- max_cookies is lbconfig.MaxAuthCookies.
local max_cookies = 8

-- Fields of the client that the subrequest never carries: hop-by-hop,
-- framing (it has no body), Host (the auth server's), and those the load
-- balancer sets.
local dropped = {
    ["connection"] = true, ["keep-alive"] = true, ["proxy-connection"] = true,
    ["te"] = true, ["trailer"] = true, ["transfer-encoding"] = true,
    ["upgrade"] = true, ["proxy-authenticate"] = true, ["proxy-authorization"] = true,
    ["content-length"] = true, ["expect"] = true, ["host"] = true,
    ["x-original-url"] = true, ["x-original-method"] = true, ["x-original-uri"] = true,
    ["x-sent-from"] = true, ["x-real-ip"] = true, ["x-forwarded-for"] = true,
    ["x-forwarded-host"] = true, ["x-forwarded-proto"] = true, ["x-forwarded-port"] = true,
    ["x-auth-request-redirect"] = true,
}

-- escape percent-encodes every byte but letters, digits and "-._~".
local function escape(s)
    return (string.gsub(s, "[^%w%-%._~]", function(c)
        return string.format("%%%02X", string.byte(c))
    end))
end

-- first returns the first value of a field in hdrs (as req_get_headers
-- returns them: lower-case names, values from 0), or "".
local function first(hdrs, name)
    local vs = hdrs[name]
    if vs == nil then
        return ""
    end
    for _, v in pairs(vs) do
        return v
    end
    return ""
end

-- signin_host returns the Host as sent and the host without port, lower
-- case, if they are what a sign-in URL may copy (a DNS name or an
-- address, and a port), else nil.
local function signin_host(host)
    local lower = string.lower(host)
    local name, port = lower, nil
    if not string.find(lower, "%]$") then
        local n, p = string.match(lower, "^(.*):([^:]*)$")
        if n ~= nil and not string.find(n, ":") then
            name, port = n, p
        end
    end
    if port ~= nil and not string.match(port, "^%d%d?%d?%d?%d?$") then
        return nil
    end
    local ok = string.match(name, "^[%a%d][%a%d%.%-]*$") and not string.find(name, "%.%.")
        and not string.find(name, "%-%.") and not string.find(name, "%.%-")
        and not string.find(name, "[%.%-]$") and #name <= 253
    if not ok and not string.match(name, "^%[[%x:%.]+%]$") then
        return nil
    end
    return host, name
end

-- signin_location is the sign-in URL of rule, its variables expanded
-- (lbconfig.SigninVariables), with the original URL in its redirect
-- parameter; nil if the Host cannot go in it.
local function signin_location(rule, scheme, host, pathq)
    local location = rule.signin
    if rule.expand then
        local as_sent, name = signin_host(host)
        if as_sent == nil then
            return nil
        end
        local values = {
            scheme = scheme, host = name, http_host = as_sent,
            request_uri = pathq, escaped_request_uri = escape(pathq),
        }
        location = string.gsub(location, "%$([%w_]+)", function(v) return values[v] end)
    end
    if rule.add_param then
        location = location .. rule.sep .. rule.param .. "=" .. escape(scheme .. "://" .. host .. pathq)
    end
    return location
end

-- request is the subrequest's head.
local function request(txn, rule, scheme, port)
    local hdrs = txn.http:req_get_headers()
    local host = first(hdrs, "host")
    local pathq = txn.sf:pathq() or "/"
    local client = txn.sf:src()
    local out = {
        rule.method .. " " .. rule.target .. " HTTP/1.1",
        "host: " .. rule.host,
        "connection: close",
    }
    if rule.method == "POST" or rule.method == "PUT" or rule.method == "PATCH" then
        out[#out + 1] = "content-length: 0"
    end
    servers.copy_fields(out, hdrs, dropped)
    local redirect = rule.request_redirect
    if redirect == "" then
        redirect = pathq
    end
    out[#out + 1] = "x-original-url: " .. scheme .. "://" .. host .. pathq
    out[#out + 1] = "x-original-method: " .. txn.sf:method()
    out[#out + 1] = "x-original-uri: " .. pathq
    out[#out + 1] = "x-sent-from: nginx-ingress-controller"
    out[#out + 1] = "x-real-ip: " .. client
    out[#out + 1] = "x-forwarded-for: " .. client
    out[#out + 1] = "x-forwarded-host: " .. host
    out[#out + 1] = "x-forwarded-proto: " .. scheme
    out[#out + 1] = "x-forwarded-port: " .. port
    out[#out + 1] = "x-auth-request-redirect: " .. redirect
    return table.concat(out, "\r\n") .. "\r\n\r\n", host, pathq
end

-- parse returns the status and the fields (lower-case names, values from
-- 1) of a head, or nil if it is not a well-formed HTTP/1 response head.
local function parse(head)
    local status
    local fields = {}
    for line in string.gmatch(head, "([^\n]*)\n") do
        line = string.gsub(line, "\r$", "")
        if status == nil then
            status = tonumber(string.match(line, "^HTTP/1%.[01] (%d%d%d)"))
            if status == nil then
                return nil
            end
        elseif line ~= "" then
            local name, value = string.match(line, "^([%w!#$%%&'*+%-.^_`|~]+):[ \t]*(.-)[ \t]*$")
            if name == nil or string.find(value, "[%z\1-\8\10-\31\127]") then
                return nil -- a folded, nameless or control-laden field
            end
            name = string.lower(name)
            fields[name] = fields[name] or {}
            fields[name][#fields[name] + 1] = value
        end
    end
    return status, fields
end

-- connect returns a socket connected to the auth server of rule before
-- deadline: its address, or one of its backend's servers in service
-- (backend-servers.lua); nil and why if none.
local function connect(rule, deadline)
    if rule.backend == nil then
        return servers.connect({ { addr = rule.addr, port = rule.port } }, deadline)
    end
    local targets = servers.endpoints(rule, rule.backend)
    if #targets == 0 then
        return nil, "no server of the auth service is in service"
    end
    return servers.connect(targets, deadline)
end

-- ask sends the subrequest and returns the answer's status and fields, or
-- nil and why.
local function ask(txn, rule, scheme, port)
    local req, host, pathq = request(txn, rule, scheme, port)
    local now = core.now()
    local deadline = now.sec + now.usec / 1000000 + rule.timeout
    local sock, err = connect(rule, deadline)
    if sock == nil then
        return nil, err
    end
    local t = servers.left(deadline)
    if t <= 0 then
        sock:close()
        return nil, "timed out"
    end
    sock:settimeout(t)
    if sock:send(req) == nil then
        sock:close()
        return nil, "sending the subrequest failed"
    end
    local head, why = servers.read_head(sock, deadline)
    sock:close()
    if head == nil then
        return nil, why
    end
    local status, fields = parse(head)
    if status == nil then
        return nil, "the answer's head is malformed"
    end
    return status, fields, host, pathq
end

core.register_action("ext_auth", { "http-req" }, function(txn, id, scheme, port)
    local rule = rules[id]
    local status, fields, host, pathq = ask(txn, rule, scheme, port)
    if status == nil then
        txn:Warning("external authentication at " .. rule.url .. " failed: " .. tostring(fields))
        txn:set_var("txn.extauth_result", "error")
        return
    end
    -- The answer's cookies, for the response (the config's
    -- http-after-response rules add them).
    for i, v in ipairs(fields["set-cookie"] or {}) do
        if i > max_cookies then
            break
        end
        txn:set_var("txn.extauth_cookie" .. (i - 1), v)
    end
    if rule.always_set_cookie then
        txn:set_var("txn.extauth_always", "1")
    end
    if status >= 200 and status < 300 then
        for _, name in ipairs(rule.copy) do
            -- The client's own copy goes whatever the answer holds.
            txn.http:req_del_header(name)
            for _, v in ipairs(fields[string.lower(name)] or {}) do
                txn.http:req_add_header(name, v)
            end
        end
        txn:set_var("txn.extauth_result", "allow")
    elseif status == 401 and rule.signin ~= "" then
        local location = signin_location(rule, scheme, host, pathq)
        if location == nil then
            txn:Warning("external authentication: the Host cannot go in the sign-in URL")
            txn:set_var("txn.extauth_result", "error")
            return
        end
        txn:set_var("txn.extauth_location", location)
        txn:set_var("txn.extauth_result", "signin")
    elseif status == 401 then
        local www = fields["www-authenticate"]
        if www ~= nil then
            txn:set_var("txn.extauth_www", table.concat(www, ", "))
        end
        txn:set_var("txn.extauth_result", "401")
    elseif status == 403 then
        txn:set_var("txn.extauth_result", "403")
    else
        txn:Warning("external authentication at " .. rule.url .. " answered " .. status)
        txn:set_var("txn.extauth_result", "error")
    end
end, 3)
