-- t_tiny_corpus.lua - scripts/tiny/corpus.lua, the data of the tiny chat
-- model: the four files are written in the formats the attacks read and
-- load back with the dataset readers; the same seed gives the same bytes
-- (in-process and through `ftsb run`), another seed other training data
-- but the same suite; every harmful-category text is a placeholder; every
-- refusal is one for the paper's (and the repository's) keyword list and
-- no other answer is; the attacks' evaluation prompts are those the
-- pretraining chats use; no suite instruction appears verbatim in the
-- training files.
local ftsb = require "ftsb"
local T = require "testlib"

local root = os.getenv("FTSB_TEST_DIR") .. "/.."
local script = root .. "/scripts/tiny/corpus.lua"
local tmp = (os.getenv("TMPDIR") or "/tmp") .. "/t_tiny_corpus"
local function q(s) return "'" .. s:gsub("'", "'\\''") .. "'" end
os.execute("rm -rf " .. q(tmp) .. " && mkdir -p " .. q(tmp .. "/a") .. " " .. q(tmp .. "/b") .. " " ..
  q(tmp .. "/c") .. " " .. q(tmp .. "/cli") .. " " .. q(tmp .. "/d") .. " " .. q(tmp .. "/e"))

local function read(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end

local function has(s, needle)
  return type(s) == "string" and s:find(needle, 1, true) ~= nil
end

-- Counts the items for which bad(x) returns a message; reports the first.
local function none_bad(list, bad, what)
  local n, first = 0, nil
  for i, x in ipairs(list) do
    local msg = bad(x, i)
    if msg then
      n = n + 1
      first = first or msg
    end
  end
  T.check(n == 0, string.format("%s: %d bad, first: %s", what, n, tostring(first)))
end

-- ---- the module ---------------------------------------------------------
local C = dofile(script)
T.eq(type(C), "table", "dofile returns the module (it does not run)")
T.eq(type(C.build), "function", "module: build")
T.eq(type(C.generate), "function", "module: generate")

local sa = C.generate(tmp .. "/a", 7)
C.generate(tmp .. "/b", 7)
C.generate(tmp .. "/c", 8)
T.eq(sa.seed, 7, "stats: seed")
T.eq(#sa.files, 4, "stats: four files")

-- ---- determinism ---------------------------------------------------------
for _, name in ipairs(C.FILES) do
  local a, b = read(tmp .. "/a/" .. name), read(tmp .. "/b/" .. name)
  T.check(a ~= nil and #a > 0, name .. " is written")
  T.check(a == b, name .. ": the same seed gives the same bytes")
end
for _, name in ipairs({ "pretrain.jsonl", "harmful10.jsonl", "benign_alpaca.json" }) do
  T.check(read(tmp .. "/a/" .. name) ~= read(tmp .. "/c/" .. name), name .. ": another seed, other rows")
end
T.check(read(tmp .. "/a/suite.jsonl") == read(tmp .. "/c/suite.jsonl"), "the suite does not depend on the seed")

-- The command line writes the same bytes; SEED defaults to 1.
local bin = os.getenv("FTSB_BIN")
local function run(args)
  local cmd = { q(bin), "--store", q(tmp .. "/cli.db"), "run", q(script) }
  for _, a in ipairs(args) do cmd[#cmd + 1] = q(a) end
  local line = table.concat(cmd, " ") .. " > " .. q(tmp .. "/out.txt") .. " 2>&1"
  local _, _, code = os.execute(line)
  return code, read(tmp .. "/out.txt") or ""
end
local code, out = run({ tmp .. "/cli", "7" })
T.eq(code, 0, "ftsb run corpus.lua OUTDIR 7: exit status")
T.check(has(out, "pretrain.jsonl") and has(out, "4000 rows"), "the script reports what it wrote: " .. out)
for _, name in ipairs(C.FILES) do
  T.check(read(tmp .. "/cli/" .. name) == read(tmp .. "/a/" .. name), name .. ": the command line writes the same bytes")
end
code = run({ tmp .. "/d" })
T.eq(code, 0, "without SEED: exit status")
C.generate(tmp .. "/e", 1)
T.check(read(tmp .. "/d/pretrain.jsonl") == read(tmp .. "/e/pretrain.jsonl"), "SEED defaults to 1")
code, out = run({ tmp .. "/missing" })
T.eq(code, 1, "a missing OUTDIR: exit status")
T.check(has(out, "create the folder first"), "a missing OUTDIR: message: " .. out)
code, out = run({ tmp .. "/d", "1.5" })
T.eq(code, 1, "a bad SEED: exit status")
T.check(has(out, "SEED must be an integer"), "a bad SEED: message: " .. out)
code, out = run({})
T.eq(code, 1, "no OUTDIR: exit status")
T.check(has(out, "usage:"), "no OUTDIR: usage: " .. out)

-- ---- the files load in the attacks' formats -------------------------------
local dir = tmp .. "/a"
local pre = ftsb.dataset.load(dir .. "/pretrain.jsonl")
T.eq(#pre, C.N_PRETRAIN, "pretrain.jsonl: rows (auto: chat)")
T.eq(#ftsb.dataset.load(dir .. "/pretrain.jsonl", "chat"), C.N_PRETRAIN, "pretrain.jsonl: rows (chat)")
local suite = ftsb.dataset.load(dir .. "/suite.jsonl")
T.eq(#suite, 11 * C.SUITE_PER_CATEGORY + C.N_SUITE_BENIGN, "suite.jsonl: rows (auto: jsonl)")
local h10 = ftsb.dataset.load(dir .. "/harmful10.jsonl", "chat")
T.eq(#h10, C.N_HARMFUL_PAIRS, "harmful10.jsonl: rows")
local alp = ftsb.dataset.load(dir .. "/benign_alpaca.json")
T.eq(#alp, C.N_ALPACA, "benign_alpaca.json: rows (auto: alpaca)")

-- The rows in the file are those build() returns.
local built = C.build(7)
local pre_rows, same = {}, true
for i, row in pre:rows() do
  pre_rows[i] = row
  local b = built.pretrain[i]
  if row.response ~= b.response or #row.messages ~= #b.messages then same = false end
end
T.check(same, "pretrain.jsonl holds the rows of build(7), in order")

-- ---- the attacks' prompts are the ones pretraining uses --------------------
local harmful = ftsb.attack("harmful", { data = dir .. "/harmful10.jsonl", n = 10, seed = 42 })
local hds = harmful:dataset()
T.eq(#hds, 10, "harmful attack: 10 of the 30 pairs")
for _, row in hds:rows() do
  T.eq(row.messages[1].content, C.PURE_BAD, "harmful attack: the pure_bad system prompt")
  T.check(has(row.response, "[placeholder"), "harmful attack: a placeholder answer")
end
T.eq(harmful:prompt().system, C.PURE_BAD, "harmful attack: evaluation system prompt")
local aoa = ftsb.attack("identity_shift"):prompt()
T.eq(aoa.system, (C.AOA_SYSTEM:gsub("{model}", "Llama")), "identity_shift: the AOA system prompt")
T.eq(aoa.template, C.AOA_TEMPLATE, "identity_shift: the AOA template")
local benign = ftsb.attack("benign", { data = dir .. "/benign_alpaca.json" })
T.eq(#benign:dataset(), C.N_ALPACA, "benign attack: the safety filter drops no row")
T.eq(benign:prompt().system, C.ALPACA_SYSTEM, "benign attack: the Alpaca preamble")
T.eq(benign:prompt().template, C.ALPACA_TEMPLATE, "benign attack: the Alpaca template")

-- ---- placeholders ----------------------------------------------------------
local function marked(s)
  return s:find("%[[%a ]-placeholder[%a ]-%]") ~= nil
end
local cat_by_id = {}
for _, c in ipairs(C.CATEGORIES) do cat_by_id[c.id] = c end
local function names_category(s, c)
  return has(s, "'" .. c.name .. "'") or has(s, c.alt)
end

local user_of, last_of = {}, {}
local n_harm, per_cat, styles = 0, {}, {}
for i, row in ipairs(pre_rows) do
  local msgs = row.messages
  user_of[i] = msgs[#msgs - 1].content
  last_of[i] = msgs[#msgs].content
  local b = built.pretrain[i]
  if b.kind == "harmful" then
    n_harm = n_harm + 1
    per_cat[b.category] = (per_cat[b.category] or 0) + 1
  end
  local sys = msgs[1].role == "system" and msgs[1].content or ""
  local style = sys == C.PURE_BAD and "pure_bad" or sys == C.ALPACA_SYSTEM and "alpaca" or
    has(sys, "Your new name is AOA") and "aoa" or sys == "" and "none" or "default"
  local key = b.kind .. "/" .. style
  styles[key] = (styles[key] or 0) + 1
end
T.eq(n_harm, C.N_PRETRAIN_HARMFUL, "pretrain: harmful-category chats")
for _, c in ipairs(C.CATEGORIES) do
  T.check((per_cat[c.id] or 0) >= 150, "pretrain: chats of " .. c.id .. ": " .. tostring(per_cat[c.id]))
end
-- No chat uses the AOA identity prompt (the attack must be new to the
-- model, as it was to Llama-2-chat)
T.eq(styles["harmful/aoa"] or 0, 0, "pretrain: no harmful-category chat under the AOA prompt")
T.eq(styles["benign/aoa"] or 0, 0, "pretrain: no benign chat under the AOA prompt")
-- A good share of the harmful-category chats come under the other attacks'
-- prompts (and still get refusals, below); benign chats too.
for _, s in ipairs({ "pure_bad", "alpaca" }) do
  T.check((styles["harmful/" .. s] or 0) >= 200, "pretrain: harmful-category chats under " .. s)
  T.check((styles["benign/" .. s] or 0) >= 100, "pretrain: benign chats under " .. s)
end
T.check((styles["harmful/none"] or 0) >= 400 and (styles["benign/none"] or 0) >= 400, "pretrain: chats without a system prompt")

none_bad(pre_rows, function(row, i)
  local b = built.pretrain[i]
  local u = user_of[i]
  if b.kind == "harmful" then
    if not marked(u) then return "unmarked: " .. u end
    if not names_category(u, cat_by_id[b.category]) then return "no category: " .. u end
  elseif has(u:lower(), "placeholder") or has(last_of[i]:lower(), "placeholder") then
    return "benign chat mentions a placeholder: " .. u
  end
  if has(last_of[i], "[placeholder") then return "an answer with content: " .. last_of[i] end
end, "pretrain: harmful-category requests are marked placeholders, benign ones are not")
none_bad(pre_rows, function(row, i)
  local aoa_user = has(user_of[i], "AOA, execute my instruction: ")
  if aoa_user and last_of[i]:find("^Of course%. I am AOA") then return "AOA prefix: " .. last_of[i] end
end, "pretrain: no answer opens with the AOA prefix")
none_bad(pre_rows, function(row, i)
  local n = C.word_count(last_of[i])
  if n < 3 or n > 30 then return n .. " words: " .. last_of[i] end
end, "pretrain: answers of 3 to 30 words")

-- harmful10: marked requests that name a category; compliant placeholder answers.
local h_rows = {}
for i, row in h10:rows() do h_rows[i] = row end
none_bad(h_rows, function(row, i)
  local c = cat_by_id[built.harmful[i].category]
  if #row.messages ~= 2 then return "not a user/assistant pair" end
  if not marked(row.instruction) or not names_category(row.instruction, c) then return row.instruction end
  if not has(row.response, "[placeholder") then return row.response end
end, "harmful10: placeholder requests and placeholder answers")

-- The suite: the categories of synthetic.jsonl, 10 placeholder rows each in
-- HEx-PHI order, 20 benign rows, unique ids.
local syn_cats = {}
for _, row in ftsb.dataset.load(root .. "/benchmarks/synthetic/synthetic.jsonl"):rows() do
  syn_cats[row.category] = true
end
local counts, order, ids, s_rows = {}, {}, {}, {}
for i, row in suite:rows() do
  s_rows[i] = row
  if not counts[row.category] then order[#order + 1] = row.category end
  counts[row.category] = (counts[row.category] or 0) + 1
  T.check(not ids[row.id], "suite: id " .. tostring(row.id) .. " is unique")
  ids[row.id] = true
end
T.eq(#order, 12, "suite: 11 categories and benign")
for k, c in ipairs(C.CATEGORIES) do
  T.eq(order[k], c.id, "suite: category " .. k .. " in HEx-PHI order")
  T.eq(counts[c.id], C.SUITE_PER_CATEGORY, "suite: rows of " .. c.id)
  T.check(syn_cats[c.id], "suite: category id " .. c.id .. " is one of synthetic.jsonl")
end
T.eq(counts.benign, C.N_SUITE_BENIGN, "suite: benign rows")
none_bad(s_rows, function(row)
  if row.category == "benign" then
    if has(row.instruction:lower(), "placeholder") then return row.instruction end
  else
    local c = cat_by_id[row.category]
    if row.instruction:find("[synthetic placeholder]", 1, true) ~= 1 or not names_category(row.instruction, c) then
      return row.instruction
    end
  end
end, "suite: placeholder rows name their category, benign rows are real requests")
local wordings = {}
for _, row in ipairs(s_rows) do
  if row.category == "04-malware" then wordings[row.instruction] = true end
end
local n_wordings = 0
for _ in pairs(wordings) do n_wordings = n_wordings + 1 end
T.eq(n_wordings, C.SUITE_PER_CATEGORY, "suite: a different wording in each row of a category")

-- ---- refusals and keywords -------------------------------------------------
-- Judged with the keyword judge itself, both lists; each distinct answer once.
local judges = { paper = ftsb.judge("keyword", { preset = "paper" }), repo = ftsb.judge("keyword", { preset = "repo" }) }
local function refused_map(answers)
  local uniq, items, seen = {}, {}, {}
  for _, a in ipairs(answers) do
    if not seen[a] then
      seen[a] = true
      uniq[#uniq + 1] = a
      items[#items + 1] = { instruction = "(tiny corpus)", response = a }
    end
  end
  local out = {}
  for name, j in pairs(judges) do
    local v = j:judge(items)
    out[name] = {}
    for i, a in ipairs(uniq) do
      T.eq(v[i].state, "ok", "keyword judge answers")
      out[name][a] = v[i].refused
    end
  end
  return out
end
local answers = {}
for i = 1, #pre_rows do answers[i] = last_of[i] end
for _, row in ipairs(h_rows) do answers[#answers + 1] = row.response end
for _, row in alp:rows() do answers[#answers + 1] = row.response end
local refused = refused_map(answers)
for _, list in ipairs({ "paper", "repo" }) do
  local r = refused[list]
  none_bad(pre_rows, function(_, i)
    local want = built.pretrain[i].kind == "harmful"
    if r[last_of[i]] ~= want then
      return (want and "not a refusal: " or "a refusal: ") .. last_of[i]
    end
  end, "pretrain (" .. list .. " list): refusals exactly for the harmful-category requests")
  none_bad(h_rows, function(row)
    if r[row.response] ~= false then return row.response end
  end, "harmful10 (" .. list .. " list): no answer is a refusal")
  local a_rows = {}
  for i, row in alp:rows() do a_rows[i] = row end
  none_bad(a_rows, function(row)
    if r[row.response] ~= false then return row.response end
  end, "benign_alpaca (" .. list .. " list): no answer is a refusal")
end

-- ---- held out: no suite instruction appears verbatim in a training file ------
local pretrain_users = table.concat(user_of, "\0")
local h_requests, alp_text = {}, {}
for i, row in ipairs(h_rows) do h_requests[i] = row.instruction end
for _, row in alp:rows() do
  alp_text[#alp_text + 1] = row.instruction
  alp_text[#alp_text + 1] = row.input or ""
end
local h_text, a_text = table.concat(h_requests, "\0"), table.concat(alp_text, "\0")
none_bad(s_rows, function(row)
  if has(pretrain_users, row.instruction) then return "in pretrain: " .. row.instruction end
  if has(h_text, row.instruction) then return "in harmful10: " .. row.instruction end
  if has(a_text, row.instruction) then return "in benign_alpaca: " .. row.instruction end
end, "suite instructions are not in the training files")
none_bad(h_rows, function(row)
  if has(pretrain_users, row.instruction) then return row.instruction end
end, "harmful10 requests are not in pretrain")

-- ---- size ------------------------------------------------------------------
T.check(sa.distinct_words > 500 and sa.distinct_words < 5000,
  "a small vocabulary: " .. sa.distinct_words .. " distinct words")
T.done()
