-- t_docs_examples.lua - runs the examples of docs/lua.md, so the reference
-- cannot drift from the module it describes.
--
-- The document marks its code with HTML comments (invisible once rendered),
-- each followed by a fenced block:
--
--   <!-- prelude -->          the lines every example assumes at its top
--   <!-- example: NAME [flags] -->
--                            a ```lua block run as a script of its own
--   <!-- output: NAME -->    lines that example NAME must write (stdout or
--                            stderr), compared with whitespace collapsed
--   <!-- file: PATH -->      a file written into the sandbox before the
--                            examples run (data files, helper modules)
--
-- Example flags: norun (only compiled: it needs real plugins or files),
-- noprelude, fails (must exit with status 1), file=NAME.lua (the script's
-- name, default NAME.lua), args=a,b (script arguments), opts=--x,y (ftsb
-- options, after --store NAME.db, so they may override it).
--
-- Each example runs as `ftsb --store NAME.db [opts] run FILE [args]` in a
-- sandbox folder holding the files above, so relative paths, arg, ... and
-- the exit status are the real ones.  The prelude is joined into the
-- example's first line, so line numbers in messages match the document.
-- A comment `--> text` gives one expected line of standard output; an
-- example with such comments must print exactly those lines, in order.
-- Every ```lua block of the document must carry a marker.
local T = require "testlib"

local test_dir = assert(os.getenv("FTSB_TEST_DIR"), "FTSB_TEST_DIR is not set")
local bin = assert(os.getenv("FTSB_BIN"), "FTSB_BIN is not set")
local doc_path = test_dir .. "/../docs/lua.md"
local sandbox = (os.getenv("TMPDIR") or "/tmp") .. "/docs_examples"

local function q(s)   -- a shell word
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

local function sh(cmd)
  local ok, how, code = os.execute(cmd)
  if how == "exit" then return code end
  return ok and 0 or 128 + (code or 0)
end

local function read(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end

local function write(path, text)
  local f = assert(io.open(path, "wb"))
  f:write(text)
  f:close()
end

local function norm(s)
  return (s:gsub("%s+", " "):gsub("^ ", ""):gsub(" $", ""))
end

local function lines(s)
  local out = {}
  for l in (s .. "\n"):gmatch("(.-)\r?\n") do out[#out + 1] = l end
  if out[#out] == "" then out[#out] = nil end
  return out
end

-- ---- reading the document --------------------------------------------------

local doc = read(doc_path)
T.check(doc ~= nil, "docs/lua.md is readable at " .. doc_path)
if not doc then T.done() end

-- Returns the marked blocks in document order, and the unmarked lua blocks.
local function parse(text)
  local blocks, unmarked = {}, {}
  local pending, fence, body, first
  for no, l in ipairs(lines(text)) do
    if fence then
      if l:match("^```%s*$") then
        fence.code, fence.first = table.concat(body, "\n") .. "\n", first
        if fence.marker then
          blocks[#blocks + 1] = fence
        elseif fence.lang == "lua" then
          unmarked[#unmarked + 1] = fence.line
        end
        fence = nil
      else
        body[#body + 1] = l
      end
    elseif l:match("^```") then
      fence = { lang = l:match("^```%s*(%S*)"), line = no }
      if pending then
        fence.marker, fence.spec, fence.mline = pending.kind, pending.spec, pending.line
      end
      pending, body, first = nil, {}, no + 1
    else
      local kind, spec = l:match("^<!%-%-%s*(%a+):?%s*(.-)%s*%-%->%s*$")
      if kind then
        pending = { kind = kind, spec = spec, line = no }
      elseif pending and not l:match("^%s*$") then
        T.check(false, ("docs/lua.md:%d: marker '%s' is not followed by a fenced block")
          :format(pending.line, pending.kind))
        pending = nil
      end
    end
  end
  return blocks, unmarked
end

local blocks, unmarked = parse(doc)
for _, line in ipairs(unmarked) do
  T.check(false, ("docs/lua.md:%d: a lua block without an example marker"):format(line))
end

local prelude, files, examples, outputs, by_name = nil, {}, {}, {}, {}
for _, b in ipairs(blocks) do
  if b.marker == "prelude" then
    prelude = b.code
  elseif b.marker == "file" then
    files[#files + 1] = { path = b.spec, text = b.code }
  elseif b.marker == "output" then
    outputs[#outputs + 1] = { name = b.spec, text = b.code, line = b.mline }
  elseif b.marker == "example" then
    local name, rest = b.spec:match("^(%S+)%s*(.*)$")
    local ex = { name = name, code = b.code, first = b.first, line = b.mline,
                 flags = {}, args = {}, opts = {} }
    for word in rest:gmatch("%S+") do
      local k, v = word:match("^(%w+)=(.*)$")
      if k == "args" or k == "opts" then
        for item in v:gmatch("[^,]+") do table.insert(ex[k], item) end
      elseif k then
        ex.flags[k] = v
      else
        ex.flags[word] = true
      end
    end
    T.check(name and not by_name[name], ("docs/lua.md:%d: example name '%s' is missing "
      .. "or used twice"):format(b.mline, tostring(name)))
    if name then by_name[name] = ex end
    examples[#examples + 1] = ex
  else
    T.check(false, ("docs/lua.md:%d: unknown marker '%s'"):format(b.mline, b.marker))
  end
end
T.check(prelude ~= nil, "docs/lua.md has a prelude")
T.check(#examples >= 30, "docs/lua.md has at least 30 examples, found " .. #examples)
for _, o in ipairs(outputs) do
  T.check(by_name[o.name] ~= nil, ("docs/lua.md:%d: output for unknown example '%s'")
    :format(o.line, o.name))
  if by_name[o.name] then by_name[o.name].output = o end
end

-- The prelude without comments, on one line: prepended to an example's first
-- line, it keeps the example's line numbers.
local prelude_line = ""
for _, l in ipairs(lines(prelude or "")) do
  prelude_line = prelude_line .. l:gsub("%-%-.*$", "") .. " "
end

-- ---- the sandbox -------------------------------------------------------------

T.eq(sh("rm -rf " .. q(sandbox) .. " && mkdir -p " .. q(sandbox .. "/results")), 0,
  "sandbox created")
for _, f in ipairs(files) do
  local dir = (sandbox .. "/" .. f.path):match("^(.*)/[^/]*$")
  sh("mkdir -p " .. q(dir))
  write(sandbox .. "/" .. f.path, f.text)
end

-- ---- running the examples ----------------------------------------------------

local function expected_stdout(code)
  local want = {}
  for _, l in ipairs(lines(code)) do
    local text = l:match("%-%->%s?(.*)$")
    if text then want[#want + 1] = norm(text) end
  end
  return want
end

local function check_stdout(ex, out)
  local want = expected_stdout(ex.code)
  if #want == 0 then return end
  local got = lines(out)
  for i = 1, math.max(#want, #got) do
    local g = got[i] and norm(got[i])
    if g ~= want[i] then
      T.check(false, ("example '%s' (docs/lua.md:%d): stdout line %d is %q, the document "
        .. "says %q"):format(ex.name, ex.line, i, tostring(g), tostring(want[i])))
      return
    end
  end
  T.check(true, "")
end

local function check_output(ex, all)
  local got = {}
  for _, l in ipairs(lines(all)) do got[#got + 1] = norm(l) end
  for _, l in ipairs(lines(ex.output.text)) do
    local want = norm(l)
    if want ~= "" then
      local found = false
      for _, g in ipairs(got) do
        if g:find(want, 1, true) then found = true break end
      end
      T.check(found, ("example '%s' (docs/lua.md:%d): output lacks %q")
        :format(ex.name, ex.output.line, want))
    end
  end
end

local ran, compiled = 0, 0
for _, ex in ipairs(examples) do
  local file = ex.flags.file or (ex.name .. ".lua")
  local code = ex.code
  if not ex.flags.noprelude then code = prelude_line .. code end
  -- Compiled with the document's line numbers, so messages point into it.
  local chunk, err = load(string.rep("\n", ex.first - 1) .. ex.code, "=docs/lua.md")
  T.check(chunk ~= nil, ("example '%s' compiles: %s"):format(ex.name, tostring(err)))
  if ex.flags.norun then
    compiled = compiled + 1
  elseif chunk then
    write(sandbox .. "/" .. file, code)
    local cmd = { "cd", q(sandbox), "&&", q(bin), "--store", q(ex.name .. ".db") }
    for _, o in ipairs(ex.opts) do cmd[#cmd + 1] = q(o) end
    cmd[#cmd + 1] = "run"
    cmd[#cmd + 1] = q(file)
    for _, a in ipairs(ex.args) do cmd[#cmd + 1] = q(a) end
    local base = sandbox .. "/" .. ex.name
    cmd[#cmd + 1] = ">" .. q(base .. ".out") .. " 2>" .. q(base .. ".err")
    local status = sh(table.concat(cmd, " "))
    local out, errs = read(base .. ".out") or "", read(base .. ".err") or ""
    local want = ex.flags.fails and 1 or 0
    T.check(status == want, ("example '%s' (docs/lua.md:%d) exits with %d, not %d:\n%s%s")
      :format(ex.name, ex.line, status, want, out, errs))
    check_stdout(ex, out)
    if ex.output then check_output(ex, out .. "\n" .. errs) end
    ran = ran + 1
  end
end

print(("docs/lua.md: %d examples run, %d compiled only, %d files, %d output checks")
  :format(ran, compiled, #files, #outputs))
T.done()
