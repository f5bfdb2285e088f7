-- wrk script for bench/status.sh: replays pre-signed Twilio status callbacks.
--
--   wrk -t T ... -s bench/status.lua URL -- <file> <T>
--
-- <file> has one callback per line, `path<TAB>X-Twilio-Signature<TAB>form body`, written by
-- bench/status.sh (HMAC-SHA1 needs a library wrk's Lua lacks, so the signing is done
-- beforehand). Thread t of T sends lines t+1, t+1+T, ... in order, once each, then stops (and leaves a mark file, see bench/lib.sh);
-- the requests still in flight when it stops repeat its last line (a duplicate callback,
-- which the server answers 204 and ignores), at most one per connection.
-- done() is send.lua's: WRKJSON and WRKPCT lines for bench/lib.sh.
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "send.lua")

function init(args)
   local path, nthreads = args[1], tonumber(args[2] or "1")
   mine = {}
   local n = 0
   for line in io.lines(path) do
      if n % nthreads == tid then
         mine[#mine + 1] = line
      end
      n = n + 1
   end
   next_line = 1
end

local function format(line)
   local p, sig, body = line:match("^([^\t]*)\t([^\t]*)\t(.*)$")
   return wrk.format("POST", p, {
      ["content-type"] = "application/x-www-form-urlencoded",
      ["x-twilio-signature"] = sig,
   }, body)
end

function request()
   if next_line > #mine then
      if not marked then
         -- bench/lib.sh interrupts wrk once every thread has left its mark.
         marked = true
         io.open((os.getenv("BENCH_WRK_MARK") or "/tmp/wrk-mark-") .. tid, "w"):close()
      end
      wrk.thread:stop()
      return format(mine[#mine])
   end
   local r = format(mine[next_line])
   next_line = next_line + 1
   return r
end
