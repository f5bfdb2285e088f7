-- wrk script for bench/send.sh.
--
--   wrk -t T ... -s bench/send.lua URL -- send    [users] [agent_number] [api_key] [T] [numbers]
--                                                   [limit] [node] [nodes]
--   wrk ... -s bench/send.lua URL -- healthz
--   wrk ... -s bench/send.lua URL -- get     /v1/sms/conversations/<id> [api_key]
--
-- "send" POSTs /v1/sms/send with user numbers cycling over `users` distinct values
-- (+15551230000 .. +1555123XXXX; default 10000), interleaved across wrk threads, so the
-- load spreads over many conversations instead of hammering one. With numbers = N > 1 the
-- agent number cycles over +15550100000 .. +1555010(N-1) (user k always pairs with agent
-- k mod N), and agent_number is ignored. With limit > 0 (only under bench/send_limit.lua, which
-- adds the response() hook that counts: defining response() here would make wrk parse every
-- answer of every phase in Lua) each thread stops after its share of `limit` requests. With nodes > 1 (one wrk per node, see
-- bench/lib.sh), wrk number `node` takes every nodes-th user, so the nodes share the users
-- without sending to the same pair at once. "healthz" GETs /healthz
-- through the same Lua request() path, so both runs pay the same load-generator cost and
-- their ratio isolates what the server spends on a send. "get" GETs one path with the API
-- key (an authenticated read-only route, for comparison).
--
-- done() prints two machine-readable lines that bench/lib.sh parses: `WRKJSON {...}` (counts,
-- errors, a few percentiles) and `WRKPCT [...]` (the latency at every 0.1% from 0.1% to
-- 100%, in microseconds), from which lib.sh pools the percentiles of several wrk processes
-- (one per node) into one distribution.

local threads = {}

-- wrk 4.1 calls setup() and then init() thread by thread, so a thread cannot count its
-- siblings: the thread count comes in as an argument.
function setup(thread)
   thread:set("tid", #threads)
   table.insert(threads, thread)
end

function init(args)
   mode = args[1] or "send"
   users = tonumber(args[2] or "10000")
   agent = args[3] or "+15550100000"
   key = args[4] or "benchkey"
   nthreads = tonumber(args[5] or "1")
   numbers = tonumber(args[6] or "1")
   limit = tonumber(args[7] or "0")
   local node, nodes = tonumber(args[8] or "0"), tonumber(args[9] or "1")
   i = tid * nodes + node
   step = nthreads * nodes
   quota = math.ceil(limit / (nthreads * nodes))
   sent = 0
   headers = { ["content-type"] = "application/json", ["authorization"] = key }
   if mode == "healthz" then
      req = wrk.format("GET", "/healthz")
   elseif mode == "get" then
      req = wrk.format("GET", args[2], { ["authorization"] = args[3] or "benchkey" })
   end
end

function request()
   if req then
      return req
   end
   local n = i % users
   i = i + step
   local from = agent
   if numbers > 1 then
      from = string.format("+1555010%04d", n % numbers)
   end
   local body = string.format(
      '{"user_number":"+1555123%04d","agent_number":"%s","agent_message":"hi"}', n, from)
   return wrk.format("POST", "/v1/sms/send", headers, body)
end

function done(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      'WRKJSON {"requests":%d,"duration_us":%d,"non2xx":%d,"connect":%d,"read":%d,"write":%d,"timeout":%d,' ..
      '"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,"mean_us":%.1f}\n',
      summary.requests, summary.duration, e.status, e.connect, e.read, e.write, e.timeout,
      latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean))
   print_percentiles(latency)
end

-- Shared by every wrk script of bench/ (status.lua loads this file for it).
function print_percentiles(latency)
   local p = {}
   for k = 1, 1000 do
      p[k] = string.format("%d", latency:percentile(k / 10))
   end
   io.write("WRKPCT [" .. table.concat(p, ",") .. "]\n")
end
