-- wrk: the etcd way to register an instance: grant a lease (TTL 90 s), then put the instance's key
-- with that lease, through etcd 3.4's JSON gateway. Counts completed registrations (puts).
local pending = {}
local puts = 0
local counter = 0
local tid = 0
dofile(debug.getinfo(1, "S").source:sub(2):match("(.*/)") .. "threads.lua")
function init(args)
  tid = thread_id()
end
local function b64(data)
  local b = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'
  return ((data:gsub('.', function(x)
    local r, byte = '', x:byte()
    for i = 8, 1, -1 do r = r .. (byte % 2 ^ i - byte % 2 ^ (i - 1) > 0 and '1' or '0') end
    return r
  end) .. '0000'):gsub('%d%d%d?%d?%d?%d?', function(x)
    if (#x < 6) then return '' end
    local c = 0
    for i = 1, 6 do c = c + (x:sub(i, i) == '1' and 2 ^ (6 - i) or 0) end
    return b:sub(c + 1, c + 1)
  end) .. ({ '', '==', '=' })[#data % 3 + 1])
end
local value = b64('{"addrs":["http://10.0.0.1:8000","grpc://10.0.0.1:9000"],"metadata":{"weight":"10","cluster":"c1"}}')
function request()
  local lease = table.remove(pending)
  if lease then
    counter = counter + 1
    local key = b64("/services/bench/t" .. tid .. "-" .. counter)
    return wrk.format("POST", "/v3/kv/put", nil,
      '{"key":"' .. key .. '","value":"' .. value .. '","lease":"' .. lease .. '"}')
  end
  return wrk.format("POST", "/v3/lease/grant", nil, '{"TTL":"90"}')
end
function response(status, headers, body)
  local id = body:match('"ID":"(%d+)"')
  if id then
    table.insert(pending, id)
  elseif status == 200 then
    puts = puts + 1
    wrk.thread:set("puts", puts)
  end
end
function done(summary, latency, requests)
  local total = 0
  for _, t in ipairs(wrk_threads) do total = total + (t:get("puts") or 0) end
  io.write(string.format("registrations %d in %.2fs = %.0f/s\n", total, summary.duration / 1e6,
    total / (summary.duration / 1e6)))
end
