-- wrk: like register.lua, but each connection waits DELAY_MS (first script argument after the
-- appid) between requests, so that connections x 1000/DELAY_MS bounds the rate.
dofile(debug.getinfo(1, "S").source:sub(2):match("(.*/)") .. "register.lua")
local pause = 0
local base_init = init
function init(args)
  base_init(args)
  pause = tonumber(args[2] or "0")
end
function delay()
  return pause
end
