-- wrk: register a new hostname with every request (2 addrs, 2 metadata keys), so each one creates
-- an instance. Thread ids keep hostnames distinct across threads.
local counter = 0
local tid = 0
dofile(debug.getinfo(1, "S").source:sub(2):match("(.*/)") .. "threads.lua")
function init(args)
  tid = thread_id()
  appid = args[1] or "bench.register"
end
function request()
  counter = counter + 1
  local body = "zone=sh001&env=bench&appid=" .. appid .. "&hostname=t" .. tid .. "-" .. counter ..
    "&status=1&version=1&addrs=http%3A%2F%2F10.0.0.1%3A8000&addrs=grpc%3A%2F%2F10.0.0.1%3A9000" ..
    "&metadata=%7B%22weight%22%3A%2210%22%2C%22cluster%22%3A%22c1%22%7D"
  return wrk.format("POST", "/discovery/register",
    {["Content-Type"] = "application/x-www-form-urlencoded"}, body)
end
