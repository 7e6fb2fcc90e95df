-- wrk: register exactly N distinct instances spread over 1,000 apps (N from the first script
-- argument, split across threads), then renew one of them for the rest of the run.
local counter = 0
local tid = 0
local nthreads = 1
local quota = 0
dofile(debug.getinfo(1, "S").source:sub(2):match("(.*/)") .. "threads.lua")
function init(args)
  tid = thread_id()
  nthreads = tonumber(args[2] or "1")
  quota = math.floor(tonumber(args[1]) / nthreads)
end
function request()
  counter = counter + 1
  if counter > quota then
    return wrk.format("POST", "/discovery/renew", {["Content-Type"] = "application/x-www-form-urlencoded"},
      "zone=sh001&env=bench&appid=fill1&hostname=t0-1")
  end
  local n = tid * quota + counter
  local body = "zone=sh001&env=bench&appid=fill" .. (n % 1000) .. "&hostname=t" .. tid .. "-" .. counter ..
    "&status=1&version=1&addrs=http%3A%2F%2F10.0.0.1%3A8000&addrs=grpc%3A%2F%2F10.0.0.1%3A9000" ..
    "&metadata=%7B%22weight%22%3A%2210%22%2C%22cluster%22%3A%22c1%22%7D"
  return wrk.format("POST", "/discovery/register", {["Content-Type"] = "application/x-www-form-urlencoded"}, body)
end
