-- chat.lua - asks the openai backend (pointed at the mock by MOCK_URL) for
-- N chats, and prints one line per result: state, finish, text, error.
-- Options come from the environment so one script serves every case.
local ftsb = require "ftsb"
local n = tonumber((...)) or 1
local function num(name, def) return tonumber(os.getenv(name) or "") or def end
local opts = {
  model = "mock-gpt", base_url = os.getenv("MOCK_URL"),
  concurrency = num("CONC", 8), max_attempts = 6,
  backoff_base_ms = num("BACKOFF_MS", 5), backoff_cap_ms = 1000,
  stall_s = 0.3, timeout_s = 5, max_response_bytes = 65536,
  max_total_tokens = num("MAX_TOKENS", 0),
}
if os.getenv("KEY_FILE") then opts.api_key_file = os.getenv("KEY_FILE") end
if os.getenv("KEY_ENV") then opts.api_key_env = os.getenv("KEY_ENV") end
local model = ftsb.backend("openai", opts)
local chats = {}
for i = 1, n do chats[i] = "Question number " .. i end
for round = 1, num("ROUNDS", 1) do
  local ok, res = pcall(model.generate, model, chats)
  if not ok then
    print("raised", res)
  else
    for i, r in ipairs(res) do
      print(r.state, r.finish, r.text, r.error or "")
    end
  end
end
