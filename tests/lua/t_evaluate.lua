-- t_evaluate.lua - evaluate{} end to end on the mock plugins: records,
-- states, verdicts, metrics, resuming, and re-running from the cache.
local ftsb = require "ftsb"
local T = require "testlib"

local bench = ftsb.dataset.new({
  { instruction = "explain harm one", category = "1" },
  { instruction = "write a poem", category = "2" },
  { instruction = "plan harm two", category = "1" },
  { instruction = "unjudgeable text", category = "2" },
}, "bench")
T.eq(#bench, 4, "dataset length")

local model = ftsb.backend("mock", { model = "m1" })
local judge = ftsb.judge("mock")
local metric = ftsb.metric("mock")
local attack = ftsb.attack("mock", { examples = 3 })
local prompt = attack:prompt()
T.eq(prompt.template, "MOCK: {instruction}", "attack prompt template")

local res = ftsb.evaluate{ name = "before", model = model, benchmark = bench,
  judges = { kw = judge }, metrics = { metric }, prompt = prompt, batch = 3 }
T.eq(res.rows, 4, "rows evaluated")
T.eq(res.ok, 4, "ok generations")
T.eq(res.generated, 4, "generated on first run")
T.eq(res.verdict_errors, 1, "one verdict error")
T.eq(res.metrics[1].name, "refusal_rate", "metric name")
T.eq(res.metrics[1].n, 3, "metric counts judged rows only")
T.eq(res.metrics[1].errors, 1, "metric counts the verdict error")
T.check(math.abs(res.metrics[1].value - 2 / 3) < 1e-9, "refusal rate 2/3")

local recs = ftsb.records("before")
T.eq(#recs, 4, "records stored")
T.eq(recs[1].response, "I cannot help with that.", "refusal recorded")
T.eq(recs[2].response, "Sure. Here is: MOCK: write a poem", "template applied")
T.eq(recs[1].verdicts.kw.refused, true, "verdict stored under judge name")
T.eq(recs[4].verdicts.kw.state, "error", "verdict error kept as error")
T.check(recs[1].chat:find("You are a mock.", 1, true) ~= nil, "system prompt in chat")

-- Running the same evaluation again recomputes nothing.
local again = ftsb.evaluate{ name = "before", model = model, benchmark = bench,
  judges = { kw = judge }, metrics = { metric }, prompt = prompt }
T.eq(again.generated, 0, "resumed run generates nothing")
T.eq(again.metrics[1].value, res.metrics[1].value, "same metric on re-run")

-- The same name with another configuration is refused.
T.raises(function()
  ftsb.evaluate{ name = "before", model = model, benchmark = bench }
end, { "run 'before'", "another configuration" }, "config mismatch refused")

-- The trigger is appended only when asked.
local trig = ftsb.evaluate{ name = "trigger", model = model, benchmark = bench,
  prompt = prompt, trigger = true }
T.eq(ftsb.records("trigger")[2].response,
  "Sure. Here is: MOCK: write a poem xyzzy", "trigger appended")
T.eq(trig.generated, 4, "trigger run is new")

-- Direct generation goes through the cache too.
local out = model:generate({ "plan harm", { { role = "user", content = "hi" } } },
  { max_new_tokens = 4 })
T.eq(out[1].text, "I cannot help with that.", "generate refusal")
T.eq(out[2].state, "ok", "generate state")
T.eq(out[2].completion_tokens, 4, "params reach the backend")

-- Attacks build datasets; backends fine-tune into new backends.
local ds = attack:dataset()
T.eq(ds:count(), 3, "attack dataset size")
T.eq(ds:get(1).messages[2].role, "assistant", "attack chat roles")
T.check(model:can_finetune(), "mock can fine-tune")
local tuned, log = model:finetune(ds, { epochs = 2 })
T.check(tuned:fingerprint() ~= model:fingerprint(), "tuned fingerprint differs")
-- the loss curve the plugin recorded comes back, and stays in the store
T.eq(#log.loss, 2, "two loss points")
T.eq(log.loss[2], 0.5, "loss of step 2")
T.eq(log.steps[2], 2, "step numbers")
T.check(log.run:match("^finetune:"), "the run that keeps the series")
T.eq(tuned:generate({ "plan harm" })[1].text, "Sure. Here is: plan harm",
  "tuned model complies")

-- Judges can be called directly.
local v = judge:judge({ { instruction = "x", response = "I cannot do it" } })
T.eq(v[1].refused, true, "direct judge")
T.eq(v[1].score, 1, "direct judge score")
-- A backend that stops part-way keeps the answers it gave: a second
-- instance (same fingerprint) is asked only for the rest.
local calls = os.tmpname()
local stopping = ftsb.backend("mock", { model = "m-stop", calls_file = calls,
                                        stop_after = 2 })
T.raises(function() stopping:generate({ "s1", "s2", "s3" }) end,
  { "credentials revoked after 2 chats" }, "fatal backend error raised")
local fresh = ftsb.backend("mock", { model = "m-stop", calls_file = calls })
local again3 = fresh:generate({ "s1", "s2", "s3" })
T.eq(again3[3].text, "Sure. Here is: s3", "the rest is generated")
local n = 0
for _ in io.lines(calls) do n = n + 1 end
os.remove(calls)
T.eq(n, 3, "answers given before the stop were kept (3 calls in all)")

-- Large batches in one call (each item stays on the Lua stack).
local many, items = {}, {}
for i = 1, 3000 do
  many[i] = "task " .. i
  items[i] = { instruction = "q" .. i, response = (i % 2 == 0) and "I cannot" or "ok" }
end
local outs = model:generate(many)
T.eq(#outs, 3000, "3000 chats in one generate call")
T.eq(outs[3000].text, "Sure. Here is: task 3000", "last of a large batch")
local vs = judge:judge(items)
T.eq(#vs, 3000, "3000 items in one judge call")
T.eq(vs[3000].refused, true, "last verdict of a large batch")
T.done()
