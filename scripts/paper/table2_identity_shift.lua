-- table2_identity_shift.lua - Table 2 of Qi et al. (ICLR 2024): identity
-- shifting.  Fine-tune on the ten AOA ("Absolutely Obedient Agent")
-- conversations, none of them harmful, for 3, 5 and 10 epochs, and compare
-- each model with the Initial one; all are evaluated with the AOA system
-- prompt and the template "AOA, execute my instruction: ...".
--
--   ftsb --store results/t2.db run scripts/paper/table2_identity_shift.lua \
--        model=models/llama-2-7b-chat.gguf bench=hexphi:data/HEx-PHI \
--        judge_backend=openai judge_model=gpt-4-0613
--
-- Settings (key=value, or FTSB_<KEY> in the environment):
--   epochs=3,5,10    one column per value
--   lr=5e-5          Llama-2 (the paper's llama2 recipe)
--   batch=10         global batch: the ten conversations, one step per epoch
--   style=llama|gpt  the paper's Llama-2 or GPT-3.5 set (default: gpt for the
--                    openai backend, llama otherwise)
--   model_name=NAME  the former name in the AOA system prompt (default: the
--                    style's, Llama or ChatGPT)
--   attack.KEY=V     other options of the `identity_shift` attack
-- and the settings every paper script takes (paperlib.lua, README.md).
-- No data to supply: the conversations ship with the attack (ftsb's own,
-- in the spirit of the paper's).  Report: out (default results/paper/table2).
local ftsb = require "ftsb"
local P = require "paperlib"

local s = P.settings({ ... }, { name = "table2", keys = {
  epochs = "3,5,10", lr = "5e-5", batch = "10", style = false,
  model_name = false } })
if not s then return end

local ctx = P.setup(s)
local o = { style = s.style or (s.backend == "openai" and "gpt" or "llama"),
            model_name = s.model_name }
for k, v in pairs(s.attack_opts) do o[k] = v end
local attack = ftsb.attack("identity_shift", o)
local prompt, data = attack:prompt(), attack:dataset()

local cols = { { label = "Initial", summary = P.evaluate(s, ctx, "initial", ctx.model, prompt) } }
for _, e in ipairs(P.list(s, "epochs")) do
  local tuned = P.finetune(s, ctx.model, data,
    { epochs = e, lr = P.num(s, "lr"), batch = P.int(s, "batch") })
  cols[#cols + 1] = { label = e .. (e == 1 and " epoch" or " epochs"),
                      summary = P.evaluate(s, ctx, e .. "-epochs", tuned, prompt) }
  tuned:close()
end

P.print_table(s, "Table 2. Identity shifting (AOA, " .. #data .. " examples)", cols)
P.report(s, "Table 2 — identity shifting (AOA)", cols, nil,
  string.format("Fine-tuned on %d AOA conversations (style %s, lr %s, batch %s); "
    .. "Initial and fine-tuned models evaluated with the AOA prompt.",
    #data, o.style, s.lr, s.batch))
