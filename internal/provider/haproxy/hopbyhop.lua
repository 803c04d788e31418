-- Hop-by-hop fields named by a Connection field (RFC 9110, section 7.6.1)
-- end at the load balancer, as the builtin proxy's do. HAProxy's config
-- deletes the fields whose names are fixed; it cannot loop over the names
-- a Connection field lists, so these actions do.
--
-- Fields the proxy needs itself are never deleted this way: Host routes,
-- and HAProxy frames the message on each side itself.
local keep = {
    ["keep-alive"] = true, ["close"] = true, ["upgrade"] = true,
    ["host"] = true, ["content-length"] = true, ["transfer-encoding"] = true,
}

-- listed returns the field names the Connection fields in hdrs name
-- (hdrs as returned by req_get_headers: lower-case names, values from 0).
local function listed(hdrs)
    local names = {}
    local conn = hdrs["connection"]
    if conn == nil then
        return names
    end
    for _, v in pairs(conn) do
        for token in string.gmatch(v, "[^,]+") do
            token = string.lower(string.match(token, "^%s*(.-)%s*$"))
            if token ~= "" and not keep[token] then
                names[#names + 1] = token
            end
        end
    end
    return names
end

core.register_action("hop_by_hop_req", { "http-req" }, function(txn)
    for _, name in ipairs(listed(txn.http:req_get_headers())) do
        txn.http:req_del_header(name)
    end
end)

core.register_action("hop_by_hop_res", { "http-res" }, function(txn)
    for _, name in ipairs(listed(txn.http:res_get_headers())) do
        txn.http:res_del_header(name)
    end
end)
