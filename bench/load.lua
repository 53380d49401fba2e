-- wrk script for `npm run bench` (bench/run.ts writes the data file and passes
-- `-- <data file> <scenario>`). Every request is made by a random seeded user
-- on one of that user's own tasks, as in the autocannon path of bench/run.ts.
-- The data file returns { filter = "<query of the filtered list>", users = { {auth=…, ids={…}}, … } }.
local users, filter, scenario
local threads = 0
local created = 0

function setup(thread)
  threads = threads + 1
  thread:set("thread_number", threads)
end

function init(args)
  local data = dofile(args[1])
  users, filter = data.users, data.filter
  scenario = args[2]
  math.randomseed(os.time() * 100 + thread_number)
end

local function pick(list)
  return list[math.random(#list)]
end

local function get(user)
  return wrk.format("GET", "/api/v1/tasks/" .. pick(user.ids), { Authorization = user.auth })
end

local function list(user)
  return wrk.format("GET", "/api/v1/tasks", { Authorization = user.auth })
end

local function filtered(user)
  return wrk.format("GET", "/api/v1/tasks?" .. filter, { Authorization = user.auth })
end

local function patch(user)
  local body = math.random(2) == 1 and '{"completed":true}' or '{"completed":false}'
  return wrk.format("PATCH", "/api/v1/tasks/" .. pick(user.ids),
    { Authorization = user.auth, ["Content-Type"] = "application/json" }, body)
end

local function create(user)
  created = created + 1
  local body = string.format('{"title":"bench task %d","description":"created by the benchmark"}', created)
  return wrk.format("POST", "/api/v1/tasks",
    { Authorization = user.auth, ["Content-Type"] = "application/json" }, body)
end

-- The mixed load of issue 5: 50 % read, 25 % list, 15 % patch, 10 % create.
local function mixed(user)
  local r = math.random()
  if r < 0.50 then return get(user) end
  if r < 0.75 then return list(user) end
  if r < 0.90 then return patch(user) end
  return create(user)
end

local scenarios = { get = get, list = list, filtered = filtered, patch = patch, create = create, mixed = mixed }

function request()
  return scenarios[scenario](pick(users))
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests":%d,"durationUs":%d,"non2xx":%d,"socketErrors":%d,"p50Us":%d,"p95Us":%d,"p99Us":%d,"maxUs":%d}\n',
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max))
end
