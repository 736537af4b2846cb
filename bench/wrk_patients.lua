-- wrk script of bench/web.py: patients' question pages (GET) or page saves (POST).
-- Arguments: mode ("get" | "post"), the patients file (path, cookie, csrf token, item;
-- tab-separated), the number of wrk threads. Thread n takes every n-th patient and cycles
-- through them, so no two requests of one patient are ever in flight at once.
-- done() prints one line "BENCH_JSON {...}" with counts and latency percentiles.

local patients = {}
local next_index = 0
local thread_count = 0
local all_threads = {}

function setup(thread)
  thread:set("tid", thread_count)
  thread_count = thread_count + 1
  table.insert(all_threads, thread)
end

local function hex(n)
  local digits = "0123456789abcdef"
  local out = {}
  for k = 1, n do
    local d = math.random(1, 16)
    out[k] = digits:sub(d, d)
  end
  return table.concat(out)
end

function init(args)
  mode = args[1]
  local nthreads = tonumber(args[3])
  local k = 0
  for line in io.lines(args[2]) do
    if k % nthreads == tid then
      local path, cookie, csrf, item = line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)$")
      table.insert(patients, { path = path, cookie = cookie, csrf = csrf, item = item })
    end
    k = k + 1
  end
  if #patients == 0 then -- fewer lines than threads (the bare page): every thread takes all
    for line in io.lines(args[2]) do
      local path, cookie, csrf, item = line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)$")
      table.insert(patients, { path = path, cookie = cookie, csrf = csrf, item = item })
    end
  end
  math.randomseed(os.time() * 100 + tid)
end

function request()
  next_index = next_index % #patients + 1
  local p = patients[next_index]
  local headers = { ["Cookie"] = p.cookie }
  if mode == "get" then
    return wrk.format("GET", p.path, headers)
  end
  headers["Content-Type"] = "application/x-www-form-urlencoded"
  local body = "csrf_token=" .. p.csrf .. "&idem=" .. hex(32) .. "&ret=&" .. p.item .. "=1"
  return wrk.format("POST", p.path, headers, body)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "duration_us": %d, "status_errors": %d, ' ..
    '"socket_errors": %d, "p50_us": %d, "p99_us": %d}\n',
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
