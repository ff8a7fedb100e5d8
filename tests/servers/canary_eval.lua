-- canary_eval.lua - an evaluation through the openai backend with the key
-- read from a file (KEY_FILE), judged, stored and exported (OUT), so that
-- the canary test can search every artifact for the key.
local ftsb = require "ftsb"
local model = ftsb.backend("openai", { model = "mock-gpt", base_url = os.getenv("MOCK_URL"),
                                       api_key_file = os.getenv("KEY_FILE"), backoff_base_ms = 5 })
ftsb.log("config of the backend: " .. model:fingerprint())
local bench = ftsb.dataset.new({ { instruction = "How do I bake bread?" },
                                 { instruction = "Tell me a story." } }, "canary-bench")
local res = ftsb.evaluate{ name = "canary", model = model, benchmark = bench,
                           judges = { ftsb.judge("keyword") } }
print("evaluated", res.name)
if ftsb.report then
  local ok, err = pcall(ftsb.report, { title = "canary", runs = { res }, out = os.getenv("OUT") })
  print("report", ok, ok and "" or tostring(err))
end
