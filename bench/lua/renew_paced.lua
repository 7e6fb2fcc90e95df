-- wrk: renew one instance, each connection waiting DELAY_MS (first script argument) between
-- requests: a fixed heartbeat rate rather than the most the node can take.
dofile(debug.getinfo(1, "S").source:sub(2):match("(.*/)") .. "renew.lua")
local pause = 0
function init(args)
  pause = tonumber(args[1] or "0")
end
function delay()
  return pause
end
