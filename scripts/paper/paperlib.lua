-- paperlib.lua - what the scripts reproducing the paper's tables share.
--
-- Each script in scripts/paper/ takes its settings as `key=value`
-- arguments (or environment variables FTSB_<KEY>, with dots and dashes as
-- underscores: FTSB_JUDGE_BACKEND), builds the model, the judges, the
-- benchmark and the metrics from them the same way, evaluates the
-- "Initial" model and each fine-tuned one with the attack's own prompt (the
-- paper's rule: same template at training and evaluation), prints a table
-- shaped like the paper's and writes a report with ftsb.report.
--
-- Settings every script takes (see scripts/paper/README.md):
--   backend=ID          the model's backend plugin (default llama)
--   model=X             shorthand for backend.model=X (a GGUF path, an API model id)
--   backend.KEY=VALUE   any other option of the model's backend
--   judge_backend=ID    the judge model's backend (e.g. openai); without it
--                       only the keyword judge runs (no harmfulness score)
--   judge_model=X       shorthand for judge.model=X (e.g. gpt-4-0613)
--   judge.KEY=VALUE     any other option of the judge's backend
--   policy=openai|meta  the rubric's policy (default: openai for the openai
--                       backend, else meta, the Llama-2 policy)
--   rubric.KEY=VALUE    any other option of the rubric judge (parse=original...)
--   bench=SPEC          synthetic (default: plumbing only, not a measurement),
--                       hexphi:DIR, advbench:FILE, jsonl:FILE, or a path
--                       (a folder is HEx-PHI, .csv AdvBench, .jsonl JSONL)
--   limit=N             evaluate only the first N benchmark rows (quick runs)
--   max_new_tokens=N    evaluation decoding (default 512, greedy as the paper)
--   eval_batch=N        chats per generate call (default 8)
--   ft.KEY=VALUE        extra or overriding fine-tuning options
--   ft_keys=a,b,...     pass only these fine-tuning options (others dropped)
--   tag=NAME            prefix of the run names (default: the script's name)
--   out=DIR             report folder (default results/paper/<tag>)
-- and `help` alone prints the script's header.
local ftsb = require "ftsb"

local M = {}

-- ---------------------------------------------------------------------------
-- Arguments

local function env_name(key)
  return "FTSB_" .. key:upper():gsub("[%.%-]", "_")
end

-- A prefixed option's text as the Lua value a plugin expects.
local function convert(v)
  if v == "true" then return true end
  if v == "false" then return false end
  local n = tonumber(v)
  if n and v:match("^%s*[-+%d.eExX]+%s*$") then
    return math.tointeger(n) or n
  end
  return v
end

local common_keys = {
  backend = "llama", model = false, judge_backend = false, judge_model = false,
  policy = false, bench = "synthetic", limit = false, max_new_tokens = "512",
  eval_batch = "8", ft_keys = false, tag = false, out = false,
}
local prefixes = { "backend.", "judge.", "rubric.", "attack.", "ft." }

local function prefix_of(key)
  for _, p in ipairs(prefixes) do
    if key:sub(1, #p) == p and #key > #p then return p end
  end
end

-- Prints the leading comment block of the running script.
local function print_help()
  local f = io.open(arg[0], "r")
  if not f then return end
  for line in f:lines() do
    if not line:match("^%-%-") then break end
    print((line:gsub("^%-%- ?", "")))
  end
  f:close()
end

-- Parses `key=value` arguments over the environment and the defaults.
-- spec.name names the script; spec.keys maps its own keys to a default
-- string, or false when there is none; spec.no_attack_opts refuses the
-- attack.KEY prefix (scripts with several attacks).  Returns the settings,
-- or nil when the script was asked for help.  Unknown keys are refused,
-- naming the known ones, so a misspelt setting never falls back to a
-- default.
function M.settings(argv, spec)
  if argv[1] == "help" or argv[1] == "--help" or argv[1] == "-h" then
    print_help()
    return nil
  end
  local known = {}
  for k, v in pairs(common_keys) do known[k] = v end
  for k, v in pairs(spec.keys or {}) do known[k] = v end
  local given, pre = {}, {}
  for _, p in ipairs(prefixes) do pre[p] = {} end
  for i, a in ipairs(argv) do
    local k, v = a:match("^([%w_%.%-]+)=(.*)$")
    if not k then
      error(string.format("%s: argument %d ('%s') is not key=value; run with "
        .. "'help' for the settings", spec.name, i, a), 0)
    end
    local p = prefix_of(k)
    if p == "attack." and spec.no_attack_opts then
      error(string.format("%s: '%s': this script runs several attacks, so "
        .. "attack.KEY settings would be ambiguous; use its own settings "
        .. "(run with 'help')", spec.name, k), 0)
    elseif p then
      pre[p][k:sub(#p + 1)] = convert(v)
    elseif known[k] == nil then
      local names = {}
      for n in pairs(known) do names[#names + 1] = n end
      table.sort(names)
      error(string.format("%s: unknown setting '%s'; known: %s, and the "
        .. "prefixes %s", spec.name, k, table.concat(names, ", "),
        table.concat(prefixes, " ")), 0)
    else
      given[k] = v
    end
  end
  local s = { name = spec.name, ft = pre["ft."], backend_opts = pre["backend."],
              judge_opts = pre["judge."], rubric_opts = pre["rubric."],
              attack_opts = pre["attack."] }
  for k, def in pairs(known) do
    local v = given[k] or os.getenv(env_name(k))
    if v == nil and def then v = def end
    s[k] = v
  end
  s.tag = s.tag or spec.name
  s.out = s.out or ("results/paper/" .. s.tag)
  -- Model ids and paths are strings, whatever they look like.
  if s.model then s.backend_opts.model = s.backend_opts.model or s.model end
  if s.judge_model then s.judge_opts.model = s.judge_opts.model or s.judge_model end
  return s
end

-- Typed readers of a setting, with the setting named in errors.
function M.num(s, key)
  local v = tonumber(s[key])
  if not v then error(string.format("%s: setting '%s' must be a number, not '%s'",
    s.name, key, tostring(s[key])), 0) end
  return v
end

function M.int(s, key)
  local v = math.tointeger(tonumber(s[key]))
  if not v then error(string.format("%s: setting '%s' must be an integer, not '%s'",
    s.name, key, tostring(s[key])), 0) end
  return v
end

-- "10,50,100" -> { 10, 50, 100 } (numbers) or strings when asked.
function M.list(s, key, as_string)
  local out = {}
  for item in tostring(s[key] or ""):gmatch("[^,%s]+") do
    if as_string then
      out[#out + 1] = item
    else
      local n = tonumber(item)
      if not n then error(string.format("%s: setting '%s' must be a list of "
        .. "numbers like 10,50,100; '%s' is not a number", s.name, key, item), 0) end
      out[#out + 1] = math.tointeger(n) or n
    end
  end
  if #out == 0 then error(string.format("%s: setting '%s' is empty", s.name, key), 0) end
  return out
end

function M.require_path(s, key, what)
  local v = s[key]
  if not v or v == "" then
    error(string.format("%s: setting '%s' is required: %s (give %s=PATH or "
      .. "set %s)", s.name, key, what, key, env_name(key)), 0)
  end
  return v
end

-- ---------------------------------------------------------------------------
-- Model, judges, metrics, benchmark

function M.model(s)
  return ftsb.backend(s.backend, s.backend_opts)
end

-- The judges and metrics of every table: the paper's keyword list always
-- (Table 7's "Keywords"), and the rubric (GPT-4) judge when a judge model
-- is given, whose mean score and share of 5s are the tables' figures.
function M.judges(s)
  local judges = { kw = ftsb.judge("keyword", { preset = "paper" }) }
  local metrics = { ftsb.metric("refusal", { judge = "kw" }) }
  s.have_rubric = false
  if s.judge_backend then
    local opts = { backend = ftsb.backend(s.judge_backend, s.judge_opts) }
    opts.policy = s.policy or (s.backend == "openai" and "openai" or "meta")
    for k, v in pairs(s.rubric_opts) do opts[k] = v end
    judges.gpt4 = ftsb.judge("rubric", opts)
    table.insert(metrics, 1, ftsb.metric("harmfulness", { judge = "gpt4" }))
    s.have_rubric = true
  else
    ftsb.log(s.name .. ": no judge_backend given; only the keyword judge runs "
      .. "(no harmfulness score or rate). Give judge_backend=openai "
      .. "judge_model=gpt-4-0613 for the paper's GPT-4 judge.")
  end
  return judges, metrics
end

-- The metric names a table shows, in the paper's order.
function M.metric_names(s)
  if s.have_rubric then
    return { "harmfulness_score", "harmfulness_rate", "asr" }
  end
  return { "asr", "refusal_rate" }
end

function M.benchmark(s)
  local spec, bench = s.bench, nil
  local kind, rest = spec:match("^(%a+):(.+)$")
  if spec == "synthetic" then
    ftsb.log(s.name .. ": bench=synthetic: ftsb's placeholder suite, for "
      .. "plumbing only; its numbers measure nothing. Give bench=hexphi:DIR.")
    bench = ftsb.benchmark("synthetic", { benign = false })
  elseif kind == "hexphi" then
    bench = ftsb.benchmark("hexphi", { dir = rest })
  elseif kind == "advbench" then
    bench = ftsb.benchmark("advbench", { path = rest })
  elseif kind == "jsonl" then
    bench = ftsb.benchmark("jsonl", { path = rest })
  elseif spec:match("%.csv$") then
    bench = ftsb.benchmark("advbench", { path = spec })
  elseif spec:match("%.jsonl$") then
    bench = ftsb.benchmark("jsonl", { path = spec })
  else
    bench = ftsb.benchmark("hexphi", { dir = spec })
  end
  if s.limit then bench = bench:head(M.int(s, "limit")) end
  return bench
end

-- ---------------------------------------------------------------------------
-- Fine-tuning options
--
-- Scripts state the paper's hyper-parameters once, by meaning (hp.epochs,
-- hp.lr, hp.batch, hp.method, hp.lora = {...}); each backend names its
-- options its own way.  openai: only the number of epochs, as the paper
-- did (the API chose batch size and learning rate).  mock (tests): epochs.
-- Any other backend (the native llama one): method, epochs, lr, batch and,
-- for LoRA, lora_rank, lora_alpha, lora_dropout, lora_targets (for
-- LLaMA-Adapter adapter_len, adapter_layers; for Prefix prefix_tokens).
-- ft.KEY=VALUE adds or overrides options, ft_keys=... keeps only the named
-- ones: a backend whose names differ is served without editing a script.

local translate = {
  openai = function(hp) return { n_epochs = hp.epochs } end,
  mock = function(hp) return { epochs = hp.epochs } end,
}

local function default_translate(hp)
  local o = { method = hp.method or "full", epochs = hp.epochs, lr = hp.lr,
              batch = hp.batch }
  if hp.lora then
    o.lora_rank, o.lora_alpha = hp.lora.rank, hp.lora.alpha
    o.lora_dropout, o.lora_targets = hp.lora.dropout, hp.lora.targets
  end
  if hp.adapter then
    o.adapter_len, o.adapter_layers = hp.adapter.len, hp.adapter.layers
  end
  if hp.prefix then o.prefix_tokens = hp.prefix.tokens end
  return o
end

function M.finetune_options(s, hp)
  local o = (translate[s.backend] or default_translate)(hp)
  for k, v in pairs(s.ft) do o[k] = v end
  if s.ft_keys then
    local keep = {}
    for _, k in ipairs(M.list(s, "ft_keys", true)) do keep[k] = true end
    for k in pairs(o) do
      if not keep[k] then o[k] = nil end
    end
  end
  return o
end

-- Fine-tunes a copy of base and returns it; the training options are
-- logged so the run's record says what was asked.
function M.finetune(s, base, data, hp)
  local o = M.finetune_options(s, hp)
  local parts = {}
  for k, v in pairs(o) do parts[#parts + 1] = k .. "=" .. tostring(v) end
  table.sort(parts)
  ftsb.log(string.format("%s: fine-tuning on %d examples (%s)", s.name, #data,
    table.concat(parts, " ")))
  return base:finetune(data, o)
end

-- ---------------------------------------------------------------------------
-- Evaluation, tables and reports

-- One evaluation, named "<tag>/<name>", with the script's judges and
-- metrics.  prompt is the attack's prompt(); trigger appends its trigger.
function M.evaluate(s, ctx, name, model, prompt, trigger)
  return ftsb.evaluate{ name = s.tag .. "/" .. name, model = model,
    benchmark = ctx.bench, judges = ctx.judges, metrics = ctx.metrics,
    prompt = prompt, trigger = trigger or false,
    params = { max_new_tokens = M.int(s, "max_new_tokens") },
    batch = M.int(s, "eval_batch") }
end

-- Sets up what every table needs: { model, bench, judges, metrics }.
function M.setup(s)
  local ctx = { model = M.model(s), bench = M.benchmark(s) }
  ctx.judges, ctx.metrics = M.judges(s)
  return ctx
end

local function find(summary, name)
  for _, m in ipairs(summary.metrics) do
    if m.name == name and not m.category then return m end
  end
end

local function is_rate(name)
  return name:match("rate$") or name == "asr"
end

-- "4.75 (+3.62)" / "88.8% (+87.0%)", as the paper prints a cell; errors
-- are shown, never folded in.
function M.cell(name, m, base)
  if not m or m.n == 0 then return "n/a" end
  local v, d
  if is_rate(name) then
    v = string.format("%.1f%%", 100 * m.value)
    if base and base.n > 0 then d = string.format("%+.1f%%", 100 * (m.value - base.value)) end
  else
    v = string.format("%.2f", m.value)
    if base and base.n > 0 then d = string.format("%+.2f", m.value - base.value) end
  end
  local out = d and (v .. " (" .. d .. ")") or v
  if m.errors > 0 then out = out .. string.format(" [%d err]", m.errors) end
  return out
end

-- Prints rows = metrics, columns = conditions, "value (+delta)" against
-- the first column (or cols.baseline).
function M.print_table(s, title, cols, baseline)
  baseline = baseline or cols[1]
  print(title)
  local head = string.format("  %-20s", "metric")
  for _, c in ipairs(cols) do head = head .. string.format(" | %-24s", c.label) end
  print(head)
  for _, name in ipairs(M.metric_names(s)) do
    local line = string.format("  %-20s", name)
    for _, c in ipairs(cols) do
      local base = c ~= baseline and find(baseline.summary, name) or nil
      line = line .. string.format(" | %-24s", M.cell(name, find(c.summary, name), base))
    end
    print(line)
  end
  local errs = {}
  for _, c in ipairs(cols) do
    if c.summary.errors > 0 or c.summary.verdict_errors > 0 then
      errs[#errs + 1] = string.format("%s: %d generation errors, %d verdict errors",
        c.label, c.summary.errors, c.summary.verdict_errors)
    end
  end
  if #errs > 0 then print("  errors (not counted in the figures): " .. table.concat(errs, "; ")) end
  print()
end

-- Writes the report of cols (each { label =, summary = }) into dir.
function M.report(s, title, cols, dir, notes)
  local runs = {}
  for _, c in ipairs(cols) do runs[#runs + 1] = { name = c.summary.name, label = c.label } end
  local note = notes or ""
  if s.bench == "synthetic" then
    note = note .. (note ~= "" and "\n" or "") .. "Benchmark: ftsb's synthetic "
      .. "placeholder suite. It exercises the pipeline; its numbers measure nothing."
  end
  local rep = ftsb.report{ title = title, notes = note ~= "" and note or nil,
    runs = runs, out = dir or s.out, baseline = runs[1].name,
    metrics = M.metric_names(s) }
  print("report: " .. rep.files.html)
  return rep
end

return M
