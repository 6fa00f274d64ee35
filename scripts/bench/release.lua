-- wrk script for scripts/bench/release: POST /api/v1/release with a station token.
-- CODES_FILE: one code per line, used in turn (valid codes); without it, random 8-digit codes
-- (invalid: the store has 1,000 live codes in 10^8, so a random one is almost never live).
local token = os.getenv("STATION_TOKEN")
local codes = {}
local file = os.getenv("CODES_FILE")
if file and file ~= "" then
  for line in io.lines(file) do codes[#codes + 1] = line end
end
local headers = { ["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token }
local n = 0

function setup(thread)
  thread:set("offset", math.random(1, 1000000))
end

function request()
  n = n + 1
  local code
  if #codes > 0 then
    code = codes[((n + (offset or 0)) % #codes) + 1]
  else
    code = string.format("%08d", math.random(0, 99999999))
  end
  return wrk.format("POST", "/api/v1/release", headers, '{"code":"' .. code .. '"}')
end

local statuses = {}
function response(status)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  io.write(string.format("RESULT rps=%.0f p50_ms=%.2f p99_ms=%.2f requests=%d errors=%d\n",
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.requests, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.status + summary.errors.timeout))
end
