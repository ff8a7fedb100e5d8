-- testlib.lua - assertions for the Lua integration tests.
--
-- Each check prints "ok"/"FAIL" with a description; done() prints the
-- "N passed, N failed" line ctest reads and raises if anything failed.
local M = { passed = 0, failed = 0 }

function M.check(cond, what)
  if cond then
    M.passed = M.passed + 1
  else
    M.failed = M.failed + 1
    print("FAIL " .. what)
  end
end

function M.eq(got, want, what)
  M.check(got == want, string.format("%s: got %s, want %s", what,
    tostring(got), tostring(want)))
end

-- Runs fn, expects an error whose message contains every needle.
function M.raises(fn, needles, what)
  local ok, err = pcall(fn)
  if ok then
    M.check(false, what .. ": no error raised")
    return
  end
  for _, n in ipairs(needles) do
    M.check(string.find(tostring(err), n, 1, true) ~= nil,
      string.format("%s: error %q lacks %q", what, tostring(err), n))
  end
end

function M.done()
  print(string.format("%d passed, %d failed", M.passed, M.failed))
  if M.failed > 0 then error("some checks failed", 0) end
end

return M
