-- send.lua with a fixed number of sends instead of a fixed time (bench/e2e.sh): each
-- thread stops once it has had answers to its share of `limit` (send.lua's 7th argument).
-- It is a separate script because wrk parses every answer in Lua as soon as a script
-- defines response(), which would slow the load generator of every send.lua phase.
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "send.lua")

function response()
   sent = sent + 1
   if limit > 0 and sent >= quota and not marked then
      -- bench/lib.sh interrupts wrk once every thread has left its mark.
      marked = true
      io.open((os.getenv("BENCH_WRK_MARK") or "/tmp/wrk-mark-") .. tid, "w"):close()
      wrk.thread:stop()
   end
end
