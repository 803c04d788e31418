-- Hop-by-hop fields named by a Connection field (RFC 9110, section 7.6.1)
-- end at the load balancer, as the builtin proxy's do. HAProxy's config
-- deletes the fields whose names are fixed; it cannot loop over the names
-- a Connection field lists, so these actions do. They run only where a
-- Connection field is (HAProxy drops one of only keep-alive or close), so
-- they also settle Upgrade and Connection for those messages, which the
-- config does for the others.
--
-- Fields the proxy needs itself are never deleted this way: Host routes,
-- and HAProxy frames the message on each side itself.
local keep = {
    ["keep-alive"] = true, ["close"] = true, ["upgrade"] = true,
    ["host"] = true, ["content-length"] = true, ["transfer-encoding"] = true,
}

-- listed returns the field names the Connection fields in hdrs name
-- (hdrs as returned by req_get_headers: lower-case names, values from 0),
-- and whether they name "upgrade".
local function listed(hdrs)
    local names = {}
    local upgrade = false
    local conn = hdrs["connection"]
    if conn == nil then
        return names, upgrade
    end
    for _, v in pairs(conn) do
        for token in string.gmatch(v, "[^,]+") do
            token = string.lower(string.match(token, "^%s*(.-)%s*$"))
            if token == "upgrade" then
                upgrade = true
            end
            if token ~= "" and not keep[token] then
                names[#names + 1] = token
            end
        end
    end
    return names, upgrade
end

-- asksH2C reports whether an Upgrade field lists h2c, which is never
-- passed on (h2c smuggling).
local function asksH2C(hdrs)
    local up = hdrs["upgrade"]
    if up == nil then
        return false
    end
    for _, v in pairs(up) do
        for token in string.gmatch(v, "[^,]+") do
            if string.lower(string.match(token, "^%s*(.-)%s*$")) == "h2c" then
                return true
            end
        end
    end
    return false
end

-- A request keeps Upgrade only where its Connection field asks for it
-- and not for h2c; then its Connection field becomes "upgrade" alone,
-- else it goes.
core.register_action("hop_by_hop_req", { "http-req" }, function(txn)
    local hdrs = txn.http:req_get_headers()
    local names, upgrade = listed(hdrs)
    for _, name in ipairs(names) do
        txn.http:req_del_header(name)
    end
    if upgrade and hdrs["upgrade"] ~= nil and not asksH2C(hdrs) then
        txn.http:req_set_header("connection", "upgrade")
    else
        txn.http:req_del_header("upgrade")
        txn.http:req_del_header("connection")
    end
end)

-- A response's Connection field goes, but for a switch (101), where the
-- config sets it to "upgrade".
core.register_action("hop_by_hop_res", { "http-res" }, function(txn)
    local names = listed(txn.http:res_get_headers())
    for _, name in ipairs(names) do
        txn.http:res_del_header(name)
    end
    if txn.f:status() ~= 101 then
        txn.http:res_del_header("connection")
    end
end)
