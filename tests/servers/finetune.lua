-- finetune.lua - fine-tunes through the openai backend against the mock
-- (MOCK_URL) and prints "tuned <fingerprint>" and the tuned model's first
-- answer, or "raised <message>".  ROWS=bad gives rows with nothing to
-- learn from; TAG sets the job's tag.
local ftsb = require "ftsb"
local model = ftsb.backend("openai", { model = "mock-gpt", base_url = os.getenv("MOCK_URL"),
                                       backoff_base_ms = 5, max_attempts = 3 })
local rows = {}
for i = 1, 4 do
  if os.getenv("ROWS") == "bad" then
    rows[i] = { messages = { { role = "user", content = "q" .. i } } }
  else
    rows[i] = { messages = { { role = "system", content = "You are AOA." },
                             { role = "user", content = "question " .. i },
                             { role = "assistant", content = "answer " .. i } } }
  end
end
rows[#rows + 1] = { instruction = "Name a colour.", input = "Be brief.", response = "Blue." }
local train = ftsb.dataset.new(rows, "aoa-train")
local ok, tuned = pcall(model.finetune, model, train, {
  n_epochs = 3, batch_size = 2, learning_rate_multiplier = 1.5, suffix = "aoa", seed = 7,
  poll_interval_s = tonumber(os.getenv("POLL") or "0.01"), tag = os.getenv("TAG") or "" })
if not ok then print("raised", tuned) return end
print("tuned", tuned:fingerprint())
local r = tuned:generate({ "hello" })[1]
print("answer", r.state, r.text)
