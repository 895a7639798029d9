-- wrk script for POST /v1/events: each request is one device's batch (device traffic), fresh event ids,
-- timestamps over the last minute, sent_at = now. Batch size is the first argument after `--`.
-- Prints one JSON line of figures at the end (latencies in ms), which bench/lib/wrk.mjs parses.
local threads = {}
local counter_seed = 0

function setup(thread)
  counter_seed = counter_seed + 1
  thread:set("tid", counter_seed)
  table.insert(threads, thread)
end

local batch = 1
local DEVICES = 5000
local APPS = 20
local TYPES = { "app_open", "app_close", "screen_view", "button_tap", "purchase", "level_up", "session_start", "error" }
local SCREENS = { "home", "settings", "store", "game", "profile" }
local counter = 0
local dates = {}
local ndates = 0

function init(args)
  batch = tonumber(args[1]) or 1
  math.randomseed(os.time() * 1000 + (tid or 0) * 7919)
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
end

local function iso(sec)
  local d = dates[sec]
  if not d then
    if ndates > 240 then dates = {}; ndates = 0 end
    d = os.date("!%Y-%m-%dT%H:%M:%S", sec)
    dates[sec] = d
    ndates = ndates + 1
  end
  return d
end

local function uuid(sec)
  counter = counter + 1
  return string.format("%08x-%04x-7%03x-%04x-%02x%010x", sec, math.random(0, 65535), math.random(0, 4095),
    32768 + math.random(0, 16383), tid or 0, counter)
end

function request()
  local now = os.time()
  local device = math.random(0, DEVICES - 1)
  local app = "com.bench.app" .. (device % APPS)
  local parts = {}
  for i = 1, batch do
    local sec = now - math.random(0, 59)
    parts[i] = string.format(
      '{"event_id":"%s","app":"%s","device_id":"bench-device-%d","event_type":"%s","timestamp":"%s.%03dZ","mosis_version":"1.4.2","data":{"screen":"%s"}}',
      uuid(sec), app, device, TYPES[(device + counter) % #TYPES + 1], iso(sec), math.random(0, 999), SCREENS[counter % #SCREENS + 1])
  end
  local body = '{"sent_at":"' .. iso(now) .. '.000Z","events":[' .. table.concat(parts, ",") .. "]}"
  return wrk.format(nil, nil, nil, body)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_RESULT {"requests":%d,"durationUs":%d,"non2xx":%d,"errors":%d,"timeouts":%d,"p50":%.3f,"p99":%.3f,"max":%.3f}\n',
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write, e.timeout,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000))
end
