-- Shared by the wrk scripts that generate names: gives each wrk thread a distinct id, so that
-- hostnames made by different threads never collide. Load it with
--   dofile(debug.getinfo(1, "S").source:sub(2):match("(.*/)") .. "threads.lua")
wrk_threads = {}
function setup(thread)
  thread:set("tid", #wrk_threads)
  table.insert(wrk_threads, thread)
end
function thread_id()
  return wrk.thread:get("tid")
end
